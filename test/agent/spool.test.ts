// The disk spool (agent/spool/) on a real file system: append/ack/delete, reopen, crash recovery (a real
// SIGKILLed child process, and torn/corrupt records made by hand), size and age bounds with exact counts, lanes.
// Then the spool behind the real Link against a small ws server: replay rate and the heartbeat's spool figures.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { agentMessageSchema, PROTOCOL_VERSION, type AgentHeartbeat, type ProbeResult } from '../../config/wire.ts';
import { Link } from '../../agent/link.ts';
import { encodeRecord, RangeSet, Spool, type SpoolOptions } from '../../agent/spool/index.ts';

const ROOT = join(import.meta.dirname, '../..');
// recent (the default age bound is 7 days), whole seconds so every ts has the same digits
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
/** constant-size results (13-digit ts, same fields) so byte bounds give exact counts */
const r = (i: number, target = 't'): ProbeResult => ({ target, ts: T0 + i, kind: 'tcp', ok: true, connect_ms: 1 });
const R = encodeRecord(r(0)).length;
const idx = (rs: readonly ProbeResult[]) => rs.map((x) => x.ts - T0);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

const dirs: string[] = [];
const open: Spool[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ioc-spool-'));
  dirs.push(d);
  return d;
}
function openSpool(o: SpoolOptions): Spool {
  const s = Spool.open(o);
  open.push(s);
  return s;
}
async function closeSpool(s: Spool): Promise<void> {
  await s.close();
  open.splice(open.indexOf(s), 1);
}
/** every queued result, in the order the spool hands them out (acked as taken) */
function drain(s: Spool, ack = true): number[] {
  const out: ProbeResult[] = [];
  for (let b; (b = s.nextBatch(7)); ) {
    out.push(...b.results);
    if (ack) s.ack(b.seq);
  }
  return idx(out);
}
const segs = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
async function pushEach(s: Spool, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await s.push([r(i)]);
}

describe('RangeSet', () => {
  it('adds, merges, takes within bounds, removes below', () => {
    const s = new RangeSet();
    s.add(10, 20);
    s.add(0, 5);
    s.add(5, 8); // adjacent: merges with [0,5)
    s.add(30, 40);
    expect(s.size).toBe(28);
    expect(s.length).toBe(3);
    expect(s.take(6, 35, 9)).toEqual([[6, 8], [10, 17]]);
    expect(s.size).toBe(19);
    expect(s.firstAtOrAbove(18)).toBe(18);
    expect(s.firstAtOrAbove(20)).toBe(30);
    expect(s.take(30, Infinity, 3)).toEqual([[30, 33]]);
    expect(s.removeBelow(19)).toBe(8); // 0..5 and 17,18
    expect(s.first()).toBe(19);
    expect(s.size).toBe(8);
  });
});

describe('Spool', () => {
  it('appends, hands out batches oldest first, acks, and deletes segment files once delivered', async () => {
    const dir = tmp();
    const s = openSpool({ dir, segmentBytes: 5 * R, cursorDelayMs: 5 });
    await pushEach(s, 0, 23);
    expect([s.pending, s.queued, s.dropped]).toEqual([23, 23, 0]);
    expect(segs(dir)).toHaveLength(5); // 5 records per segment: 5+5+5+5+3
    expect(s.bytes).toBe(23 * R);
    expect(s.oldestPendingTs).toBe(T0);
    const a = s.nextBatch(4)!;
    const b = s.nextBatch(4)!;
    expect([a.seq, idx(a.results), b.seq, idx(b.results)]).toEqual([0, [0, 1, 2, 3], 1, [4, 5, 6, 7]]);
    expect([s.pending, s.queued, s.inFlight]).toEqual([23, 15, 2]);
    expect(s.ack(a.seq)).toBe(4);
    expect(s.ack(a.seq)).toBe(0);
    expect(s.ack(b.seq)).toBe(4);
    expect(s.pending).toBe(15);
    expect(s.oldestPendingTs).toBe(T0 + 8);
    await new Promise((res) => setTimeout(res, 50)); // cursor persisted, the first segment (0..4) deleted
    expect(segs(dir)).toHaveLength(4);
    expect(drain(s)).toEqual(range(8, 23));
    expect(s.pending).toBe(0);
    expect(s.bytes).toBe(0);
    expect(s.oldestPendingTs).toBeUndefined();
    await closeSpool(s);
    expect(segs(dir).length).toBeLessThanOrEqual(1); // at most the last segment, which was being appended to
    const again = openSpool({ dir });
    expect([again.pending, again.dropped]).toEqual([0, 0]);
    expect(segs(dir)).toEqual([]); // delivered: deleted on open
    await again.push([r(100)]);
    expect(drain(again)).toEqual([100]);
  });

  it('reopens after close with what was not acked, in order; unacked in-flight batches come back', async () => {
    const dir = tmp();
    const s = openSpool({ dir, segmentBytes: 4 * R });
    await s.push(range(0, 20).map((i) => r(i)));
    s.ack(s.nextBatch(5)!.seq);
    s.nextBatch(5); // in flight when we stop: not acked, so it must come back
    await closeSpool(s);
    const s2 = openSpool({ dir });
    expect([s2.pending, s2.dropped]).toEqual([15, 0]);
    expect(drain(s2)).toEqual(range(5, 20));
  });

  it.each([['ack-persisted', 10], ['ack-lost', 0]] as const)('kill -9 (%s): reopen gives exactly the unacked results', async (mode, from) => {
    const dir = tmp();
    const p = spawn(process.execPath, ['--import', 'tsx', 'test/agent/spool-child.ts', dir, mode, '50', String(T0)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    const sig = await new Promise<NodeJS.Signals | null>((res) => p.on('exit', (_c, s) => res(s)));
    expect(sig).toBe('SIGKILL');
    expect(out).toBe('taken 50\n');
    const s = openSpool({ dir });
    expect([s.pending, s.dropped]).toEqual([50 - from, 0]);
    expect(drain(s)).toEqual(range(from, 50));
  });

  it('refuses a spool another live agent holds, and takes over the lock of a dead one', async () => {
    const dir = tmp();
    const p = spawn(process.execPath, ['--import', 'tsx', 'test/agent/spool-child.ts', dir, 'hold', '0', String(T0)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => p.stdout!.once('data', () => res()));
    expect(() => Spool.open({ dir })).toThrow(new RegExp(`in use by process ${p.pid}`));
    p.kill('SIGKILL');
    await new Promise((res) => p.on('exit', res));
    const s = openSpool({ dir });
    expect(s.pending).toBe(0);
  });

  it('a torn last record (crash mid-write) is detected, skipped and counted; earlier records intact; spool keeps working', async () => {
    const dir = tmp();
    const s = openSpool({ dir, segmentBytes: 1000 * R });
    await pushEach(s, 0, 10);
    await closeSpool(s);
    const [seg] = segs(dir);
    const path = join(dir, seg!);
    expect(statSync(path).size).toBe(10 * R);
    truncateSync(path, 10 * R - 5); // the 10th record loses its last 5 bytes

    const s2 = openSpool({ dir });
    expect([s2.pending, s2.dropped, s2.stats.corrupt]).toEqual([9, 1, 1]);
    expect(statSync(path).size).toBe(9 * R); // torn tail cut off
    await s2.push([r(10), r(11)]);
    await closeSpool(s2);

    // Garbage after valid records (e.g. zeros from a power cut): also just a torn tail.
    const last = join(dir, segs(dir).at(-1)!);
    appendFileSync(last, Buffer.alloc(40));
    const s3 = openSpool({ dir });
    expect([s3.pending, s3.dropped]).toEqual([11, 2]);
    expect(drain(s3)).toEqual([...range(0, 9), 10, 11]);
    await closeSpool(s3);
    const s4 = openSpool({ dir });
    expect([s4.pending, s4.dropped]).toEqual([0, 2]); // the dropped count persists
  });

  it('a corrupt record inside an older segment loses exactly the rest of that segment, counted', async () => {
    const dir = tmp();
    const s = openSpool({ dir, segmentBytes: 10 * R });
    await pushEach(s, 0, 30); // 3 segments of 10
    await closeSpool(s);
    const first = join(dir, segs(dir)[0]!);
    const buf = readFileSync(first);
    buf[6 * R + 20]! ^= 0xff; // flip a payload byte of record 6: its CRC fails
    writeFileSync(first, buf);
    const s2 = openSpool({ dir });
    expect([s2.pending, s2.dropped, s2.stats.corrupt]).toEqual([26, 4, 4]); // records 6..9 gone
    expect(drain(s2)).toEqual([...range(0, 6), ...range(10, 30)]);
  });

  it('size bound: the oldest whole segments are dropped, counted exactly; the newest results stay in order', async () => {
    const dir = tmp();
    // 20 records per segment, room for 70: see the arithmetic in the expectations.
    const s = openSpool({ dir, segmentBytes: 20 * R, maxBytes: 70 * R });
    await pushEach(s, 0, 100);
    // #70 overflows: segment 0..19 goes (20); #90 overflows again: 20..39 goes (20).
    expect([s.dropped, s.pending, s.stats.droppedSize]).toEqual([40, 60, 40]);
    expect(segs(dir)).toHaveLength(3);
    expect(s.bytes).toBe(60 * R);
    await closeSpool(s);
    const s2 = openSpool({ dir, segmentBytes: 20 * R, maxBytes: 70 * R });
    expect([s2.dropped, s2.pending]).toEqual([40, 60]);
    expect(drain(s2)).toEqual(range(40, 100));
  });

  it('size bound never drops a result in flight; once acked it counts as delivered, not dropped', async () => {
    const dir = tmp();
    const s = openSpool({ dir, segmentBytes: 20 * R, maxBytes: 70 * R });
    await pushEach(s, 0, 70);
    const b = s.nextBatch(5)!; // 0..4 on the wire
    await s.push([r(70)]); // would drop 0..19, but 0..4 are in flight: bound exceeded for now
    expect([s.dropped, s.pending]).toEqual([0, 71]);
    s.ack(b.seq);
    await s.push([r(71)]); // now 0..19 goes: 0..4 were delivered, 5..19 dropped
    expect([s.dropped, s.pending]).toEqual([15, 52]);
    expect(drain(s)).toEqual(range(20, 72));
  });

  it('age bound: results older than maxAge are dropped and counted, at run time and on open; the count persists', async () => {
    const dir = tmp();
    let now = T0;
    const o = { dir, maxAgeMs: 50_000, segmentBytes: 8 * R, now: () => now };
    const s = openSpool(o);
    await s.push(range(0, 100).map((i) => ({ ...r(0), ts: T0 + i * 1000 })));
    now = T0 + 99_000; // cutoff T0 + 49 s: results 0..48 are too old
    await s.enforceAgeNow();
    expect([s.dropped, s.pending, s.stats.droppedAge]).toEqual([49, 51, 49]);
    expect((s.oldestPendingTs! - T0) / 1000).toBe(49);
    await closeSpool(s);
    now = T0 + 149_000; // cutoff T0 + 99 s: only the last one survives the reopen
    const s2 = openSpool(o);
    expect([s2.dropped, s2.pending]).toEqual([99, 1]);
    expect(drain(s2)).toEqual([99_000]);
    await closeSpool(s2);
    const s3 = openSpool(o);
    expect([s3.dropped, s3.pending]).toEqual([99, 0]);
  });

  it('lanes: after linkUp new results go first, then the backlog oldest first; nack/requeue keep oldest first', async () => {
    const dir = tmp();
    const s = openSpool({ dir, segmentBytes: 6 * R });
    await pushEach(s, 0, 10); // backlog, taken while disconnected
    s.linkUp();
    await s.push([r(10), r(11), r(12)]);
    const live = s.nextBatch(100)!;
    expect(idx(live.results)).toEqual([10, 11, 12]);
    const b1 = s.nextBatch(3)!;
    const b2 = s.nextBatch(3)!;
    expect([idx(b1.results), idx(b2.results)]).toEqual([[0, 1, 2], [3, 4, 5]]);
    s.nack(b2.seq);
    s.nack(b1.seq); // nacked newest first: still handed out oldest first
    expect(idx(s.nextBatch(4)!.results)).toEqual([0, 1, 2, 3]);
    s.requeueUnacked(); // the live batch was never acked either: live lane first again, then the backlog
    expect(drain(s)).toEqual([10, 11, 12, ...range(0, 10)]);
  });

  it('a batch the server refuses as malformed is forgotten and counted dropped, across a reopen', async () => {
    const dir = tmp();
    const s = openSpool({ dir, cursorDelayMs: 5 });
    await pushEach(s, 0, 6);
    const b = s.nextBatch(4)!;
    expect(s.reject(b.seq)).toBe(4);
    expect([s.dropped, s.pending]).toEqual([4, 2]);
    await closeSpool(s);
    const s2 = openSpool({ dir });
    expect([s2.dropped, s2.pending]).toEqual([4, 2]);
    expect(drain(s2)).toEqual([4, 5]);
  });

  it('acks out of order: the cursor only moves over a contiguous prefix (a crash may resend, never lose)', async () => {
    const dir = tmp();
    const s = openSpool({ dir });
    await pushEach(s, 0, 9);
    const a = s.nextBatch(3)!;
    const b = s.nextBatch(3)!;
    s.ack(b.seq);
    expect(s.pending).toBe(6);
    await closeSpool(s); // a not acked: head stays at 0, b (3..5) will be sent again
    const s2 = openSpool({ dir });
    expect(s2.pending).toBe(9);
    expect(drain(s2)).toEqual(range(0, 9));
    void a;
  });
});

describe('Spool behind the real Link', () => {
  it('replays a backlog oldest first at the configured rate, and heartbeats carry spool and clock figures', async () => {
    const dir = tmp();
    const spool = openSpool({ dir });
    const N = 300;
    const RATE = 100;
    await spool.push(range(0, N).map((i) => r(i, `t${i % 3}`)));

    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer, path: '/ws/agent' });
    const got: { ts: number; target: string; at: number }[] = [];
    const hbs: AgentHeartbeat[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const m = agentMessageSchema.parse(JSON.parse(data.toString()));
        const send = (x: object) => ws.send(JSON.stringify({ v: PROTOCOL_VERSION, ...x }));
        if (m.type === 'hello') send({ type: 'plan', rev: 'r', serverTime: Date.now(), heartbeatSec: 1, uplinks: [], targets: [] });
        if (m.type === 'heartbeat') {
          hbs.push(m);
          send({ type: 'pong', clock: m.clock, serverTime: Date.now() + 5000 }); // server clock 5 s ahead
        }
        if (m.type === 'batch') {
          for (const x of m.results) got.push({ ts: x.ts, target: x.target, at: Date.now() });
          send({ type: 'ack', seq: m.seq, accepted: m.results.length });
        }
      });
    });
    await new Promise<void>((res) => httpServer.listen(0, '127.0.0.1', res));
    const link = new Link({
      server: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`,
      agentId: 'a', token: 't', version: 'test', outbox: spool, maxResultsPerSec: RATE, flushDelayMs: 10,
    });
    try {
      const t0 = Date.now();
      link.start();
      while (spool.pending > 0 && Date.now() - t0 < 15_000) await new Promise((res) => setTimeout(res, 20));
      const span = (got.at(-1)!.at - got[0]!.at) / 1000;
      // The first RATE go at once (the bucket's burst), the other N - RATE at RATE/s.
      const measured = (N - RATE) / span;
      console.log(`spool+link replay: ${N} results, ${got.length} received, ${measured.toFixed(1)} results/s after the burst (limit ${RATE}/s)`);
      expect(got.map((x) => x.ts - T0)).toEqual(range(0, N)); // oldest first, each once
      expect(measured).toBeLessThanOrEqual(RATE * 1.1);
      expect(measured).toBeGreaterThan(RATE * 0.6); // 2 shared cores: slower is tolerable, faster is not

      while (hbs.filter((h) => h.offsetMs !== undefined).length < 1 && Date.now() - t0 < 20_000) await new Promise((res) => setTimeout(res, 50));
      await new Promise((res) => setTimeout(res, 1100));
      const hb = hbs.at(-1)!;
      expect(hb).toMatchObject({ pending: 0, dropped: 0, spoolBytes: 0 });
      expect(hb.oldestPendingTs).toBeUndefined();
      // NTP-style estimate on loopback: the +5 s server clock within a few ms
      expect(Math.abs(hb.offsetMs! - 5000)).toBeLessThan(50);
      expect(hb.rttMs!).toBeGreaterThanOrEqual(0);
      expect(hb.rttMs!).toBeLessThan(100);
    } finally {
      await link.stop();
      for (const c of wss.clients) c.terminate();
      await new Promise((res) => wss.close(res));
      await new Promise((res) => httpServer.close(res));
    }
  });
});
