// The contract every probe type implements. One file per type, registered in ./index.ts.
import type { PlanTarget, PlanUplink, ProbeResult } from '../../config/wire.ts';

export type TargetKind = PlanTarget['kind'];
export type TargetOf<K extends TargetKind> = Extract<PlanTarget, { kind: K }>;

export interface ProbeContext {
  /** aborted when the round's deadline passes or the agent stops; a probe must return soon after */
  signal: AbortSignal;
  /** the uplink to bind to (interface / source address), when the scheduler runs per uplink */
  uplink?: PlanUplink;
}

export interface Probe<T extends PlanTarget> {
  readonly kind: T['kind'];
  /**
   * Run one round. Network failures are results (with `error`), not exceptions; a probe may still
   * throw on a bug, and the scheduler then turns it into `failure()`.
   */
  run(target: T, ctx: ProbeContext): Promise<ProbeResult>;
  /**
   * Kinds with a timetable of their own (throughput: a few tests a day) answer whether a round runs now; a round that
   * is not due runs nothing and reports nothing. A true answer books the round (e.g. its share of a byte budget).
   */
  due?(target: T, uplink: string | undefined, now: number): boolean;
  /** The result to report when a round could not run at all (threw, hung past its deadline). */
  failure(target: T, ts: number, message: string): ProbeResult;
}

/** Keep error text inside the wire limits. */
export function clip(s: string, max = 200): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}
