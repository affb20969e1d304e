// Link speed test (QCVN 34) of one uplink, a few times a day (agent/throughput-schedule.ts decides when):
//   1. is the link busy? the uplink interface's byte counters over ~2 s (Linux /proc/net/dev) against busyMbps;
//   2. idle RTT: the median of a few TCP handshakes with the test server (a handshake is one round trip, answered
//      by the server's kernel, so the server's own load does not show in it);
//   3. download, then upload, each for at most directionMs and the test's byte cap, while a handshake every 200 ms
//      measures the RTT under load (the queue the transfer builds up: what a video call on that link would suffer);
//   4. busy again: the interface counted during the test, minus the test's own bytes and overhead.
// Goodput is counted after a warm-up (the first second, or the first half of a shorter transfer): TCP's slow start
// climbs to the link rate over the first round trips and a rate limiter's bucket lets its burst through at line
// rate, so the start would read too low or too high. The upload's goodput is the server's (the receiver's) reading:
// the agent's own writes land in its socket buffer long before they cross the link.
// Every byte is bounded: the download asks the server for at most the test's cap, the upload writes at most what
// the download left of it, and the day's budget is booked before the test and settled with what really moved.
import { randomFillSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import nodeHttp, { type IncomingMessage } from 'node:http';
import nodeHttps from 'node:https';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SPEEDTEST_MAX_BYTES, speedtestUpAnswerSchema } from '../../config/api.ts';
import type { PlanUplink, ThroughputResult } from '../../config/wire.ts';
import { replaceFileSync } from '../atomic-file.ts';
import { decide, EMPTY_BOOK, parseBook, retrySoon, settle, spentBytes, type ScheduleBook } from '../throughput-schedule.ts';
import { sourceAddressFor } from './source.ts';
import { clip, type Probe, type TargetOf } from './types.ts';

export type ThroughputTarget = TargetOf<'throughput'>;

/** the agent's own server: where the test goes when the target names no test server, and the token it takes */
export interface AgentServer {
  /** base URL as the agent connects (http(s):// or ws(s)://) */
  url: string;
  agentId: string;
  token: string;
}

export interface ThroughputProbeOptions {
  server?: AgentServer;
  /** the book (budget, next test times) is kept here as throughput.json; absent: memory only */
  stateDir?: string;
  now?: () => number;
  random?: () => number;
  /** an interface's byte counters; default /proc/net/dev, null where there is none (Windows: the check is skipped) */
  counters?: (iface: string) => Promise<{ rx: number; tx: number } | null>;
  /** how long the link is watched before a test, ms */
  busyWindowMs?: number;
  /** goodput is counted after this, ms */
  warmupMs?: number;
  log?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export const BOOK_FILE = 'throughput.json';
const CHUNK = 64 * 1024;
const RTT_EVERY_MS = 200;
const IDLE_RTT_SAMPLES = 5;
/** after its time, a direction may still drain what the socket buffers hold; past this it is cut */
const DRAIN_MS = 8000;
/**
 * The interface counts the test's own headers and ACKs: about 7 % over the payload on Ethernet (1514-byte frames
 * carrying 1448, an ACK every second segment), less where the NIC coalesces. Up to 8 % of the test's bytes is
 * taken as that overhead; other traffic must exceed busyMbps beyond it.
 */
const OVERHEAD = 0.08;

const r2 = (x: number) => Math.round(x * 100) / 100;
const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Goodput, Mbit/s, of cumulative [ms, bytes] samples from the first byte, after the warm-up (or, for a transfer
 * shorter than two warm-ups, after its first half): the least-squares slope of bytes over time. A slope rather than
 * (last - first) / time because a reader that stalls (a busy CPU, a GC pause) at either end of the window moves
 * that end by a whole stall; the slope through every sample is moved by a fraction of it. null when too little
 * was timed to say.
 */
export function goodputMbps(samples: readonly (readonly [number, number])[], warmupMs: number): number | null {
  if (samples.length < 2) return null;
  const t0 = samples[0]![0];
  const tEnd = samples[samples.length - 1]![0];
  const skip = Math.min(warmupMs, (tEnd - t0) / 2);
  const win = samples.filter(([t]) => t - t0 >= skip);
  if (win.length < 2 || tEnd - win[0]![0] < 50) return null;
  const n = win.length;
  const mt = win.reduce((a, [t]) => a + t, 0) / n;
  const mb = win.reduce((a, [, b]) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, b] of win) {
    num += (t - mt) * (b - mb);
    den += (t - mt) ** 2;
  }
  if (den === 0 || num <= 0) return null;
  return ((num / den) * 8 * 1000) / 1e6;
}

/** Linux: rx/tx bytes of one interface from /proc/net/dev (of this process's network namespace). */
export async function procNetDev(iface: string): Promise<{ rx: number; tx: number } | null> {
  if (process.platform !== 'linux') return null;
  try {
    const text = await readFile('/proc/net/dev', 'utf8');
    for (const line of text.split('\n')) {
      const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
      if (!m || m[1] !== iface) continue;
      const f = m[2]!.trim().split(/\s+/).map(Number);
      return { rx: f[0]!, tx: f[8]! };
    }
  } catch {
    // no procfs: no busy check
  }
  return null;
}

/** The interface holding a local address (where the test's traffic leaves), or null. */
function interfaceOf(address: string | undefined): string | null {
  if (!address) return null;
  const plain = address.replace(/^::ffff:/, '');
  for (const [name, addrs] of Object.entries(networkInterfaces())) if (addrs?.some((a) => a.address === plain)) return name;
  return null;
}

type Fail = { word: 'refused' | 'timeout' | 'dns' | 'reset' | 'uplink' | 'http' | 'busy' | 'aborted' | 'other'; detail: string };
const WORD_BY_CODE: Record<string, Fail['word']> = {
  ECONNREFUSED: 'refused', ETIMEDOUT: 'timeout', ENOTFOUND: 'dns', EAI_AGAIN: 'dns', ECONNRESET: 'reset', EPIPE: 'reset',
  EHOSTUNREACH: 'timeout', ENETUNREACH: 'timeout', EADDRNOTAVAIL: 'uplink',
};
const failOf = (e: unknown, signal: AbortSignal): Fail => {
  if (signal.aborted) return { word: 'aborted', detail: String((signal.reason as Error | undefined)?.message ?? 'stopped') };
  if ((e as Fail)?.word) return e as Fail;
  const code = (e as { code?: string })?.code ?? '';
  return { word: WORD_BY_CODE[code] ?? 'other', detail: (e as Error)?.message ?? String(e) };
};

/** One TCP handshake with the test server, ms (null: none within 3 s). */
function handshake(host: string, port: number, localAddress: string | undefined, signal: AbortSignal): Promise<{ ms: number; local?: string } | null> {
  return new Promise((resolve) => {
    const start = performance.now();
    const sock = net.connect({ host, port, ...(localAddress ? { localAddress } : {}), timeout: 3000 });
    const end = (v: { ms: number; local?: string } | null) => {
      signal.removeEventListener('abort', abort);
      sock.destroy();
      resolve(v);
    };
    const abort = () => end(null);
    signal.addEventListener('abort', abort, { once: true });
    sock.once('connect', () => end({ ms: performance.now() - start, ...(sock.localAddress ? { local: sock.localAddress } : {}) }));
    sock.once('timeout', () => end(null));
    sock.once('error', () => end(null));
  });
}

/** Handshakes every RTT_EVERY_MS until stopped: the RTT while the link is loaded. */
function rttSampler(host: string, port: number, localAddress: string | undefined, signal: AbortSignal, maxSamples: number) {
  const out: number[] = [];
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const loop = (async () => {
    for (let i = 0; i < maxSamples && !both.aborted; i++) {
      const [hs] = await Promise.all([handshake(host, port, localAddress, both), sleep(RTT_EVERY_MS, both)]);
      if (hs && !both.aborted) out.push(hs.ms);
    }
  })();
  return {
    samples: out,
    async stop() {
      stop.abort();
      await loop;
    },
  };
}

interface Endpoint {
  base: URL;
  headers: Record<string, string>;
  host: string;
  port: number;
}

function endpointOf(t: ThroughputTarget, server: AgentServer | undefined): Endpoint | null {
  let base: URL;
  let headers: Record<string, string> = {};
  if (t.url) base = new URL(t.url.replace(/\/+$/, ''));
  else if (server) {
    base = new URL(`${server.url.replace(/^ws/, 'http').replace(/\/+$/, '')}/api/agent/speedtest`);
    // the agent's token goes to its own server only, never to a test server named in a target
    headers = { authorization: `Bearer ${server.token}`, 'x-agent-id': server.agentId };
  } else return null;
  const port = Number(base.port) || (base.protocol === 'https:' ? 443 : 80);
  return { base, headers, host: base.hostname.replace(/^\[|\]$/g, ''), port };
}

const transport = (u: URL) => (u.protocol === 'https:' ? nodeHttps : nodeHttp);

/** Retry-After of a 429 in words, or a status as an http failure. */
function refusal(res: IncomingMessage): Fail {
  res.resume();
  if (res.statusCode === 429) return { word: 'busy', detail: `test server full (retry after ${res.headers['retry-after'] ?? '?'} s)` };
  return { word: 'http', detail: `status ${res.statusCode}` };
}

interface Leg {
  /** goodput, Mbit/s */
  mbps: number | null;
  /** bytes that crossed (download: received; upload: as the server counted, else written) */
  bytes: number;
  /** bytes this leg may have moved at most (what the daily budget is charged when the leg was cut) */
  charged: number;
}

async function download(ep: Endpoint, cap: number, t: ThroughputTarget, local: string | undefined, warmupMs: number, signal: AbortSignal): Promise<Leg> {
  const url = new URL(`${ep.base.pathname}/down`, ep.base);
  url.search = `bytes=${cap}&ms=${t.directionMs}`;
  return new Promise<Leg>((resolve, reject) => {
    const samples: [number, number][] = [];
    let bytes = 0;
    let settled = false;
    const hard = setTimeout(() => finish(true), t.directionMs + DRAIN_MS);
    const onAbort = () => finish(true, true);
    signal.addEventListener('abort', onAbort, { once: true });
    const req = transport(url).get(url, { agent: false, headers: ep.headers, ...(local ? { localAddress: local } : {}) }, (res) => {
      if (res.statusCode !== 200) return fail(refusal(res));
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        const now = performance.now();
        // one sample per 10 ms at most: bounded memory at any rate
        if (samples.length === 0 || now - samples[samples.length - 1]![0] >= 10) samples.push([now, bytes]);
        else samples[samples.length - 1]![1] = bytes;
      });
      res.on('end', () => finish(false));
      res.on('error', (e) => (bytes > 0 ? finish(true) : fail(e)));
    });
    req.on('error', (e) => (bytes > 0 ? finish(true) : fail(e)));
    function cleanup() {
      settled = true;
      clearTimeout(hard);
      signal.removeEventListener('abort', onAbort);
    }
    function fail(e: unknown) {
      if (settled) return;
      cleanup();
      req.destroy();
      reject(e);
    }
    function finish(cut: boolean, aborted = false) {
      if (settled) return;
      cleanup();
      req.destroy();
      if (aborted && bytes === 0) return reject(failOf(null, signal));
      // cut short: the server may have sent up to the cap; count that against the budget
      resolve({ mbps: goodputMbps(samples, warmupMs), bytes, charged: cut ? cap : bytes });
    }
  });
}

async function upload(ep: Endpoint, cap: number, t: ThroughputTarget, local: string | undefined, warmupMs: number, signal: AbortSignal): Promise<Leg> {
  const url = new URL(`${ep.base.pathname}/up`, ep.base);
  return new Promise<Leg>((resolve, reject) => {
    let written = 0;
    let settled = false;
    let writing = true;
    const hard = setTimeout(() => done(null), t.directionMs + DRAIN_MS);
    const onAbort = () => done(null);
    signal.addEventListener('abort', onAbort, { once: true });
    const req = transport(url).request(url, {
      method: 'POST', agent: false, headers: { ...ep.headers, 'content-type': 'application/octet-stream' }, ...(local ? { localAddress: local } : {}),
    });
    req.on('response', (res) => {
      writing = false;
      if (res.statusCode !== 200) return fail(refusal(res));
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.length < 64 && parts.push(c));
      res.on('end', () => {
        const a = speedtestUpAnswerSchema.safeParse((() => {
          try {
            return JSON.parse(Buffer.concat(parts).toString('utf8'));
          } catch {
            return null;
          }
        })());
        if (!a.success) return fail({ word: 'http', detail: 'the upload answer is not a speed test answer' } satisfies Fail);
        done(a.data);
      });
      res.on('error', fail);
    });
    req.on('error', (e) => (written > 0 && !writing ? done(null) : fail(e)));
    const stop = () => {
      if (!writing || settled) return;
      writing = false;
      req.end();
    };
    // the time limit holds while the socket is full too
    const timeUp = setTimeout(stop, t.directionMs);
    const pump = () => {
      while (writing && !settled) {
        if (written >= cap) return stop();
        const n = Math.min(CHUNK, cap - written);
        written += n;
        if (!req.write(randomFillSync(Buffer.allocUnsafe(n)))) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
    function cleanup() {
      settled = true;
      writing = false;
      clearTimeout(hard);
      clearTimeout(timeUp);
      signal.removeEventListener('abort', onAbort);
    }
    function fail(e: unknown) {
      if (settled) return;
      cleanup();
      req.destroy();
      // what was written may have crossed: the caller charges it
      reject(Object.assign(failOf(e, signal), { written }));
    }
    function done(a: { bytes: number; samples: [number, number][] } | null) {
      if (settled) return;
      cleanup();
      req.destroy();
      if (!a) {
        if (signal.aborted && written === 0) return reject(failOf(null, signal));
        // no answer: what was written may have crossed; no reading without the receiver's count
        return resolve({ mbps: null, bytes: written, charged: written });
      }
      resolve({ mbps: goodputMbps(a.samples, warmupMs), bytes: a.bytes, charged: Math.max(a.bytes, written) });
    }
  });
}

export function createThroughputProbe(opts: ThroughputProbeOptions = {}): Probe<ThroughputTarget> & { readonly options: ThroughputProbeOptions } {
  const now = () => (opts.now ?? Date.now)();
  const random = () => (opts.random ?? Math.random)();
  const counters = (iface: string) => (opts.counters ?? procNetDev)(iface);
  /** bookings made by due() for the run() that follows: key -> booking */
  const tickets = new Map<string, { id: string; cap: number }>();
  let book: ScheduleBook | undefined;
  let saved = '';

  const file = () => (opts.stateDir ? join(opts.stateDir, BOOK_FILE) : undefined);
  const load = (): ScheduleBook => {
    if (book) return book;
    const f = file();
    let text: string | undefined;
    try {
      text = f ? readFileSync(f, 'utf8') : undefined;
    } catch {
      text = undefined;
    }
    book = parseBook(text);
    saved = JSON.stringify(book);
    return book;
  };
  const store = (b: ScheduleBook) => {
    book = b;
    const text = JSON.stringify(b);
    const f = file();
    if (!f || text === saved) return;
    try {
      replaceFileSync(f, `${text}\n`, { mode: 0o600, fsync: true });
      saved = text;
    } catch (e) {
      // kept in memory; a restart then forgets this day's bytes, so say it
      opts.log?.warn({ file: f, err: (e as Error).message }, 'speed test book not saved');
    }
  };
  const keyOf = (t: ThroughputTarget, uplink: string | undefined) => `${t.id}\u0000${uplink ?? ''}`;

  const failure = (target: ThroughputTarget, ts: number, message: string): ThroughputResult => ({
    target: target.id,
    ts,
    kind: 'throughput',
    ok: false,
    down_mbps: null,
    up_mbps: null,
    loaded_rtt_ms: null,
    duration_ms: null,
    bytes: 0,
    error: clip(/^(timeout|aborted)/.test(message) ? message : `other: ${message}`),
  });

  const probe: Probe<ThroughputTarget> & { readonly options: ThroughputProbeOptions } = {
    kind: 'throughput',
    options: opts,
    failure,
    due(t, uplink, at) {
      // without a test server to go to (an agent not told its own), nothing is due: nothing made up either
      if (!endpointOf(t, opts.server)) return false;
      const key = keyOf(t, uplink);
      const d = decide(key, at, load(), t, random);
      store(d.book);
      if (d.due) tickets.set(key, { id: d.id, cap: d.capBytes });
      return d.due;
    },
    async run(t, ctx) {
      const ts = now();
      const started = performance.now();
      let key = keyOf(t, ctx.uplink?.name);
      let ticket = tickets.get(key);
      // the scheduler books under the uplink's label, which a lone uplink without binding does not pass as ctx.uplink
      const booked = ticket ? key : [...tickets.keys()].find((k) => k.startsWith(`${t.id}\u0000`));
      if (booked !== undefined) {
        key = booked;
        ticket = tickets.get(booked);
        tickets.delete(booked);
      }
      // run without a booking (a test, or a scheduler without due()): booked now, within the same budget
      if (!ticket) {
        const b = load();
        const cap = Math.min(t.maxBytes, t.dailyBytes - spentBytes(b, ts));
        if (cap <= 0) return { ...failure(t, ts, ''), error: 'budget: the last 24 hours used the daily test bytes' };
        ticket = { id: `${key}@${ts}`, cap };
        store({ ...b, spent: [...b.spent, { id: ticket.id, at: ts, bytes: cap }] });
      }
      const { id, cap } = ticket;
      let moved = 0;
      const result = (f: Partial<ThroughputResult>, error?: Fail): ThroughputResult => ({
        target: t.id, ts, kind: 'throughput', ok: !error, down_mbps: null, up_mbps: null, loaded_rtt_ms: null,
        duration_ms: Math.round(performance.now() - started), bytes: 0, ...f, ...(error ? { error: clip(`${error.word}: ${error.detail}`) } : {}),
      });
      const putOff = () => store(retrySoon(key, now(), load(), t, random));

      const ep = endpointOf(t, opts.server);
      if (!ep) return result({}, { word: 'other', detail: 'no test server (target url, or the agent\u2019s own server)' });
      const local = sourceAddressFor(ctx.uplink as PlanUplink | undefined, net.isIP(ep.host) === 6 ? 6 : 4);
      if (local instanceof Error) {
        store(settle(load(), id, 0));
        return result({}, { word: 'uplink', detail: local.message });
      }
      const signal = ctx.signal;
      try {
        // 1. idle RTT; the first handshake also tells which interface carries the test
        const idle: number[] = [];
        let iface: string | null = null;
        for (let i = 0; i < IDLE_RTT_SAMPLES && !signal.aborted; i++) {
          const hs = await handshake(ep.host, ep.port, local, signal);
          if (hs) {
            idle.push(hs.ms);
            iface ??= interfaceOf(hs.local);
          }
          await sleep(50, signal);
        }
        if (signal.aborted) throw failOf(null, signal);
        if (idle.length === 0) throw { word: 'timeout', detail: `no TCP handshake with ${ep.host}:${ep.port}` } satisfies Fail;
        const idle_rtt_ms = r2(median(idle)!);
        // a test to this machine itself crosses no link (and loopback counts every byte twice): nothing to watch
        const watch = iface && iface !== 'lo' ? iface : null;

        // 2. busy before: other traffic on the uplink now
        const window = opts.busyWindowMs ?? 2000;
        const c0 = watch ? await counters(watch) : null;
        if (c0) {
          const w0 = performance.now();
          await sleep(window, signal);
          const c1 = await counters(watch!);
          if (signal.aborted) throw failOf(null, signal);
          const mbps = c1 ? ((c1.rx - c0.rx + (c1.tx - c0.tx)) * 8) / ((performance.now() - w0) / 1000) / 1e6 : 0;
          if (mbps > t.busyMbps) {
            store(settle(load(), id, 0));
            putOff();
            return result({ idle_rtt_ms }, { word: 'busy', detail: `${r2(mbps)} Mbit/s of other traffic on ${watch} before the test` });
          }
        }

        // 3. download, then upload with what the download left of the cap, each with handshakes alongside
        const warmupMs = opts.warmupMs ?? 1000;
        const before = watch ? await counters(watch) : null;
        const t0 = performance.now();
        const maxRtt = Math.ceil((t.directionMs + DRAIN_MS) / RTT_EVERY_MS);
        const loaded: number[] = [];
        let rtt = rttSampler(ep.host, ep.port, local, signal, maxRtt);
        let down: Leg;
        // each direction within the server's limit per request: a larger download ask is refused, and an upload past it
        // is cut off mid-body (the agent saw a write EPIPE when loopback outran the limit)
        const downCap = Math.min(SPEEDTEST_MAX_BYTES, Math.floor(cap / 2) || 1);
        try {
          down = await download(ep, downCap, t, local, warmupMs, signal);
        } catch (e) {
          // refused with a status: nothing was sent; any other failure may have come after the server started
          const f = failOf(e, signal);
          if (f.word !== 'busy' && f.word !== 'http') moved += downCap;
          throw f;
        } finally {
          await rtt.stop();
          loaded.push(...rtt.samples);
        }
        moved += down.charged;
        rtt = rttSampler(ep.host, ep.port, local, signal, maxRtt);
        let up: Leg;
        try {
          up = await upload(ep, Math.min(SPEEDTEST_MAX_BYTES, Math.max(1, cap - down.charged)), t, local, warmupMs, signal);
        } catch (e) {
          moved += (e as { written?: number }).written ?? cap - down.charged;
          const f = failOf(e, signal);
          if (f.word === 'busy') putOff();
          store(settle(load(), id, moved));
          return result({ down_mbps: down.mbps === null ? null : r2(down.mbps), idle_rtt_ms, bytes: down.bytes }, f);
        } finally {
          await rtt.stop();
          loaded.push(...rtt.samples);
        }
        moved += up.charged;
        store(settle(load(), id, moved));
        const bytes = down.bytes + up.bytes;

        // 4. busy during: what the interface carried beyond the test's own bytes and their overhead
        const after = watch ? await counters(watch) : null;
        if (before && after) {
          const secs = (performance.now() - t0) / 1000;
          const other = after.rx - before.rx + (after.tx - before.tx) - bytes * (1 + OVERHEAD);
          const mbps = (other * 8) / secs / 1e6;
          if (mbps > t.busyMbps) {
            putOff();
            return result({ idle_rtt_ms, bytes }, { word: 'busy', detail: `${r2(mbps)} Mbit/s of other traffic on ${watch} during the test` });
          }
        }
        const figures = {
          down_mbps: down.mbps === null ? null : r2(down.mbps),
          up_mbps: up.mbps === null ? null : r2(up.mbps),
          loaded_rtt_ms: loaded.length ? r2(median(loaded)!) : null,
          idle_rtt_ms,
          bytes,
        };
        if (figures.down_mbps === null || figures.up_mbps === null)
          return result(figures, { word: 'other', detail: `too little data timed (${down.bytes} bytes down, ${up.bytes} up)` });
        return result(figures);
      } catch (e) {
        const f = failOf(e, signal);
        if (f.word === 'busy') putOff();
        store(settle(load(), id, moved));
        return result({ bytes: 0 }, f);
      }
    },
  };
  return probe;
}

/** The registry's probe: told the agent's own server and state dir once the agent knows them (agent/cli/run.ts). */
export const throughput = createThroughputProbe();

/** Point the registry's probe at the agent's server and state dir (until then no speed test is ever due). */
export function configureThroughput(o: Pick<ThroughputProbeOptions, 'server' | 'stateDir' | 'log'>): void {
  Object.assign(throughput.options, o);
}
