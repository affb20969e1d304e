// End to end with the real agent as an officer runs it: the bundled ioc-agent.mjs (built into a temp dir, run from
// outside the repository) enrols with a code an operator created, runs, and shows up on the live map within one
// round, without a restart of the server; a target added to the YAML and reloaded reaches it as a new plan and is
// probed; a revoke cuts it off.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashSecret } from '../../server/auth/password.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { connectAgent } from '../helpers/agent-client.ts';
import { login } from '../helpers/server.ts';
import { buildAgent } from '../helpers/agent-build.ts';
import { until as untilBare } from '../helpers/wait.ts';

const exec = promisify(execFile);
const PW = 'mat-khau-e2e-dang-ky';
const COMMUNE = '21025';

let dist = '';
let work = '';
let s: RunningServer;
let cookie = '';
let kid: ChildProcess | null = null;
let yamlFile = '';
let stderr = '';

// one hash for every write: a changed hash is a changed password, and a reload would end the session
let pwHash: Promise<string> | null = null;
async function writeYaml(targets: unknown[]) {
  const doc = {
    province: { code: '51' },
    server: { host: '127.0.0.1', heartbeatSec: 2, agentTimeoutSec: 20, liveCoalesceMs: 50 },
    store: { kind: 'duckdb' },
    carriers: [{ id: 'vnpt', name: 'VNPT' }],
    targets,
    users: [{ username: 'vanhanh', role: 'admin', passwordHash: await (pwHash ??= hashSecret(PW, { N: 1024 })) }],
    simulator: { enabled: false },
  };
  writeFileSync(yamlFile, stringify(doc));
}

async function api(method: string, path: string, body?: unknown) {
  const r = await fetch(`${s.url}${path}`, { method, headers: { cookie, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: r.status, body: (r.status === 204 ? undefined : await r.json()) as any };
}

/** waits, and on a timeout shows what the agent said */
const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000) =>
  untilBare(what, fn, { ms, everyMs: 200, detail: () => `agent stderr:\n${stderr.slice(-2000)}` });

beforeAll(async () => {
  dist = await buildAgent('ioc-enrol-dist-', 'mjs');
  work = mkdtempSync(join(tmpdir(), 'ioc-enrol-run-'));
  yamlFile = join(work, 'ioc.yaml');
  // a TCP check of the server's own port: reachable from the agent on any machine, no ping needed
  await writeYaml([]);
  s = await startServer({ configPath: yamlFile, dataDir: join(work, 'data'), port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }), uiDir: null });
  await writeYaml([{ id: 'ioc-web', name: 'Máy chủ IOC', kind: 'tcp', host: '127.0.0.1', port: s.port, intervalSec: 5 }]);
  expect((await (async () => { cookie = await login(s.url, 'vanhanh', PW); return api('POST', '/api/admin/reload'); })()).status).toBe(200);
}, 300_000);

afterAll(async () => {
  kid?.kill('SIGKILL');
  await s?.close();
  for (const d of [dist, work]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('the bundled agent enrols, runs and follows the server', () => {
  const config = () => join(work, 'agent.json');
  let id = '';

  it('enroll with the code writes the id and token (owner-only); run connects and reports within one round', async () => {
    const created = await api('POST', '/api/enrollments', { commune: COMMUNE, site: { name: 'UBND phường Cẩm Thành', kind: 'commune_centre' }, uplinks: [{ name: 'wan1', carrier: 'vnpt' }] });
    expect(created.status).toBe(201);
    const r = await exec(process.execPath, [join(dist, 'ioc-agent.mjs'), 'enroll', '--server', s.url, '--code', created.body.code, '--config', config(), '--lang', 'vi'], { cwd: work, env: { ...process.env, IOC_LANG: '' } });
    expect(r.stdout).toContain('Đã đăng ký');
    const saved = JSON.parse(readFileSync(config(), 'utf8')) as { id: string; token: string; server: string };
    id = saved.id;
    expect(id).toBe(`${COMMUNE}-ubnd-phuong-cam-thanh`);
    expect(saved.server).toBe(s.url);
    expect(statSync(config()).mode & 0o777).toBe(0o600);

    kid = spawn(process.execPath, [join(dist, 'ioc-agent.mjs'), 'run', '--config', config(), '--state-dir', join(work, 'state'), '--interval-scale', '0.2'], {
      cwd: work, env: { ...process.env, IOC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    kid.stderr!.on('data', (d) => (stderr += String(d)));
    const live = await until('the agent on the live map', async () => {
      const c = (await api('GET', `/api/communes/${COMMUNE}`)).body;
      return c.targets.some((t: { agent: string; status: string }) => t.agent === id && t.status === 'up') && c;
    });
    expect(live.agents).toEqual([id]);
    expect((await api('GET', '/api/agents')).body.find((a: { id: string }) => a.id === id)).toMatchObject({ source: 'enrolled', connected: true, platform: `${process.platform}-${process.arch}` });
  });

  it('a target added by a reload reaches the agent as a new plan and is probed', async () => {
    await writeYaml([
      { id: 'ioc-web', name: 'Máy chủ IOC', kind: 'tcp', host: '127.0.0.1', port: s.port, intervalSec: 5 },
      { id: 'ioc-http', name: 'Máy chủ IOC (HTTP)', kind: 'http', url: `${s.url}/api/health`, intervalSec: 5 },
    ]);
    const r = await api('POST', '/api/admin/reload');
    expect(r.body.changed).toEqual(['targets']);
    await until('the new target probed', async () => {
      const c = (await api('GET', `/api/communes/${COMMUNE}`)).body;
      return c.targets.some((t: { id: string; agent: string; status: string }) => t.id === 'ioc-http' && t.agent === id && t.status === 'up');
    });
  });

  it('revoked: cut off within a second, and refused when it reconnects', async () => {
    expect((await api('POST', `/api/agents/${id}/revoke`)).status).toBe(204);
    const t0 = Date.now();
    await until('the connection closed', async () => !s.registry.sockets.has(id), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    // the agent waits a while before it tries a refused token again: try its token here
    const saved = JSON.parse(readFileSync(config(), 'utf8')) as { token: string };
    await expect(connectAgent(s.url, id, saved.token)).rejects.toThrow(/HTTP 401/);
    expect((await api('GET', `/api/communes/${COMMUNE}`)).body.agents).toEqual([]);
  });
});
