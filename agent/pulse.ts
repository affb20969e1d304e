// Pulses: between regular rounds the scheduler sends each link target one cheap check (one echo) whose only use is
// to start a confirmation burst at once when the answer changes. A pulse is never reported: a lost echo alone never
// turns anything yellow or red; only the real rounds of the burst it starts do.
// Per kind, optional (kinds without an entry keep their regular rounds and bursts), registered like the probes.
import type { PlanTarget } from '../config/wire.ts';
import { createIcmpProbe } from './probes/icmp.ts';
import type { ProbeContext, TargetKind, TargetOf } from './probes/types.ts';

export interface Pulse<T extends PlanTarget> {
  /** between two pulses of one target (and uplink) */
  everyMs: number;
  /** true when the target answered; never throws, returns once ctx.signal aborts */
  answered(target: T, ctx: ProbeContext): Promise<boolean>;
  /**
   * The shape of a confirmation round, when a shorter round still proves the point: the burst's rounds then end
   * sooner (a link's outcome is confirmed in ~6 s instead of ~12 s). Absent: the target as planned.
   */
  confirmRound?(target: T): T;
}
export type PulseRegistry = { [K in TargetKind]?: Pulse<TargetOf<K>> };

const icmpProbe = createIcmpProbe();

/**
 * One echo every 5 s: 84-byte packets both ways, about 2.9 MB per target and uplink per day (the 10-echo rounds
 * every 30 s cost 4.8 MB). Confirmation rounds send at most 5 echoes and wait 1 s for late replies: a failed one
 * lasts ~1.8 s instead of ~3.9 s, and 5 echoes all lost is still impossible for random loss (5 %: 3e-7).
 */
export const icmpPulse: Pulse<TargetOf<'icmp'>> = {
  everyMs: 5000,
  async answered(t, ctx) {
    const r = await icmpProbe.run({ ...t, count: 1, timeoutMs: 1500 }, ctx).catch(() => null);
    return !!r && r.kind === 'icmp' && r.received > 0;
  },
  confirmRound: (t) => {
    const count = Math.min(t.count, 5);
    // the probe sizes ping's reply wait from the deadline: (count - 1) spacings + 1 s + slack
    return { ...t, count, timeoutMs: Math.min(t.timeoutMs, (count - 1) * t.spacingMs + 1500) };
  },
};

// No HTTP pulse: a HEAD every 10 s from every site is ~300 requests/s with TLS handshakes at a third party's portal
// with 3,000 sites. A service's failure seen by one site is confirmed by the others on the server's request instead
// (server/ingest/probe-now.ts, Scheduler.probeNow).
export const pulses: PulseRegistry = { icmp: icmpPulse };
