// The per-target status machine. Pure: (previous state, one round's result, thresholds) -> next state.
// Semantics (DESIGN.md, all thresholds configurable):
//   - a round is `fail` when nothing answered (ICMP: every echo lost; HTTP/DNS/TCP: not ok),
//     `slow` when it answered but past a threshold (loss >= lossPct, median RTT > rttMs, response > responseMs),
//     `good` otherwise. One reply in ten is `slow` (90 % loss), never `good`.
//   - `down` after `downAfter` consecutive fails; while failing but not yet down the target is `degraded`
//     (something is wrong, not yet proven an outage).
//   - from `down`, back only after `upAfter` consecutive non-failing rounds (avoids flapping on a lucky round).
//   - `unknown` is set from outside (agent silent); the next result starts afresh.
import type { Thresholds } from '../../config/schema.ts';
import type { ProbeResult, Status } from '../../config/wire.ts';
import type { Reason } from '../../config/vocabulary.ts';

export type Verdict = 'good' | 'slow' | 'fail';

export interface Classified {
  verdict: Verdict;
  /** median RTT (icmp) or total time (http/dns) or connect time (tcp), ms */
  latencyMs: number | null;
  /** icmp loss %, or 0/100 for checks that pass/fail */
  lossPct: number | null;
  /** why a verdict is not good */
  reason: Reason | null;
}

export interface TargetState {
  status: Status;
  failStreak: number;
  okStreak: number;
  /** ts of the newest result applied; older (backfilled) results don't move the live state */
  lastTs: number | null;
  latencyMs: number | null;
  lossPct: number | null;
  reason: Reason | null;
}

export const INITIAL: TargetState = { status: 'unknown', failStreak: 0, okStreak: 0, lastTs: null, latencyMs: null, lossPct: null, reason: null };

const round1 = (x: number) => Math.round(x * 10) / 10;

export function classify(r: ProbeResult, th: Thresholds): Classified {
  switch (r.kind) {
    case 'icmp': {
      const latencyMs = r.rtt_median;
      if (r.received === 0) return { verdict: 'fail', latencyMs: null, lossPct: 100, reason: r.error ? { code: 'probe_error', error: r.error } : { code: 'no_reply' } };
      if (r.loss >= th.lossPct) return { verdict: 'slow', latencyMs, lossPct: r.loss, reason: { code: 'loss', pct: round1(r.loss) } };
      if (latencyMs !== null && latencyMs > th.rttMs) return { verdict: 'slow', latencyMs, lossPct: r.loss, reason: { code: 'rtt', ms: round1(latencyMs) } };
      return { verdict: 'good', latencyMs, lossPct: r.loss, reason: null };
    }
    case 'http':
    case 'dns': {
      if (!r.ok) {
        const why: Reason =
          r.kind === 'http' && r.error === 'status' && r.status ? { code: 'http_status', status: r.status }
          : r.error ? { code: 'probe_error', error: r.error }
          : r.kind === 'dns' ? { code: 'rcode', rcode: r.rcode }
          : { code: 'probe_error', error: 'error' };
        return { verdict: 'fail', latencyMs: r.total_ms, lossPct: 100, reason: why };
      }
      if (r.total_ms !== null && r.total_ms > th.responseMs) return { verdict: 'slow', latencyMs: r.total_ms, lossPct: 0, reason: { code: 'slow', ms: Math.round(r.total_ms) } };
      return { verdict: 'good', latencyMs: r.total_ms, lossPct: 0, reason: null };
    }
    case 'tcp': {
      if (!r.ok) return { verdict: 'fail', latencyMs: null, lossPct: 100, reason: { code: 'probe_error', error: r.error ?? 'connect' } };
      if (r.connect_ms !== null && r.connect_ms > th.responseMs) return { verdict: 'slow', latencyMs: r.connect_ms, lossPct: 0, reason: { code: 'slow', ms: Math.round(r.connect_ms) } };
      return { verdict: 'good', latencyMs: r.connect_ms, lossPct: 0, reason: null };
    }
  }
}

export function step(prev: TargetState, c: Classified, ts: number, th: Thresholds): TargetState {
  const base = { lastTs: ts, latencyMs: c.latencyMs, lossPct: c.lossPct };
  if (c.verdict === 'fail') {
    const failStreak = prev.failStreak + 1;
    const status: Status = failStreak >= th.downAfter || prev.status === 'down' ? 'down' : 'degraded';
    const reason: Reason | null = status === 'down' || !c.reason ? c.reason : { ...c.reason, streak: { n: failStreak, of: th.downAfter } };
    return { ...base, status, failStreak, okStreak: 0, reason };
  }
  const okStreak = prev.okStreak + 1;
  const answered: Status = c.verdict === 'good' ? 'up' : 'degraded';
  if (prev.status === 'down' && okStreak < th.upAfter) {
    return { ...base, status: 'down', failStreak: prev.failStreak, okStreak, reason: { code: 'recovering', ok: okStreak, of: th.upAfter } };
  }
  return { ...base, status: answered, failStreak: 0, okStreak, reason: c.reason };
}

/** Apply one result; results older than the newest applied one are history only and leave the state as is. */
export function applyResult(prev: TargetState, r: ProbeResult, th: Thresholds): TargetState {
  if (prev.lastTs !== null && r.ts <= prev.lastTs) return prev;
  return step(prev, classify(r, th), r.ts, th);
}

export function markUnknown(prev: TargetState, reason: Reason = { code: 'agent_silent' }): TargetState {
  if (prev.status === 'unknown') return prev;
  return { ...prev, status: 'unknown', failStreak: 0, okStreak: 0, reason };
}
