// A carrier user sees only its carrier's communes and only figures measured over its own uplinks — by every
// endpoint, including the live feed and API tokens. Enforced by the server, not by the UI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectAgent, icmpOk } from '../helpers/agent-client.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

let s: TestServer;
const X = '21025'; // Phường Cẩm Thành: Viettel only
const Y = '21548'; // Đặc khu Lý Sơn: VNPT only
const Z = '21484'; // Xã Ba Tơ: both, two uplinks
const cookies: Record<string, string> = {};

beforeAll(async () => {
  s = await startTestServer({
    agents: [
      { id: 'ax', commune: X, carrier: 'viettel' },
      { id: 'ay', commune: Y, carrier: 'vnpt' },
      { id: 'az', commune: Z, uplinks: [{ name: 'wan1', carrier: 'vnpt' }, { name: 'wan2', carrier: 'viettel' }] },
    ],
    users: [
      { username: 'vnpt-eng', password: 'p-vnpt', role: 'carrier', carrier: 'vnpt' },
      { username: 'viettel-eng', password: 'p-viettel', role: 'carrier', carrier: 'viettel' },
      { username: 'dost', password: 'p-dost', role: 'dost' },
      { username: 'op', password: 'p-op', role: 'operator' },
    ],
    apiTokens: [{ id: 'grafana-vnpt', secret: 's3cret-vnpt', role: 'carrier', carrier: 'vnpt' }],
  });
  const now = Date.now();
  for (const [id, results] of [
    ['ax', [icmpOk('dc', now, 30)]],
    ['ay', [icmpOk('dc', now, 10)]],
    ['az', [icmpOk('dc', now, 11, 'wan1'), icmpOk('dc', now, 99, 'wan2')]],
  ] as const) {
    const c = await connectAgent(s.url, id, s.tokens[id]!);
    await c.hello();
    expect(await c.batch([...results])).toMatchObject({ type: 'ack' });
    c.close();
  }
  for (const [u, p] of [['vnpt-eng', 'p-vnpt'], ['viettel-eng', 'p-viettel'], ['dost', 'p-dost'], ['op', 'p-op']]) cookies[u!] = await login(s.url, u!, p!);
});
afterAll(async () => s?.stop());

const get = (path: string, auth: { cookie?: string; bearer?: string }) =>
  fetch(`${s.url}${path}`, { headers: { ...(auth.cookie ? { cookie: auth.cookie } : {}), ...(auth.bearer ? { authorization: `Bearer ${auth.bearer}` } : {}) } });

describe.each([
  ['carrier user (cookie)', () => ({ cookie: cookies['vnpt-eng'] })],
  ['carrier API token', () => ({ bearer: 'grafana-vnpt.s3cret-vnpt' })],
])('VNPT scope via %s', (_n, auth) => {
  it('/api/communes lists only communes VNPT serves, with only VNPT uplinks', async () => {
    const list = await (await get('/api/communes', auth())).json();
    expect(list.map((c: { code: string }) => c.code)).toEqual([Y, Z].sort());
    const z = list.find((c: { code: string }) => c.code === Z);
    expect(z.targets.map((t: { carrier: string; uplink: string }) => [t.carrier, t.uplink])).toEqual([['vnpt', 'wan1']]);
    expect(z.latencyMs).toBe(11);
    expect(JSON.stringify(list)).not.toContain('viettel');
  });

  it('/api/communes/:code of another carrier is not found', async () => {
    expect((await get(`/api/communes/${X}`, auth())).status).toBe(404);
    expect((await get(`/api/communes/${Z}`, auth())).status).toBe(200);
  });

  it('/api/agents hides agents without a VNPT uplink', async () => {
    const agents = await (await get('/api/agents', auth())).json();
    expect(agents.map((a: { id: string }) => a.id).sort()).toEqual(['ay', 'az']);
  });

  it('/api/series refuses other carriers communes and reads only VNPT figures', async () => {
    const from = Date.now() - 60_000, to = Date.now() + 1000;
    expect((await get(`/api/series?commune=${X}&target=dc&from=${from}&to=${to}`, auth())).status).toBe(404);
    const z = await (await get(`/api/series?commune=${Z}&target=dc&from=${from}&to=${to}&bucket=120000`, auth())).json();
    // both uplinks measured Z; the VNPT view averages only its own 11 ms, not Viettel's 99 ms
    expect(z.points.map((p: { latencyMs: number }) => p.latencyMs)).toEqual([11]);
  });
});

describe('other roles', () => {
  it('operator and DOST see every commune and both uplinks of Ba Tơ', async () => {
    for (const u of ['op', 'dost']) {
      const list = await (await get('/api/communes', { cookie: cookies[u] })).json();
      expect(list).toHaveLength(96);
      expect(list.find((c: { code: string }) => c.code === Z).targets).toHaveLength(2);
    }
  });

  it('maintenance windows: a carrier sees those of its communes or uplinks, not another carrier\'s', async () => {
    const base = { kind: 'once', from: '2030-01-01T00:00', to: '2030-01-01T02:00' };
    for (const w of [
      { ...base, id: 'viettel-cap', title: 'Viettel thay cáp', carriers: ['viettel'] },
      { ...base, id: 'xa-ly-son', title: 'Bảo trì tại Lý Sơn', communes: [Y] },
      { ...base, id: 'toan-tinh', title: 'Bảo trì cổng dịch vụ công', targets: ['portal'] },
    ]) {
      const r = await fetch(`${s.url}/api/incidents/maintenance`, { method: 'POST', headers: { cookie: cookies.op!, 'content-type': 'application/json' }, body: JSON.stringify(w) });
      expect(r.status).toBe(201);
    }
    const ids = async (auth: { cookie?: string; bearer?: string }) => (await (await get('/api/incidents/maintenance', auth)).json()).map((w: { id: string }) => w.id).sort();
    expect(await ids({ cookie: cookies['vnpt-eng'] })).toEqual(['toan-tinh', 'xa-ly-son']);
    expect(await ids({ bearer: 'grafana-vnpt.s3cret-vnpt' })).toEqual(['toan-tinh', 'xa-ly-son']);
    expect(await ids({ cookie: cookies['viettel-eng'] })).toEqual(['toan-tinh', 'viettel-cap']);
    expect(await ids({ cookie: cookies.dost })).toEqual(['toan-tinh', 'viettel-cap', 'xa-ly-son']);
  });

  it('a wrong API token is refused', async () => {
    expect((await get('/api/communes', { bearer: 'grafana-vnpt.wrong' })).status).toBe(401);
    expect((await get('/api/communes', { bearer: 'nobody.x' })).status).toBe(401);
  });

  it('the live feed is scoped: snapshot and deltas', async () => {
    const ws = new WebSocket(s.url.replace('http', 'ws') + '/ws/live', { headers: { cookie: cookies['viettel-eng']! } });
    const msgs: { type: string; communes?: { code: string; targets: { carrier: string }[] }[] }[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    await until('a snapshot', () => msgs.some((m) => m.type === 'snapshot'), { ms: 10_000, everyMs: 25 });
    const snap = msgs.find((m) => m.type === 'snapshot')!;
    expect(snap.communes!.map((c) => c.code)).toEqual([X, Z].sort());
    expect(snap.communes!.flatMap((c) => c.targets.map((t) => t.carrier))).toEqual(['viettel', 'viettel']);
    // a VNPT-only commune changes: the Viettel engineer hears nothing of it
    const c = await connectAgent(s.url, 'ay', s.tokens.ay!);
    await c.hello();
    await c.batch([icmpOk('dc', Date.now() + 500, 400)]);
    const cx = await connectAgent(s.url, 'ax', s.tokens.ax!);
    await cx.hello();
    await cx.batch([icmpOk('dc', Date.now() + 500, 300)]);
    await until('a delta', () => msgs.some((m) => m.type === 'delta'), { ms: 10_000, everyMs: 25 });
    await new Promise((r) => setTimeout(r, 300));
    const deltaCodes = msgs.filter((m) => m.type === 'delta').flatMap((m) => m.communes!.map((x) => x.code));
    expect(deltaCodes).toContain(X);
    expect(deltaCodes).not.toContain(Y);
    ws.close();
    c.close();
    cx.close();
  });
});
