// Pulses: between regular rounds the scheduler sends each link/portal target one cheap check (one echo, one HEAD)
// whose only use is to start a confirmation burst at once when the answer changes. A pulse is never reported: a lost
// echo alone never turns anything yellow or red; only the real rounds of the burst it starts do.
// Per kind, optional (kinds without an entry keep their regular rounds and bursts), registered like the probes.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { PlanTarget } from '../config/wire.ts';
import { createIcmpProbe } from './probes/icmp.ts';
import { sourceAddressFor } from './probes/source.ts';
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

/**
 * One HEAD every 10 s on a connection of its own: the answer's headers only. Alive = any answer below 500 (a portal
 * may refuse HEAD with 405); a 5xx, a refused or silent connection is a changed outcome worth a real round.
 * Certificates and keywords are the real round's business. Not kept alive: a pooled connection the portal closed
 * meanwhile fails the next request now and then, and a pulse that cries wolf costs a round and holds back the next
 * failure burst for a minute.
 */
export const httpPulse: Pulse<TargetOf<'http'>> = {
  everyMs: 10_000,
  answered(t, ctx) {
    return new Promise<boolean>((resolve) => {
      const url = new URL(t.url);
      const secure = url.protocol === 'https:';
      const local = sourceAddressFor(ctx.uplink, isIP(url.hostname) === 6 ? 6 : 4);
      if (local instanceof Error) return resolve(false);
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.min(t.timeoutMs, 5000))]);
      const req = (secure ? https : http).request(url, {
        method: 'HEAD',
        agent: false,
        signal,
        headers: { 'user-agent': 'ioc-uptime-agent (pulse)', connection: 'close' },
        ...(local ? { localAddress: local, family: isIP(local) } : {}),
        rejectUnauthorized: false,
      });
      req.on('response', (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) < 500);
      });
      req.on('error', () => resolve(false));
      // settles whatever happens (resolve is idempotent): aborted, or closed without an answer
      req.on('close', () => resolve(false));
      signal.addEventListener('abort', () => resolve(false), { once: true });
      req.end();
    });
  },
};

export const pulses: PulseRegistry = { icmp: icmpPulse, http: httpPulse };
