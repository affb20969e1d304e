// Enrolment, admin actions on agents, the audit trail and YAML reload, against a real server started from a YAML
// file (so it can be reloaded) with real WebSocket agent clients. No restart anywhere, except the test that
// restarts on purpose with the same data directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../config/errors.ts';
import { hashSecret } from '../../server/auth/password.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { connectAgent, icmpOk, type TestAgentClient } from '../helpers/agent-client.ts';
import { login } from '../helpers/server.ts';

const PW = 'mat-khau-doi-tram-9';
const CODE = /^QNG-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/;
const CAM_THANH = '21025';
const LY_SON = '21548';

interface Yaml {
  targets: Record<string, unknown>[];
  agents: Record<string, unknown>[];
  enrolment?: Record<string, unknown>;
}

const BASE_TARGETS = [
  { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway' },
  { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '127.0.0.1' },
];

/** one hash for every write, so that a rewritten file differs only where a test means it to */
let pwHash: Promise<string> | null = null;
async function writeYaml(file: string, y: Yaml) {
  const hash = await (pwHash ??= hashSecret(PW, { N: 1024 }));
  const doc = {
    province: { code: '51' },
    server: { host: '127.0.0.1', heartbeatSec: 5, agentTimeoutSec: 20, liveCoalesceMs: 50 },
    store: { kind: 'duckdb' },
    carriers: [{ id: 'vnpt', name: 'VNPT' }, { id: 'viettel', name: 'Viettel' }],
    targets: y.targets,
    agents: y.agents,
    users: [
      { username: 'quantri', role: 'admin', passwordHash: hash },
      { username: 'vanhanh', role: 'operator', passwordHash: hash },
      { username: 'kysu-vnpt', role: 'carrier', carrier: 'vnpt', passwordHash: hash },
    ],
    simulator: { enabled: false },
    ...(y.enrolment ? { enrolment: y.enrolment } : {}),
  };
  writeFileSync(file, stringify(doc));
}

async function start(configPath: string, dataDir: string): Promise<RunningServer> {
  return startServer({ configPath, dataDir, port: 0, host: '127.0.0.1', logger: pino({ level: process.env.TEST_LOG ?? 'silent' }), uiDir: null });
}

async function json(s: RunningServer, method: string, path: string, cookie: string, body?: unknown) {
  const r = await fetch(`${s.url}${path}`, { method, headers: { cookie, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: r.status, headers: r.headers, body: (r.status === 204 ? undefined : await r.json()) as any };
}

const place = { commune: CAM_THANH, site: { name: 'Trường THCS Cẩm Thành', kind: 'school' }, uplinks: [{ name: 'wan1', carrier: 'viettel', gateway: '127.0.0.1' }] };

describe('enrolment and fleet management on a running server', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ioc-fleet-'));
  const file = join(tmp, 'ioc.yaml');
  const dataDir = join(tmp, 'data');
  const yaml: Yaml = { targets: BASE_TARGETS, agents: [] };
  let s: RunningServer;
  let admin = '';
  let operator = '';
  let carrier = '';
  const clients: TestAgentClient[] = [];
  const enrol = (code: string) => json(s, 'POST', '/api/enroll', '', { code, hostname: 'pc-truong', platform: 'linux-x64', version: '0.0.0-test' });

  beforeAll(async () => {
    yaml.agents = [{ id: 'yaml-ly-son', commune: LY_SON, tokenHash: await hashSecret('tok-yaml', { N: 1024 }), uplinks: [{ name: 'wan1', carrier: 'vnpt' }] }];
    await writeYaml(file, yaml);
    s = await start(file, dataDir);
    [admin, operator, carrier] = await Promise.all([login(s.url, 'quantri', PW), login(s.url, 'vanhanh', PW), login(s.url, 'kysu-vnpt', PW)]);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await s?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  let agentId = '';
  let token = '';
  let code = '';

  it('an operator creates an enrolment: a code readable over the phone, its expiry and the install commands', async () => {
    const t0 = Date.now();
    const r = await json(s, 'POST', '/api/enrollments', operator, place);
    expect(r.status).toBe(201);
    code = r.body.code;
    expect(code).toMatch(CODE);
    expect(r.body.expiresAt).toBeGreaterThanOrEqual(t0 + 24 * 3_600_000 - 1000);
    expect(r.body.command.linux).toBe(`sudo ./ioc-agent-linux-x64 install --server ${s.url} --code ${code}`);
    expect(r.body.command.windows).toContain(`install --server ${s.url} --code ${code}`);
    const list = await json(s, 'GET', '/api/enrollments', operator);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ id: r.body.id, commune: CAM_THANH, site: place.site, createdBy: 'vanhanh' });
    expect(JSON.stringify(list.body)).not.toContain(code.slice(4));
  });

  it('refuses an enrolment for a commune outside the province, an unknown carrier, and a carrier account', async () => {
    const bad = await json(s, 'POST', '/api/enrollments', admin, { ...place, commune: '99999' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^commune: /);
    const carrierBad = await json(s, 'POST', '/api/enrollments', admin, { ...place, uplinks: [{ name: 'wan1', carrier: 'fpt' }] });
    expect(carrierBad.status).toBe(400);
    expect(carrierBad.body.error).toMatch(/^uplinks\[0\]\.carrier: unknown carrier "fpt"/);
    expect((await json(s, 'POST', '/api/enrollments', carrier, place)).status).toBe(403);
  });

  it('the code buys an id and a token once; the agent connects and is on the live map within one round, no restart', async () => {
    const r = await enrol(code.toLowerCase().replace(/-/g, ' '));
    expect(r.status).toBe(200);
    ({ id: agentId, token } = r.body);
    expect(agentId).toBe(`${CAM_THANH}-truong-thcs-cam-thanh`);
    expect(r.body).toMatchObject({ commune: CAM_THANH, site: place.site });
    expect(token.length).toBeGreaterThanOrEqual(40);

    const c = await connectAgent(s.url, agentId, token);
    clients.push(c);
    const plan = await c.hello();
    expect(plan.targets.map((t) => t.id)).toEqual(['gw', 'dc']);
    expect((await c.batch([icmpOk('gw', Date.now()), icmpOk('dc', Date.now())])).type).toBe('ack');
    const commune = await json(s, 'GET', `/api/communes/${CAM_THANH}`, admin);
    expect(commune.body.agents).toContain(agentId);
    expect(commune.body.targets.filter((t: { agent: string }) => t.agent === agentId).map((t: { id: string }) => t.id)).toEqual(['gw', 'dc']);
    expect(commune.body.carrier).toBe('viettel');
    // the site given at enrolment is the agent's place on the map
    expect(commune.body.sites.find((x: { agent: string }) => x.agent === agentId)).toMatchObject({ ...place.site, status: 'up' });

    const agents = await json(s, 'GET', '/api/agents', admin);
    expect(agents.body.find((a: { id: string }) => a.id === agentId)).toMatchObject({
      source: 'enrolled', connected: true, site: place.site, uplinks: [{ name: 'wan1', carrier: 'viettel' }], hostname: 'pc-truong', platform: 'linux-x64',
    });
    expect(agents.body.find((a: { id: string }) => a.id === 'yaml-ly-son')).toMatchObject({ source: 'config' });
    // a carrier account sees only agents with one of its uplinks
    expect((await json(s, 'GET', '/api/agents', carrier)).body.map((a: { id: string }) => a.id)).toEqual(['yaml-ly-son']);
    expect((await json(s, 'GET', '/api/enrollments', operator)).body).toHaveLength(0);
  });

  it('a used or wrong code gets one 404 answer, counted', async () => {
    const before = (await json(s, 'GET', '/api/health', '')).body.ingest.enrolFailures;
    for (const c of [code, 'QNG-2222-2222', 'not a code']) {
      const r = await enrol(c);
      expect(r.status).toBe(404);
      expect(r.body.error).toBe('unknown, used or expired enrolment code');
    }
    expect((await enrol('')).status).toBe(400);
    expect((await json(s, 'GET', '/api/health', '')).body.ingest.enrolFailures).toBe(before + 3);
  });

  it('a withdrawn enrolment no longer works', async () => {
    const r = await json(s, 'POST', '/api/enrollments', operator, { ...place, site: { name: 'Trạm y tế', kind: 'health_station' } });
    expect((await json(s, 'DELETE', `/api/enrollments/${r.body.id}`, operator)).status).toBe(204);
    expect((await json(s, 'DELETE', `/api/enrollments/${r.body.id}`, operator)).status).toBe(404);
    expect((await enrol(r.body.code)).status).toBe(404);
  });

  it('rename, move to another commune, change uplinks: live state and plan follow at once', async () => {
    const c = clients[0]!;
    const renamed = await json(s, 'PATCH', `/api/agents/${agentId}`, admin, { name: 'Máy trạm trường Cẩm Thành' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Máy trạm trường Cẩm Thành');
    expect((await json(s, 'PATCH', `/api/agents/${agentId}`, operator, { name: 'x' })).status).toBe(403);

    const planned = c.next('plan', 3000);
    const moved = await json(s, 'PATCH', `/api/agents/${agentId}`, admin, { commune: LY_SON, uplinks: [{ name: 'wan1', carrier: 'vnpt', gateway: '127.0.0.2' }] });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ commune: LY_SON, uplinks: [{ name: 'wan1', carrier: 'vnpt' }] });
    // the gateway target follows the new uplink: a new plan, new rev
    const plan = await planned;
    expect(plan.targets.find((t) => t.id === 'gw')).toMatchObject({ host: '127.0.0.2' });
    const before = (await json(s, 'GET', `/api/communes/${CAM_THANH}`, admin)).body;
    expect(before.agents).not.toContain(agentId);
    expect(before.targets.some((t: { agent: string }) => t.agent === agentId)).toBe(false);
    expect((await c.batch([icmpOk('dc', Date.now())])).type).toBe('ack');
    const after = (await json(s, 'GET', `/api/communes/${LY_SON}`, admin)).body;
    expect(after.agents).toContain(agentId);
    expect(after.targets.find((t: { agent: string }) => t.agent === agentId)).toMatchObject({ id: 'dc', carrier: 'vnpt', status: 'up' });
    // now a VNPT account sees it
    expect((await json(s, 'GET', '/api/agents', carrier)).body.map((a: { id: string }) => a.id)).toContain(agentId);
  });

  it('an agent from the YAML is changed in the YAML, not here', async () => {
    const r = await json(s, 'POST', '/api/agents/yaml-ly-son/revoke', admin);
    expect(r.status).toBe(409);
    expect(r.body.error).toMatch(/config file/);
    expect((await json(s, 'POST', '/api/agents/nobody/rotate', admin)).status).toBe(404);
  });

  it('a target added to the YAML and reloaded reaches the connected agent as a new plan rev', async () => {
    const c = clients[0]!;
    const oldRev = c.received.filter((m) => m.type === 'plan').at(-1)!.rev;
    yaml.targets = [...BASE_TARGETS, { id: 'tcp-portal', name: 'Cổng dịch vụ công (TCP)', kind: 'tcp', host: '127.0.0.1', port: 9, intervalSec: 5 }];
    await writeYaml(file, yaml);
    const planned = c.next('plan', 3000);
    const r = await json(s, 'POST', '/api/admin/reload', admin);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ changed: ['targets'], restartNeeded: [] });
    const plan = await planned;
    expect(plan.rev).not.toBe(oldRev);
    expect(plan.targets.map((t) => t.id)).toEqual(['gw', 'dc', 'tcp-portal']);
    // its results are taken and reach the live map
    const ack = await c.batch([{ kind: 'tcp', target: 'tcp-portal', ts: Date.now(), uplink: 'wan1', ok: true, connect_ms: 1 }]);
    expect(ack.type).toBe('ack');
    const live = (await json(s, 'GET', `/api/communes/${LY_SON}`, admin)).body;
    expect(live.targets.map((t: { id: string }) => t.id)).toContain('tcp-portal');
  });

  it('a broken YAML is refused with the path of the problem, and the running config stays', async () => {
    const c = clients[0]!;
    const plans = c.received.filter((m) => m.type === 'plan').length;
    await writeYaml(file, { ...yaml, targets: [...yaml.targets, { id: 'web', name: 'Web', kind: 'http', url: 'not a url' }] });
    const r = await json(s, 'POST', '/api/admin/reload', admin);
    expect(r.status).toBe(400);
    expect(r.body.error).toContain('targets[3].url');
    expect(r.body.error).toContain('running config is unchanged');
    expect([...s.dir.targets.keys()]).toEqual(['gw', 'dc', 'tcp-portal']);
    // a YAML agent taking an enrolled agent's id is refused too
    await writeYaml(file, { ...yaml, agents: [...yaml.agents, { ...yaml.agents[0]!, id: agentId }] });
    const clash = await json(s, 'POST', '/api/admin/reload', admin);
    expect(clash.status).toBe(400);
    expect(clash.body.error).toContain(`agents[1].id: "${agentId}" is an agent enrolled at run time`);
    expect((await json(s, 'POST', '/api/admin/reload', operator)).status).toBe(403);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.received.filter((m) => m.type === 'plan').length).toBe(plans);
    await writeYaml(file, yaml);
  });

  it('rotate: the new token is answered once, the old one is cut off and refused', async () => {
    const c = clients[0]!;
    const r = await json(s, 'POST', `/api/agents/${agentId}/rotate`, admin);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(agentId);
    expect(r.body.token).not.toBe(token);
    expect((await c.closed).code).toBe(4401);
    await expect(connectAgent(s.url, agentId, token)).rejects.toThrow(/HTTP 401/);
    token = r.body.token;
    const again = await connectAgent(s.url, agentId, token);
    clients.push(again);
    await again.hello();
  });

  it('revoke: the socket is closed within a second and the token refused', async () => {
    const c = clients.at(-1)!;
    const t0 = Date.now();
    expect((await json(s, 'POST', `/api/agents/${agentId}/revoke`, admin)).status).toBe(204);
    const closed = await c.closed;
    expect(closed.code).toBe(4401);
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(connectAgent(s.url, agentId, token)).rejects.toThrow(/HTTP 401/);
    expect((await json(s, 'GET', '/api/agents', admin)).body.map((a: { id: string }) => a.id)).not.toContain(agentId);
    expect((await json(s, 'GET', `/api/communes/${LY_SON}`, admin)).body.agents).not.toContain(agentId);
    expect((await json(s, 'POST', `/api/agents/${agentId}/revoke`, admin)).status).toBe(404);
  });

  it('every change is in the audit log: who, when, what (admins only)', async () => {
    const r = await json(s, 'GET', '/api/audit?limit=100', admin);
    expect(r.status).toBe(200);
    const seen = (r.body as { action: string; who: string; subject: string }[]).map((e) => `${e.action} ${e.who} ${e.subject}`).reverse();
    expect(seen.filter((x) => x.includes(agentId) || x.startsWith('config.'))).toEqual([
      expect.stringMatching(new RegExp(`^agent\\.enrol enrolment:enr-\\w+ ${agentId}$`)),
      `agent.rename quantri ${agentId}`,
      `agent.move quantri ${agentId}`,
      `agent.uplinks quantri ${agentId}`,
      `config.reload quantri ${file}`,
      `config.reload.refused quantri ${file}`,
      `config.reload.refused quantri ${file}`,
      `agent.rotate quantri ${agentId}`,
      `agent.revoke quantri ${agentId}`,
    ]);
    expect(seen.filter((x) => x.startsWith('enrolment.'))).toHaveLength(3);
    const move = (r.body as { action: string; details: { from: string; to: string } }[]).find((e) => e.action === 'agent.move')!;
    expect(move.details).toEqual({ from: CAM_THANH, to: LY_SON });
    expect((await json(s, 'GET', `/api/audit?subject=${agentId}&action=agent.revoke`, admin)).body).toHaveLength(1);
    expect((await json(s, 'GET', '/api/audit', operator)).status).toBe(403);
  });

  it('enrolled agents survive a restart with the same data directory; a YAML id clash stops the start', async () => {
    const code2 = (await json(s, 'POST', '/api/enrollments', admin, { ...place, site: { name: 'UBND phường', kind: 'commune_centre' } })).body.code;
    const e = (await enrol(code2)).body;
    await s.close();
    s = await start(file, dataDir);
    admin = await login(s.url, 'quantri', PW);
    const c = await connectAgent(s.url, e.id, e.token);
    clients.push(c);
    await c.hello();
    expect((await json(s, 'GET', '/api/agents', admin)).body.find((a: { id: string }) => a.id === e.id)).toMatchObject({ source: 'enrolled', connected: true });
    // the revoked one stays revoked, and the audit log goes on
    await expect(connectAgent(s.url, agentId, token)).rejects.toThrow(/HTTP 401/);
    expect((await json(s, 'GET', '/api/audit?action=agent.enrol', admin)).body).toHaveLength(2);

    const other = mkdtempSync(join(tmpdir(), 'ioc-fleet-clash-'));
    const clashFile = join(other, 'ioc.yaml');
    await writeYaml(clashFile, { ...yaml, agents: [...yaml.agents, { ...yaml.agents[0]!, id: e.id }] });
    await expect(start(clashFile, dataDir)).rejects.toThrow(ConfigError);
    rmSync(other, { recursive: true, force: true });
  });
});

describe('codes that expired, and guessing', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ioc-fleet-guess-'));
  const file = join(tmp, 'ioc.yaml');
  let s: RunningServer;
  let admin = '';
  beforeAll(async () => {
    await writeYaml(file, { targets: BASE_TARGETS, agents: [], enrolment: { codeTtlHours: 0.0003, maxFailuresPerAddress: 4, failureWindowSec: 60, codePrefix: 'TST' } });
    s = await start(file, join(tmp, 'data'));
    admin = await login(s.url, 'quantri', PW);
  });
  afterAll(async () => {
    await s?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('an expired code gets the same 404', async () => {
    const r = await json(s, 'POST', '/api/enrollments', admin, place);
    expect(r.body.code).toMatch(/^TST-/);
    await new Promise((res) => setTimeout(res, 1200));
    expect((await json(s, 'POST', '/api/enroll', '', { code: r.body.code })).status).toBe(404);
    expect((await json(s, 'GET', '/api/enrollments', admin)).body).toHaveLength(0);
  });

  it('brute force is throttled: 429 with Retry-After, even for a right code, until the window passes', async () => {
    const fresh = await json(s, 'POST', '/api/enrollments', admin, place);
    // one failure so far (the expired code); three more reach the limit of four
    for (let i = 0; i < 3; i++) expect((await json(s, 'POST', '/api/enroll', '', { code: `TST-2345-67${'AB'[i % 2]}${i + 2}` })).status).toBe(404);
    const r = await json(s, 'POST', '/api/enroll', '', { code: fresh.body.code });
    expect(r.status).toBe(429);
    const wait = Number(r.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(50);
    expect(wait).toBeLessThanOrEqual(60);
    expect(r.body.error).toMatch(/too many wrong enrolment codes/);
    expect((await json(s, 'GET', '/api/health', '')).body.ingest).toMatchObject({ enrolFailures: 4, enrolThrottled: 1 });
  });
});
