// The throughput probe with the scheduler and a real server over loopback: a target that is not due reports nothing,
// a due one measures once through the server's own speed test routes with the agent's token, and the token never
// goes to a test server named in a target.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPEEDTEST_MAX_BYTES } from '../../config/api.ts';
import { resultSchema, type PlanTarget, type ProbeResult } from '../../config/wire.ts';
import { BOOK_FILE, createThroughputProbe, goodputMbps, throughput } from '../../agent/probes/throughput.ts';
import { Scheduler } from '../../agent/scheduler.ts';
import { parseBook } from '../../agent/throughput-schedule.ts';
import { connectAgent, icmpOk } from '../helpers/agent-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Target = Extract<PlanTarget, { kind: 'throughput' }>;
const target = (o: Partial<Target> = {}): Target => ({
  id: 'speed', kind: 'throughput', intervalSec: 1, timeoutMs: 20_000,
  directionMs: 500, maxBytes: 4e6, dailyBytes: 40e6, testsPerDay: 4,
  windows: [[0, 0]], blocked: [], tzOffsetMin: 420, busyMbps: 2, ...o,
});

let s: TestServer;
let dir: string;
beforeAll(async () => {
  s = await startTestServer({ agents: [{ id: 'ag-speed', commune: '21025' }] });
  dir = mkdtempSync(join(tmpdir(), 'ioc-speed-'));
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** the scheduler's results over `ms`, or until `want` results and `ms` more (a loaded machine runs a test slowly) */
async function schedule(probe: ReturnType<typeof createThroughputProbe>, t: Target, ms: number, want = 0): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  const sch = new Scheduler({ onResult: (r) => results.push(r), probes: { throughput: probe }, random: () => 0 });
  // one uplink without binding: the round is labelled with it, the probe is not bound to it
  sch.setPlan({ uplinks: [{ name: 'wan1', carrier: 'vnpt' }], targets: [t] });
  for (let i = 0; i < 300 && results.length < want; i++) await new Promise((ok) => setTimeout(ok, 100));
  await new Promise((ok) => setTimeout(ok, ms));
  await sch.stop();
  return results;
}

describe('throughput probe in the scheduler', () => {
  it('not due: no round, no result (not a failure); the first look only draws the first test time', async () => {
    const sub = mkdtempSync(join(dir, 'first-'));
    const probe = createThroughputProbe({ server: { url: s.url, agentId: 'ag-speed', token: s.tokens['ag-speed']! }, stateDir: sub });
    expect(await schedule(probe, target(), 2500)).toEqual([]);
  });

  it('due: one test through the server with the agent token, then the next is hours away', async () => {
    const sub = mkdtempSync(join(dir, 'due-'));
    writeFileSync(join(sub, BOOK_FILE), JSON.stringify({ v: 1, spent: [], next: { 'speed\u0000wan1': Date.now() - 1000 } }));
    const probe = createThroughputProbe({ server: { url: s.url, agentId: 'ag-speed', token: s.tokens['ag-speed']! }, stateDir: sub });
    // loopback moves megabytes in milliseconds: a cap large enough that the 500 ms limit ends each direction
    const results = await schedule(probe, target({ maxBytes: 200e6, dailyBytes: 400e6 }), 2500, 1);
    expect(results).toHaveLength(1);
    const r = resultSchema.parse(results[0]);
    if (r.kind !== 'throughput') throw new Error('not a throughput result');
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.down_mbps!).toBeGreaterThan(0);
    expect(r.up_mbps!).toBeGreaterThan(0);
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.bytes).toBeLessThanOrEqual(200e6);
    expect(r.uplink).toBe('wan1');
    // booked once by due() and settled by run() with what moved: the budget counts this test exactly once
    const book = parseBook(readFileSync(join(sub, BOOK_FILE), 'utf8'));
    expect(book.spent).toHaveLength(1);
    expect(book.spent[0]!.bytes).toBeGreaterThanOrEqual(r.bytes);
    expect(book.next['speed\u0000wan1']).toBeGreaterThan(Date.now() + 60_000);
  });

  it("a cap above the server's limit per request: each direction asks within it and the test succeeds", async () => {
    const sub = mkdtempSync(join(dir, 'big-'));
    writeFileSync(join(sub, BOOK_FILE), JSON.stringify({ v: 1, spent: [], next: { 'speed\u0000wan1': Date.now() - 1000 } }));
    const probe = createThroughputProbe({ server: { url: s.url, agentId: 'ag-speed', token: s.tokens['ag-speed']! }, stateDir: sub });
    // 2.5 x the server's limit: halved, the download would ask for more than it serves; the upload would get the rest
    const maxBytes = 2.5 * SPEEDTEST_MAX_BYTES;
    const [r] = await schedule(probe, target({ maxBytes, dailyBytes: 2 * maxBytes, directionMs: 300 }), 2500, 1);
    const res = resultSchema.parse(r);
    if (res.kind !== 'throughput') throw new Error('not a throughput result');
    expect(res.error).toBeUndefined();
    expect(res.ok).toBe(true);
    expect(res.bytes).toBeLessThanOrEqual(2 * SPEEDTEST_MAX_BYTES);
  });

  it('the registry probe is never due until the agent names its server', () => {
    expect(throughput.due!(target(), undefined, Date.now())).toBe(false);
  });

  it("a test server named in the target never receives the agent's token", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(404).end();
    });
    await new Promise<void>((ok) => other.listen(0, '127.0.0.1', ok));
    try {
      const port = (other.address() as { port: number }).port;
      const probe = createThroughputProbe({ server: { url: s.url, agentId: 'ag-speed', token: s.tokens['ag-speed']! } });
      const r = await probe.run(target({ url: `http://127.0.0.1:${port}/speed` }), { signal: AbortSignal.timeout(10_000) });
      expect(r).toMatchObject({ ok: false, error: 'http: status 404' });
      expect(seen.length).toBeGreaterThan(0);
      for (const h of seen) {
        expect(h.authorization).toBeUndefined();
        expect(h['x-agent-id']).toBeUndefined();
      }
    } finally {
      other.close();
    }
  });
});

describe('throughput on the server', () => {
  it('planned from the config target; a result is stored like any measurement but holds no live slot', async () => {
    const srv = await startTestServer({
      agents: [{ id: 'ag-q', commune: '21025', uplinks: [{ name: 'ftth', carrier: 'vnpt', gateway: '127.0.0.1' }] }],
      targets: [
        { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway' },
        { id: 'speed', name: 'Tốc độ đường truyền', kind: 'throughput', hours: ['22:00-06:00', '12:00-13:30'], blockedHours: ['23:00-23:30'], maxMbPerTest: 50 },
      ],
    });
    try {
      const agent = await connectAgent(srv.url, 'ag-q', srv.tokens['ag-q']!);
      const plan = await agent.hello();
      const t = plan.targets.find((x) => x.id === 'speed');
      expect(t).toMatchObject({
        kind: 'throughput', intervalSec: 300, directionMs: 10_000, maxBytes: 50e6, dailyBytes: 400e6, testsPerDay: 4,
        windows: [[1320, 360], [720, 810]], blocked: [[1380, 1410]], tzOffsetMin: 420, busyMbps: 2,
      });
      // every stage of a test fits in one round's deadline
      expect(t!.timeoutMs).toBeGreaterThanOrEqual(2 * 10_000 + 10_000);

      const ts = Date.now();
      const ack = await agent.batch([
        icmpOk('gw', ts, 3, 'ftth'),
        { kind: 'throughput', target: 'speed', ts, uplink: 'ftth', ok: true, down_mbps: 92.4, up_mbps: 41.2, loaded_rtt_ms: 38.5, idle_rtt_ms: 4.1, duration_ms: 21_400, bytes: 50_000_000 },
      ]);
      expect(ack).toMatchObject({ type: 'ack', accepted: 2 });
      const rows = await srv.store.queryRaw({ measurement: 'throughput', from: ts - 1000, to: ts + 1000 });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.tags).toMatchObject({ agent: 'ag-q', commune: '21025', carrier: 'vnpt', target: 'speed', uplink: 'ftth' });
      expect(rows[0]!.fields).toMatchObject({ ok: true, down_mbps: 92.4, up_mbps: 41.2, loaded_rtt_ms: 38.5, idle_rtt_ms: 4.1, bytes: 50_000_000 });
      // the commune's live view knows the gateway only: a test a few times a day is no status
      const live = srv.live.commune('21025');
      expect(live?.targets.map((x) => x.id)).toEqual(['gw']);
      expect(live?.status).toBe('up');
      agent.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('goodput', () => {
  /** cumulative samples every 10 ms at `mbps`, from t = 0 */
  const line = (mbps: number, ms: number, start = 0): [number, number][] =>
    Array.from({ length: ms / 10 + 1 }, (_, i) => [i * 10, Math.round(start + (mbps * 1e6 * (i * 10)) / 8000)]);

  it('a steady transfer reads its rate; the warm-up leaves out the slow start', () => {
    expect(goodputMbps(line(10, 6000), 1000)).toBeCloseTo(10, 6);
    // the first 800 ms at a quarter of the rate, as while the congestion window grows
    const ramp = line(10, 6000).map(([t, b]) => [t, t < 800 ? b / 4 : b - 750_000] as [number, number]);
    expect(goodputMbps(ramp, 1000)).toBeCloseTo(10, 6);
    expect(Math.abs(goodputMbps(ramp, 0)! - 10)).toBeGreaterThan(0.1);
  });

  it('a reader stalled 300 ms at the end moves the slope by far less than it moves the end points', () => {
    const stalled = line(10, 6000).filter(([t]) => t <= 5700 || t === 6000);
    const ends = (s: [number, number][]) => ((s.at(-1)![1] - s.find(([t]) => t >= 1000)![1]) * 8) / (s.at(-1)![0] - 1000) / 1000;
    // the same bytes, the last chunk read late
    const late = stalled.map(([t, b]) => [t === 6000 ? 6300 : t, b] as [number, number]);
    expect(Math.abs(goodputMbps(late, 1000)! - 10)).toBeLessThan(0.3);
    expect(Math.abs(ends(late) - 10)).toBeGreaterThan(0.5);
  });

  it('too little timed: null', () => {
    expect(goodputMbps([], 1000)).toBeNull();
    expect(goodputMbps([[0, 1000]], 1000)).toBeNull();
    expect(goodputMbps([[0, 1000], [10, 2000]], 1000)).toBeNull();
    // a short transfer is measured after its first half
    expect(goodputMbps(line(50, 400), 1000)).toBeCloseTo(50, 6);
  });
});
