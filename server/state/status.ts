// The per-target status machine. Pure: (previous state, one round's result, thresholds) -> next state.
// Semantics (all thresholds configurable):
//   - a round is `fail` when nothing answered, `slow` when it answered past a threshold, `good` otherwise; what
//     that means per kind is its descriptor's `classify` (server/kinds/).
//   - `down` after `downAfter` consecutive fails; while failing but not yet down the target is `degraded`
//     (something is wrong, not yet proven an outage).
//   - from `down`, back only after `upAfter` consecutive non-failing rounds (avoids flapping on a lucky round).
//   - `unknown` is set from outside (agent silent); the next result starts afresh.
import type { Thresholds } from '../../config/schema.ts';
import type { ProbeResult, Status } from '../../config/wire.ts';
import type { Reason } from '../../config/vocabulary.ts';
import { classifyResult } from '../kinds/index.ts';
import type { Classified, Verdict } from '../kinds/types.ts';

export type { Classified, Verdict } from '../kinds/types.ts';

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

/** One round judged by its kind's descriptor (server/kinds/). */
export function classify(r: ProbeResult, th: Thresholds): Classified {
  return classifyResult(r, th);
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
  return judgeResult(prev, r, th)?.next ?? prev;
}

/** applyResult with the round's verdict; null for a result not newer than the slot's last (history, not news). */
export function judgeResult(prev: TargetState, r: ProbeResult, th: Thresholds): { next: TargetState; verdict: Verdict } | null {
  if (prev.lastTs !== null && r.ts <= prev.lastTs) return null;
  const judged = classify(r, th);
  return { next: step(prev, judged, r.ts, th), verdict: judged.verdict };
}

export function markUnknown(prev: TargetState, reason: Reason = { code: 'agent_silent' }): TargetState {
  if (prev.status === 'unknown') return prev;
  return { ...prev, status: 'unknown', failStreak: 0, okStreak: 0, reason };
}
