// ICMP echo rounds: the uplink's own loss and latency.
import { rttStats } from '../../agent/probes/icmp.ts';
import type { IcmpResult } from '../../config/wire.ts';
import { num, round1, str, type KindDescriptor } from './types.ts';

type Figures = Pick<IcmpResult, 'received' | 'loss' | 'rtt_median' | 'error'>;

export const icmp: KindDescriptor<'icmp', Figures> = {
  fields: {
    sent: 'int',
    received: 'int',
    loss: 'float',
    rtt_min: 'float',
    rtt_median: 'float',
    rtt_avg: 'float',
    rtt_max: 'float',
    jitter: 'float',
    error: 'string',
  },
  // loss is never null on a stored round, while rtt_* are when every echo was lost
  primaryField: 'loss',
  view(f) {
    const received = num(f.received);
    const loss = num(f.loss);
    if (received === null || loss === null) return null;
    return { received, loss, rtt_median: num(f.rtt_median), error: str(f.error) };
  },
  classify(r, th) {
    const latencyMs = r.rtt_median;
    // One reply in ten is `slow` (90 % loss), never `good`: only a round where nothing answered fails.
    if (r.received === 0) return { verdict: 'fail', latencyMs: null, lossPct: 100, reason: r.error ? { code: 'probe_error', error: r.error } : { code: 'no_reply' } };
    if (r.loss >= th.lossPct) return { verdict: 'slow', latencyMs, lossPct: r.loss, reason: { code: 'loss', pct: round1(r.loss) } };
    if (latencyMs !== null && latencyMs > th.rttMs) return { verdict: 'slow', latencyMs, lossPct: r.loss, reason: { code: 'rtt', ms: round1(latencyMs) } };
    return { verdict: 'good', latencyMs, lossPct: r.loss, reason: null };
  },
  latencyLimitMs: (th) => th.rttMs,
  describesLink: true,
  measuresGateway: (t) => t.host === 'gateway',
  chart: { latency: 'rtt_median', loss: 'loss' },
  defaultIntervalSec: (d) => d.icmpIntervalSec,
  plan(t, agent, base) {
    const echo = { count: t.count, spacingMs: t.spacingMs };
    if (t.host !== 'gateway') return [{ ...base, kind: 'icmp', host: t.host, ...echo }];
    // One target per uplink that knows its gateway: each uplink pings its own.
    return agent.uplinks.flatMap((u) => (u.gateway ? [{ ...base, kind: 'icmp' as const, host: u.gateway, ...echo, uplink: u.name }] : []));
  },
  simulate(t, ctx, stamp) {
    const { rnd } = ctx;
    const gauss = () => (rnd() + rnd() + rnd() - 1.5) * 2;
    const gw = t.uplink !== undefined; // gateway targets are per uplink and close by
    const base = gw ? 1.2 : ctx.baseMs;
    // The LAN gateway stays clean: weak signal and congestion (occasional loss spikes) are beyond it.
    const loss = ctx.down ? 100 : gw ? 0 : Math.min(100, ctx.baseLoss + (rnd() < 0.02 ? 10 + rnd() * 20 : 0));
    const rtts: (number | null)[] = [];
    for (let i = 0; i < t.count; i++) {
      if (rnd() * 100 < loss) rtts.push(null);
      else rtts.push(Math.max(0.2, +(base * (1 + 0.08 * gauss()) + (rnd() < 0.05 ? rnd() * base : 0)).toFixed(2)));
    }
    const received = rtts.filter((x) => x !== null).length;
    return { kind: 'icmp', ...stamp, sent: t.count, received, loss: ((t.count - received) / t.count) * 100, ...rttStats(rtts), rtts };
  },
};
