// The agent ingest endpoint against a real server on port 0 with real WebSocket clients and the DuckDB store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectAgent, icmpLost, icmpOk } from '../helpers/agent-client.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

let s: TestServer;
const A = { id: 'agent-cam-thanh', commune: '21025', carrier: 'viettel' }; // Phường Cẩm Thành
const B = { id: 'agent-ly-son', commune: '21548', carrier: 'vnpt' }; // Đặc khu Lý Sơn

beforeAll(async () => {
  s = await startTestServer({
    agents: [A, B],
    users: [{ username: 'op', password: 'op-pass-1', role: 'operator' }],
    server: { maxFrameBytes: 64 * 1024 },
  });
});
afterAll(async () => s?.stop());

describe('agent auth', () => {
  it.each([
    ['wrong token', A.id, 'nope'],
    ['missing token', A.id, ''],
    ['unknown agent', 'who-am-i', 'whatever'],
  ])('%s is refused with 401 before the upgrade', async (_n, id, token) => {
    await expect(connectAgent(s.url, id, token)).rejects.toThrow(/HTTP 401/);
  });

  it('counts refusals', async () => {
    const h = await (await fetch(`${s.url}/api/health`)).json();
    expect(h.ingest.authFailures).toBeGreaterThanOrEqual(3);
  });
});

describe('protocol', () => {
  it('hello gets the plan built from config, gateway bound to the uplink', async () => {
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    const plan = await c.hello();
    expect(plan.targets.map((t) => t.id)).toEqual(['gw', 'dc', 'portal']);
    expect(plan.targets[0]).toMatchObject({ kind: 'icmp', host: '127.0.0.1', uplink: 'wan1', count: 10, spacingMs: 200, intervalSec: 30 });
    expect(plan.uplinks).toEqual([{ name: 'wan1', carrier: 'viettel' }]);
    c.close();
  });

  it('a batch is acked only after it is in the store, tagged from config', async () => {
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    await c.hello();
    const t0 = Date.now() - 60_000;
    const ack = await c.batch([icmpOk('dc', t0, 14.5), { kind: 'http', target: 'portal', ts: t0, ok: true, status: 200, total_ms: 321, ttfb_ms: 200 }], 7);
    expect(ack).toMatchObject({ type: 'ack', seq: 7, accepted: 2 });
    const pts = await s.store.queryRaw({ measurement: 'icmp', from: t0, to: t0 + 1, where: { agent: A.id } });
    expect(pts).toHaveLength(1);
    expect(pts[0]!.tags).toEqual({ province: '51', commune: '21025', carrier: 'viettel', agent: A.id, target: 'dc', uplink: 'wan1' });
    expect(pts[0]!.fields.rtt_median).toBe(14.5);
    const http = await s.store.queryRaw({ measurement: 'http', from: t0, to: t0 + 1, where: { agent: A.id } });
    expect(http[0]!.fields).toMatchObject({ ok: true, status: 200, total_ms: 321, ttfb_ms: 200 });
    c.close();
  });

  it('an agent cannot write for a commune that is not its own', async () => {
    const c = await connectAgent(s.url, B.id, s.tokens[B.id]!);
    await c.hello();
    const ts = Date.now() - 50_000;
    const forged = { ...icmpOk('dc', ts), commune: '21025', carrier: 'viettel', agent: A.id };
    expect(await c.batch([forged as never])).toMatchObject({ type: 'ack' });
    const pts = await s.store.queryRaw({ measurement: 'icmp', from: ts, to: ts + 1 });
    expect(pts.map((p) => [p.tags.commune, p.tags.agent, p.tags.carrier])).toEqual([['21548', B.id, 'vnpt']]);
    c.close();
  });

  it('replaying the same batch does not duplicate anything', async () => {
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    await c.hello();
    const t0 = Date.now() - 40_000;
    const batch = [icmpOk('dc', t0), icmpOk('dc', t0 + 1000), icmpOk('gw', t0)];
    await c.batch(batch, 1);
    await c.batch(batch, 2);
    const pts = await s.store.queryRaw({ measurement: 'icmp', from: t0, to: t0 + 2000, where: { agent: A.id } });
    expect(pts).toHaveLength(3);
    c.close();
  });

  it('malformed frames get a clear error, are counted, and the link stays up', async () => {
    const before = (await (await fetch(`${s.url}/api/health`)).json()).ingest.badFrames;
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    c.sendRaw('{not json');
    expect(await c.next('error')).toMatchObject({ code: 'bad_json' });
    await c.hello();
    c.sendRaw(JSON.stringify({ type: 'batch', v: 1, seq: 3, results: [{ kind: 'icmp', target: 'dc', ts: 'yesterday' }] }));
    const e = await c.next('error');
    expect(e.code).toBe('bad_frame');
    expect(e.message).toMatch(/results\[0\]\.ts/);
    c.sendRaw(JSON.stringify({ type: 'launch-missiles', v: 1 }));
    expect((await c.next('error')).code).toBe('bad_frame');
    // still usable
    expect(await c.batch([icmpOk('dc', Date.now() - 30_000)])).toMatchObject({ type: 'ack' });
    const after = (await (await fetch(`${s.url}/api/health`)).json()).ingest.badFrames;
    expect(after - before).toBe(3);
    c.close();
  });

  it('a batch before hello is refused', async () => {
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    const err = c.next('error');
    c.sendRaw(JSON.stringify({ type: 'batch', v: 1, seq: 1, results: [icmpOk('dc', Date.now())] }));
    expect(await err).toMatchObject({ code: 'not_hello', message: 'first frame must be hello, got batch' });
    expect(c.received.some((m) => m.type === 'ack')).toBe(false);
    c.close();
  });

  it('an oversized frame closes the link with 1009', async () => {
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    await c.hello();
    c.sendRaw('x'.repeat(70 * 1024));
    expect((await c.closed).code).toBe(1009);
    await new Promise((r) => setTimeout(r, 100));
    const h = await (await fetch(`${s.url}/api/health`)).json();
    expect(h.ingest.oversized).toBeGreaterThanOrEqual(1);
  });
});

describe('live feed and REST', () => {
  it('requires login except /api/health', async () => {
    expect((await fetch(`${s.url}/api/health`)).status).toBe(200);
    for (const p of ['/api/communes', '/api/agents', '/api/province', '/api/series?commune=21025']) expect((await fetch(`${s.url}${p}`)).status).toBe(401);
    expect((await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: JSON.stringify({ username: 'op', password: 'wrong' }) })).status).toBe(401);
  });

  it('snapshot on connect, then a delta when a commune changes', async () => {
    const cookie = await login(s.url, 'op', 'op-pass-1');
    const ui = new WebSocket(s.url.replace('http', 'ws') + '/ws/live', { headers: { cookie } });
    const msgs: { type: string; communes?: { code: string; status: string }[] }[] = [];
    ui.on('message', (d) => msgs.push(JSON.parse(String(d))));
    await new Promise((r) => ui.once('open', r));
    await waitFor(() => msgs.some((m) => m.type === 'snapshot'));
    const snap = msgs.find((m) => m.type === 'snapshot')!;
    expect(snap.communes).toHaveLength(96);

    const c = await connectAgent(s.url, B.id, s.tokens[B.id]!);
    await c.hello();
    const now = Date.now();
    await c.batch([icmpOk('gw', now, 2), icmpOk('dc', now, 30)]);
    await waitFor(() => msgs.some((m) => m.type === 'delta' && m.communes!.some((x) => x.code === B.commune && x.status === 'up')));
    for (let i = 1; i <= 3; i++) await c.batch([icmpLost('gw', now + i * 1000), icmpLost('dc', now + i * 1000)]);
    await waitFor(() => msgs.some((m) => m.type === 'delta' && m.communes!.some((x) => x.code === B.commune && x.status === 'down')));

    const communes = await (await fetch(`${s.url}/api/communes`, { headers: { cookie } })).json();
    const ly = communes.find((x: { code: string }) => x.code === B.commune);
    expect(ly).toMatchObject({ name: 'Lý Sơn', fullName: 'Đặc khu Lý Sơn', status: 'down', carrier: 'vnpt', lossPct: 100 });
    const agents = await (await fetch(`${s.url}/api/agents`, { headers: { cookie } })).json();
    expect(agents.find((a: { id: string }) => a.id === B.id)).toMatchObject({ connected: true, commune: B.commune, version: 'test' });
    ui.close();
    c.close();
  });

  it('/api/series buckets latency and loss', async () => {
    const cookie = await login(s.url, 'op', 'op-pass-1');
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    await c.hello();
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    // two rounds in each of two minutes: means 15 and 35 ms
    await c.batch([icmpOk('dc', base + 1000, 10), icmpOk('dc', base + 31_000, 20), icmpOk('dc', base + 61_000, 30), icmpOk('dc', base + 91_000, 40)]);
    const r = await (await fetch(`${s.url}/api/series?commune=21025&target=dc&from=${base}&to=${base + 120_000}&bucket=60000`, { headers: { cookie } })).json();
    expect(r.points).toEqual([
      { t: base, latencyMs: 15, lossPct: 0 },
      { t: base + 60_000, latencyMs: 35, lossPct: 0 },
    ]);
    const bad = await fetch(`${s.url}/api/series?commune=2102&target=dc`, { headers: { cookie } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/commune/);
    c.close();
  });
});

const waitFor = (pred: () => boolean) => until('the condition', pred, { ms: 10_000, everyMs: 25 });

describe('late and impossible timestamps', () => {
  it('a replayed backlog is stored as backfilled history and does not move the live map', async () => {
    const c = await connectAgent(s.url, B.id, s.tokens[B.id]!);
    await c.hello();
    const now = Date.now();
    // two good rounds: an earlier test left this commune down, and recovery takes upAfter = 2 rounds
    // (ts a little ahead: the earlier test's rounds were stamped up to 3 s ahead, and older results never move live state)
    await c.batch([icmpOk('gw', now + 10_000, 2), icmpOk('dc', now + 10_000, 20)]);
    await c.batch([icmpOk('gw', now + 11_000, 2), icmpOk('dc', now + 11_000, 20)]);
    await waitFor(() => s.live.commune(B.commune).status === 'up');
    // an hour of outage ending 5 minutes ago, replayed oldest first: every echo lost
    const backlog = Array.from({ length: 120 }, (_, i) => icmpLost('dc', now - 3_900_000 + i * 30_000));
    expect(await c.batch(backlog)).toMatchObject({ type: 'ack', accepted: 120 });
    expect(s.live.commune(B.commune).status).toBe('up');
    const stamps = new Set(backlog.map((r) => r.ts));
    const pts = (await s.store.queryRaw({ measurement: 'icmp', from: now - 3_900_000, to: now, where: { agent: B.id, target: 'dc' } })).filter((p) => stamps.has(p.ts));
    expect(pts).toHaveLength(120);
    expect(pts.every((p) => p.fields.backfilled === true && p.fields.loss === 100)).toBe(true);
    const fresh = await s.store.queryRaw({ measurement: 'icmp', from: now + 11_000, to: now + 11_001, where: { agent: B.id, target: 'dc' } });
    expect(fresh[0]!.fields.backfilled).toBe(false);
    const cookie = await login(s.url, 'op', 'op-pass-1');
    const agents = await (await fetch(`${s.url}/api/agents`, { headers: { cookie } })).json();
    expect(agents.find((a: { id: string }) => a.id === B.id).backfilled).toBeGreaterThanOrEqual(120);
    c.close();
  });

  it('results from a clock far in the future are not stored, and the agent is told why', async () => {
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    await c.hello();
    const now = Date.now();
    const err = c.next('error');
    const ack = await c.batch([icmpOk('dc', now + 24 * 3_600_000), icmpOk('dc', now - 1000)]);
    expect(ack).toMatchObject({ type: 'ack', accepted: 1 });
    expect((await err).message).toMatch(/1 result\(s\) not stored: ts 86400 s in the future.*check the agent's clock/);
    expect(await s.store.queryRaw({ measurement: 'icmp', from: now + 3_600_000, to: now + 48 * 3_600_000 })).toEqual([]);
    c.close();
  });

  it('a heartbeat with a skewed clock flags the agent', async () => {
    const c = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    await c.hello();
    c.sendRaw(JSON.stringify({ type: 'heartbeat', v: 1, clock: Date.now() - 45_000, pending: 3, dropped: 7, uptimeSec: 100, offsetMs: 45_000, rttMs: 12, spoolBytes: 4096 }));
    const pong = await c.next('pong');
    expect(pong.serverTime).toBeGreaterThan(pong.clock);
    const cookie = await login(s.url, 'op', 'op-pass-1');
    const a = (await (await fetch(`${s.url}/api/agents`, { headers: { cookie } })).json()).find((x: { id: string }) => x.id === A.id);
    expect(a).toMatchObject({ clockOffsetMs: 45_000, clockSkewed: true, pending: 3, dropped: 7, spoolBytes: 4096, linkRttMs: 12 });
    c.close();
  });
});
