// ICMP round: N echoes through the system `ping` (via the `ping` package), figures computed from the
// per-echo RTTs. The agent only reports figures; whether 1 reply out of 10 is "up" is the server's call.
import net from 'node:net';
import ping from 'ping';
import type { IcmpResult } from '../../config/wire.ts';
import { deadline } from './deadline.ts';
import { sourceAddressFor } from './source.ts';
import { clip, type Probe, type TargetOf } from './types.ts';

export type IcmpTarget = TargetOf<'icmp'>;

// ---- pure parsing --------------------------------------------------------------------------

export interface ParsedPing {
  /** echo requests sent (from the summary line; best guess when ping was cut short) */
  sent: number;
  /** echo replies received (duplicates not counted) */
  received: number;
  /** per echo in sequence order, ms; null = no reply. Absent when the output had no per-echo lines. */
  rtts?: (number | null)[];
  /** lines where ping explains a failure (unknown host, unreachable, ...), deduplicated */
  errors: string[];
}

// iputils / BusyBox / macOS: `64 bytes from 10.0.0.1: icmp_seq=3 ttl=64 time=0.045 ms` (older iputils: icmp_req)
const UNIX_REPLY = /\b(?:icmp_seq|icmp_req|seq)=(\d+)\b.*?\btime[=<]\s*([\d.]+)\s*ms/;
const UNIX_SUMMARY = /(\d+) packets transmitted, (\d+) (?:packets )?received/;
// `From 10.0.0.1 icmp_seq=1 Destination Host Unreachable`, `ping: unknown host x`, `ping: sendmsg: ...`
const UNIX_ERROR = /^(?:From \S+ (?:icmp_seq=\d+ )?(.+)|ping: (.+))$/;

// Windows words are translated (Reply from / Antwort von / Réponse de, time / Zeit / temps / время),
// so its output is read by shape, not by words:
//   header line ending in ':'; then exactly one line per echo up to a blank line; then statistics
//   whose packet line has three `= n` counts (Sent, Received, Lost in the local language).
// A reply is an echo line with a `=12ms` / `<1ms` figure (мс in Russian); any other echo line is a loss.
const WIN_SUMMARY = /=\s*(\d+)\s*[,，、]\s*[^=]*?=\s*(\d+)\s*[,，、]\s*[^=]*?=\s*(\d+)/;
const WIN_TIME = /([=<])\s*(\d+(?:[.,]\d+)?)\s*(?:ms|мс)(?=[\s.,]|$)/i;
// Loss lines that are plain timeouts, not errors (as iputils prints nothing for a lost echo).
const WIN_TIMED_OUT =
  /^(?:Request timed out|Zeitüberschreitung der Anforderung|D[ée]lai d.attente de la demande d[ée]pass[ée]|Превышен интервал ожидания|要求がタイムアウトしました|请求超时|Tiempo de espera agotado)/i;

/** Guess the output's platform: Windows prints `TTL=` in capitals and `= n` counts in its summary. */
function looksWindows(lines: readonly string[]): boolean {
  return lines.some((l) => /\bTTL=\d+/.test(l) || (WIN_SUMMARY.test(l) && !UNIX_SUMMARY.test(l)));
}

function parseWindows(lines: readonly string[]): ParsedPing {
  const ordered: (number | null)[] = [];
  const errors = new Set<string>();
  let summary: { sent: number; received: number } | undefined;
  let state: 'before' | 'echoes' | 'after' = 'before';
  let firstText: string | undefined;
  for (const line of lines) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(WIN_SUMMARY))) {
      summary = { sent: Number(m[1]), received: Number(m[2]) };
      state = 'after';
      continue;
    }
    if (state === 'before') {
      if (line && firstText === undefined) firstText = line;
      if (/:$/.test(line)) state = 'echoes';
      continue;
    }
    if (state === 'echoes') {
      if (!line) {
        if (ordered.length > 0) state = 'after';
        continue;
      }
      if ((m = line.match(WIN_TIME))) {
        // `time<1ms`: the true value is in [0, 1); report the midpoint rather than 0 or 1
        const v = Number(m[2]!.replace(',', '.'));
        ordered.push(m[1] === '<' ? v / 2 : v);
      } else {
        ordered.push(null);
        // "Reply from 10.0.0.9: Destination host unreachable.", "General failure." explain why.
        if (!WIN_TIMED_OUT.test(line)) errors.add(line.replace(/\.$/, ''));
      }
    }
  }
  // "Ping request could not find host x." and similar: no header, the first line says why.
  if (state === 'before' && firstText) errors.add(firstText.replace(/\.$/, ''));
  const len = summary?.sent ?? ordered.length;
  const rtts = len > 0 ? Array.from({ length: len }, (_, i) => ordered[i] ?? null) : undefined;
  const sent = summary?.sent ?? ordered.length;
  // Windows counts "Destination host unreachable" replies as received: trust the per-echo lines.
  const received = rtts ? rtts.filter((r) => r !== null).length : 0;
  return rtts ? { sent, received, rtts, errors: [...errors] } : { sent, received, errors: [...errors] };
}

function parseUnix(lines: readonly string[], seqBase?: 0 | 1): ParsedPing {
  const bySeq = new Map<number, number>();
  const errors = new Set<string>();
  let summary: { sent: number; received: number } | undefined;

  for (const line of lines) {
    if (!line) continue;
    if (/\(DUP!\)/.test(line)) continue; // a duplicate reply is not a second echo
    let m: RegExpMatchArray | null;
    if ((m = line.match(UNIX_REPLY))) {
      const seq = Number(m[1]);
      if (!bySeq.has(seq)) bySeq.set(seq, Number(m[2]));
    } else if ((m = line.match(UNIX_SUMMARY))) {
      summary = { sent: Number(m[1]), received: Number(m[2]) };
    } else if ((m = line.match(UNIX_ERROR))) {
      errors.add((m[1] ?? m[2] ?? line).trim());
    }
  }

  let rtts: (number | null)[] | undefined;
  if (bySeq.size > 0) {
    const base = seqBase ?? (bySeq.has(0) ? 0 : 1);
    const maxIdx = Math.max(...bySeq.keys()) - base;
    const len = summary?.sent ?? maxIdx + 1;
    rtts = Array.from({ length: len }, (_, i) => bySeq.get(i + base) ?? null);
  } else if (summary && summary.received === 0) {
    rtts = Array.from({ length: summary.sent }, () => null);
  }
  const sent = summary?.sent ?? rtts?.length ?? 0;
  if (sent === 0 && errors.size === 0) {
    const first = lines.find((l) => l);
    if (first) errors.add(first);
  }
  const received = rtts ? rtts.filter((r) => r !== null).length : (summary?.received ?? 0);
  return rtts ? { sent, received, rtts, errors: [...errors] } : { sent, received, errors: [...errors] };
}

/**
 * Parse raw ping output: iputils (Linux), BusyBox/macOS style, and Windows in any display language.
 * `seqBase` is the first icmp_seq the platform uses: iputils starts at 1, macOS/BusyBox at 0
 * (guessed from the output when not given). `format` is guessed from the output when not given.
 */
export function parsePingOutput(output: string, opts: { seqBase?: 0 | 1; format?: 'unix' | 'windows' } = {}): ParsedPing {
  const lines = output.split(/\r?\n/).map((l) => l.trim());
  const windows = opts.format ? opts.format === 'windows' : looksWindows(lines);
  return windows ? parseWindows(lines) : parseUnix(lines, opts.seqBase);
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export interface RttStats {
  rtt_min: number | null;
  rtt_median: number | null;
  rtt_avg: number | null;
  rtt_max: number | null;
  /** mean absolute difference of consecutive received RTTs (sequence order), ms */
  jitter: number | null;
}

/** Figures of one round from per-echo RTTs (nulls = lost echoes, skipped). */
export function rttStats(rtts: readonly (number | null)[]): RttStats {
  const got = rtts.filter((r): r is number => r !== null);
  if (got.length === 0) return { rtt_min: null, rtt_median: null, rtt_avg: null, rtt_max: null, jitter: null };
  const sorted = [...got].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  let diff = 0;
  for (let i = 1; i < got.length; i++) diff += Math.abs(got[i]! - got[i - 1]!);
  return {
    rtt_min: sorted[0]!,
    rtt_median: round3(median),
    rtt_avg: round3(got.reduce((a, b) => a + b, 0) / got.length),
    rtt_max: sorted[sorted.length - 1]!,
    jitter: got.length > 1 ? round3(diff / (got.length - 1)) : null,
  };
}

/** Turn parsed ping output into the wire result. */
export function icmpResultFrom(target: { id: string }, ts: number, parsed: ParsedPing): IcmpResult {
  const { sent, received, rtts, errors } = parsed;
  const result: IcmpResult = {
    target: target.id,
    ts,
    kind: 'icmp',
    sent,
    received,
    loss: sent > 0 ? round3(((sent - received) / sent) * 100) : 100,
    ...(rtts ? rttStats(rtts) : { rtt_min: null, rtt_median: null, rtt_avg: null, rtt_max: null, jitter: null }),
  };
  if (rtts) result.rtts = rtts;
  if (sent === 0) result.error = clip(errors[0] ?? 'ping sent no echo request');
  else if (errors.length > 0) result.error = clip(errors.join('; '));
  return result;
}

// ---- the probe ----------------------------------------------------------------------------

export interface IcmpProbeOptions {
  /**
   * Lower bound for the spacing between echoes. iputils refuses intervals < 200 ms unless root, so
   * 200 is the default; tests running as root lower it to send hundreds of echoes in a few seconds.
   */
  minSpacingMs?: number;
  /** how long ping waits for a reply after the last echo, seconds (late = lost) */
  maxWaitSec?: number;
}

function failure(target: IcmpTarget, ts: number, message: string): IcmpResult {
  return {
    target: target.id,
    ts,
    kind: 'icmp',
    sent: 0,
    received: 0,
    loss: 100,
    rtt_min: null,
    rtt_median: null,
    rtt_avg: null,
    rtt_max: null,
    jitter: null,
    error: clip(message),
  };
}

const ABORTED = Symbol('aborted');
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

export function createIcmpProbe(opts: IcmpProbeOptions = {}): Probe<IcmpTarget> {
  const minSpacing = opts.minSpacingMs ?? 200;
  const maxWait = opts.maxWaitSec ?? 2;
  const windows = process.platform === 'win32';
  return {
    kind: 'icmp',
    failure,
    async run(target, ctx) {
      const ts = Date.now();
      const count = Math.min(1000, Math.max(1, Math.trunc(target.count)));
      // Windows ping has no interval option (its -i is the TTL): echoes go about 1 s apart.
      const spacing = windows ? 1000 : Math.max(minSpacing, target.spacingMs);
      // Size ping's wait so a round normally ends inside its deadline; the AbortSignal is the hard stop.
      const waitSec = Math.min(maxWait, Math.max(1, Math.floor((target.timeoutMs - (count - 1) * spacing) / 1000)));
      // iputils -I takes an interface or an address; Windows -S only an address.
      let bind: string | undefined;
      if (windows) {
        const a = sourceAddressFor(ctx.uplink, net.isIP(target.host) === 6 ? 6 : 4);
        if (a instanceof Error) return failure(target, ts, a.message);
        bind = a;
      } else bind = ctx.uplink?.interface ?? ctx.uplink?.sourceAddress;
      const limit = deadline(ctx.signal, target.timeoutMs);
      try {
        const { signal } = limit;
        // No -w deadline: with -w, iputils keeps sending past -c until `count` replies arrive, which
        // would turn a lossy link into more echoes instead of a loss figure.
        const res = await raceAbort(
          ping.promise.probe(target.host, {
            numeric: true,
            timeout: waitSec,
            min_reply: count,
            ...(bind ? { sourceAddr: bind } : {}),
            extra: windows ? [] : ['-i', (spacing / 1000).toFixed(3)],
          }),
          signal,
        ).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
        // The ping package cannot kill its child: on abort the child still ends by itself after
        // (count-1)*spacing + waitSec, so a timed-out round leaves no process behind for long.
        if (res === ABORTED) return failure(target, ts, `timeout: no complete ping round within ${target.timeoutMs} ms`);
        if (res instanceof Error) return failure(target, ts, res.message);
        return icmpResultFrom(target, ts, parsePingOutput(res.output, { format: windows ? 'windows' : 'unix' }));
      } finally {
        limit.done();
      }
    },
  };
}

export const icmp = createIcmpProbe();
