// Sorting a batch's results by when they were measured, relative to now. Pure.
//   fresh    - recent enough to drive the live map
//   late     - replayed from an agent's spool after an outage: history only (stored with backfilled=true),
//              so a week of backlog replayed oldest-first never makes the live map flap
//   rejected - timestamps that cannot be right (ahead of the server's clock, or older than any spool keeps):
//              not stored, counted and reported; a bad agent clock must not write the future into history
import type { ProbeResult } from '../../config/wire.ts';

export interface TimelinessLimits {
  /** a result is late when older than max(lateAfterMs, 2 x its target's interval + 30 s) */
  lateAfterMs: number;
  /** ahead of the server clock by more than this: rejected */
  maxFutureMs: number;
  /** older than this: rejected (longer than the agent spool's maximum age) */
  maxAgeMs: number;
}

export const DEFAULT_TIMELINESS: TimelinessLimits = {
  lateAfterMs: 90_000,
  maxFutureMs: 5 * 60_000,
  maxAgeMs: 8 * 24 * 3_600_000,
};

export interface Triaged {
  fresh: ProbeResult[];
  late: ProbeResult[];
  rejected: { result: ProbeResult; why: string }[];
}

export function triage(results: readonly ProbeResult[], now: number, intervalSecOf: (target: string) => number | undefined, lim = DEFAULT_TIMELINESS): Triaged {
  const out: Triaged = { fresh: [], late: [], rejected: [] };
  for (const r of results) {
    const age = now - r.ts;
    if (-age > lim.maxFutureMs) out.rejected.push({ result: r, why: `ts ${Math.round(-age / 1000)} s in the future` });
    else if (age > lim.maxAgeMs) out.rejected.push({ result: r, why: `ts ${Math.round(age / 86_400_000)} days old` });
    else if (age > Math.max(lim.lateAfterMs, 2 * (intervalSecOf(r.target) ?? 60) * 1000 + 30_000)) out.late.push(r);
    else out.fresh.push(r);
  }
  return out;
}
