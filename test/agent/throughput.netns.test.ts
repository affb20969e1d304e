// The speed test against a link limited with `tc tbf` (this kernel has no netem): the agent in the root namespace,
// bound to its end of a veth; the real speed test routes in the namespace (test/agent/throughput-peer.ts).
// Both directions are limited: tbf on the namespace's end shapes the download, on the root end the upload.
//
// What tbf lets through is L2 bytes: a full segment is a 1514-byte frame (14 Ethernet + 20 IP + 32 TCP with
// timestamps) carrying 1448 payload bytes, so the goodput of a `rate R` link is R x 1448/1514 = 0.956 R. The
// tolerance around that, -8 % / +4 %: above, only the bucket's burst (16 kB, 0.1 % of a 6 s transfer) can add; below,
// the warm-up removes slow start, but ACK/retransmission after the queue overflows (tbf drops at its 50 ms limit),
// timer grain on a loaded 2-core machine and the few bytes of the RTT handshakes cost a few percent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlanTarget, PlanUplink, ThroughputResult } from '../../config/wire.ts';
import { BOOK_FILE, createThroughputProbe, procNetDev } from '../../agent/probes/throughput.ts';
import { mulberry32 } from '../../agent/simulator/model.ts';
import { parseBook, spentBytes } from '../../agent/throughput-schedule.ts';
import { createHost, skipWithoutNetns, startService, type NetnsHost, type Service } from '../helpers/netns.ts';

const skip = skipWithoutNetns('throughput netns tests');
const TOKEN = 'tok-speed';
const PORT = 8087;
const SEG = 1448 / 1514;

type Target = Extract<PlanTarget, { kind: 'throughput' }>;
let host: NetnsHost;
let peer: Service;
let stateDir: string;
let uplink: PlanUplink;

const target = (o: Partial<Target> = {}): Target => ({
  id: 'speed', kind: 'throughput', intervalSec: 300, timeoutMs: 60_000,
  directionMs: 6000, maxBytes: 40e6, dailyBytes: 400e6, testsPerDay: 4,
  windows: [[0, 0]], blocked: [], tzOffsetMin: 420, busyMbps: 1.5, ...o,
});

function limit(rate: string) {
  const args = ['root', 'tbf', 'rate', rate, 'burst', '16kb', 'latency', '50ms'];
  host.exec('tc', 'qdisc', 'replace', 'dev', host.nsIf, ...args);
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  execFileSync('tc', ['qdisc', 'replace', 'dev', host.hostIf, ...args]);
}

/** what the server moved since line `from` of its log */
function served(from: number): { down: number; up: number; transfers: number } {
  const out = { down: 0, up: 0, transfers: 0 };
  for (const l of peer.lines.slice(from)) {
    if (!l.startsWith('{')) continue;
    const t = JSON.parse(l) as { direction: 'down' | 'up'; bytes: number };
    out[t.direction] += t.bytes;
    out.transfers++;
  }
  return out;
}

/** other traffic on the link: a download bound to the agent's address, read until stopped */
function background(): { stop(): void; bytes: () => number } {
  let n = 0;
  const req = request({
    host: host.nsIp, port: PORT, path: '/api/agent/speedtest/down?bytes=100000000&ms=30000', localAddress: host.hostIp, agent: false,
    headers: { authorization: `Bearer ${TOKEN}`, 'x-agent-id': 'other' },
  }, (res) => res.on('data', (c: Buffer) => (n += c.byteLength)));
  req.on('error', () => {});
  req.end();
  return { stop: () => req.destroy(), bytes: () => n };
}

const run = (probe: ReturnType<typeof createThroughputProbe>, t: Target) =>
  probe.run(t, { signal: AbortSignal.timeout(t.timeoutMs), uplink }) as Promise<ThroughputResult>;

beforeAll(async () => {
  if (skip) return;
  host = createHost({ name: 'speed' });
  uplink = { name: 'wan1', carrier: 'vnpt', sourceAddress: host.hostIp };
  peer = await startService(host, process.execPath, ['--import', 'tsx', 'test/agent/throughput-peer.ts', host.nsIp, String(PORT), TOKEN], 'speed test peer');
  stateDir = mkdtempSync(join(tmpdir(), 'ioc-speed-'));
}, 60_000);

afterAll(async () => {
  await peer?.stop();
  host?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe.skipIf(skip)('throughput probe over a tbf-limited link', () => {
  const probeFor = () =>
    createThroughputProbe({ server: { url: `http://${host.nsIp}:${PORT}`, agentId: 'ag-speed', token: TOKEN }, stateDir });

  it.each([
    ['10mbit', 10],
    ['4mbit', 4],
  ] as const)('a link limited to %s reads its rate (x 1448/1514) both ways; the RTT under load shows the queue', async (rate, mbit) => {
    limit(rate);
    const from = peer.lines.length;
    const r = await run(probeFor(), target());
    const expected = mbit * SEG;
    console.log(`[throughput] tbf ${rate}: down ${r.down_mbps} up ${r.up_mbps} Mbit/s (expected ${expected.toFixed(3)}), idle RTT ${r.idle_rtt_ms} ms, loaded ${r.loaded_rtt_ms} ms, ${r.bytes} bytes in ${r.duration_ms} ms`);
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    for (const v of [r.down_mbps!, r.up_mbps!]) {
      expect(v).toBeGreaterThan(expected * 0.92);
      expect(v).toBeLessThan(expected * 1.04);
    }
    // the tbf queue (50 ms at most) fills under load; idle, the veth answers in under a millisecond (a few on a
    // loaded machine, whose event loops are in every handshake's time)
    expect(r.idle_rtt_ms!).toBeLessThan(25);
    expect(r.loaded_rtt_ms!).toBeGreaterThan(r.idle_rtt_ms! + 5);
    expect(r.loaded_rtt_ms!).toBeLessThan(200);
    // the payload the server moved is what the result says
    const s = served(from);
    expect(s.down + s.up).toBe(r.bytes);
  }, 90_000);

  it('a test never moves more than its cap, and the day never more than its budget (counted by the server)', async () => {
    limit('10mbit');
    const dir = mkdtempSync(join(tmpdir(), 'ioc-speed-budget-'));
    try {
      // tests due about every 30 min, so the budget, not the draw, is what stops them
      const t = target({ maxBytes: 3e6, dailyBytes: 7e6, directionMs: 4000, testsPerDay: 48 });
      let now = Date.UTC(2026, 11, 5, 16); // 23:00 in Vietnam
      const server = { url: `http://${host.nsIp}:${PORT}`, agentId: 'ag-speed', token: TOKEN };
      const probe = createThroughputProbe({ server, stateDir: dir, now: () => now, random: mulberry32(11) });
      const from = peer.lines.length;
      const results: ThroughputResult[] = [];
      // the agent's checks every 5 minutes: due() books, run() measures
      for (let i = 0; i < 288 && results.length < 3; i++, now += 300_000) {
        if (!probe.due!(t, uplink.name, now)) continue;
        const before = peer.lines.length;
        const r = await run(probe, t);
        results.push(r);
        const s = served(before);
        expect(s.down + s.up).toBeLessThanOrEqual(t.maxBytes);
      }
      const total = served(from);
      console.log(`[throughput] budget 7 MB/day, 3 MB/test: ${results.length} tests, server moved ${total.down + total.up} bytes (${results.map((r) => r.bytes).join(', ')})`);
      // 3 + 3 + 1 MB: the third test gets what is left (at least a quarter of a usual test)
      expect(results.length).toBe(3);
      expect(total.down + total.up).toBeLessThanOrEqual(t.dailyBytes);
      expect(results.map((r) => r.bytes)).toEqual([3e6, 3e6, 1e6]);
      for (const r of results) expect(r.ok, r.error).toBe(true);
      // then nothing until the first test leaves the 24 hours, after a restart too (the same book)
      const again = createThroughputProbe({ server, stateDir: dir, now: () => now, random: mulberry32(12) });
      let due = 0;
      for (; now < results[0]!.ts + 24 * 3_600_000 - 300_000; now += 300_000) if (again.due!(t, uplink.name, now)) due++;
      expect(due).toBe(0);
      // once it has left, 3 MB are free again and a test comes due, booked within the budget
      now = results[0]!.ts + 24 * 3_600_000;
      let came = false;
      for (let i = 0; i < 48 && !came; i++, now += 300_000) came = again.due!(t, uplink.name, now);
      expect(came).toBe(true);
      expect(spentBytes(parseBook(readFileSync(join(dir, BOOK_FILE), 'utf8')), now)).toBeLessThanOrEqual(t.dailyBytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('other traffic on the link: the test is put off before it starts, or aborted while it runs (not a measurement)', async () => {
    limit('10mbit');
    const bg = background();
    try {
      await new Promise((ok) => setTimeout(ok, 1000));
      const from = peer.lines.length;
      const r = await run(probeFor(), target());
      console.log(`[throughput] busy before: ${r.error}`);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/^busy: .* before the test/);
      expect(r.down_mbps).toBeNull();
      expect(r.bytes).toBe(0);
      // nothing of the test reached the server (only the background download, still running)
      expect(served(from).transfers).toBe(0);
    } finally {
      bg.stop();
    }
    await new Promise((ok) => setTimeout(ok, 500));

    // starts on a quiet link; another download joins once the test's own download is under way
    let late: ReturnType<typeof background> | undefined;
    const rx0 = (await procNetDev(host.hostIf))!.rx;
    let polls = 0;
    const timer = setInterval(() => {
      void procNetDev(host.hostIf).then((c) => {
        if (!late && (c!.rx - rx0 > 500_000 || ++polls > 400)) late = background();
      });
    }, 50);
    try {
      const r = await run(probeFor(), target());
      console.log(`[throughput] busy during: ${r.error} (bytes ${r.bytes})`);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/^busy: .* during the test/);
      expect(r.down_mbps).toBeNull();
      expect(r.bytes).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
      late?.stop();
    }
  }, 90_000);
});
