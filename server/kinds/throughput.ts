// Link speed tests (QCVN 34): download and upload goodput of one uplink and its RTT under load, a few times a day.
// Stored and reported (the carrier report's QCVN section), never a live-status slot: see `live`.
import type { ThroughputResult } from '../../config/wire.ts';
import { judgeCheck, num, str, type KindDescriptor } from './types.ts';

type Figures = Pick<ThroughputResult, 'ok' | 'loaded_rtt_ms' | 'error'>;

/** "HH:MM-HH:MM" -> [from, to) minutes after local midnight ("24:00" ends at 1440) */
const span = (s: string): [number, number] => {
  const [a, b] = s.split('-').map((hm) => {
    const [h, m] = hm.split(':').map(Number);
    return h! * 60 + m!;
  });
  return [a!, b!];
};

const r1 = (x: number) => Math.round(x * 10) / 10;

export const throughput: KindDescriptor<'throughput', Figures> = {
  fields: {
    ok: 'bool',
    down_mbps: 'float',
    up_mbps: 'float',
    loaded_rtt_ms: 'float',
    idle_rtt_ms: 'float',
    duration_ms: 'float',
    bytes: 'int',
    error: 'string',
  },
  primaryField: 'ok',
  view(f) {
    if (typeof f.ok !== 'boolean') return null;
    return { ok: f.ok, loaded_rtt_ms: num(f.loaded_rtt_ms), error: str(f.error) };
  },
  // Only for views that judge any stored round (e.g. history); the live state never sees these (live: false).
  classify: (r, th) => judgeCheck(r.ok, r.loaded_rtt_ms, th, () => ({ code: 'probe_error', error: r.error || 'error' })),
  latencyLimitMs: (th) => th.responseMs,
  live: false,
  describesLink: false,
  measuresGateway: () => false,
  chart: { latency: 'loaded_rtt_ms', loss: null },
  // how often the agent looks whether a test is due; the tests themselves come a few times a day
  defaultIntervalSec: () => 300,
  plan(t, _agent, base) {
    const directionMs = t.durationSec * 1000;
    return [
      {
        ...base,
        // idle RTT, the busy check, both directions and the upload's drain all fit in one round
        timeoutMs: Math.max(base.timeoutMs, 2 * directionMs + 15_000),
        kind: 'throughput',
        url: t.url,
        directionMs,
        maxBytes: Math.round(t.maxMbPerTest * 1e6),
        dailyBytes: Math.round(t.dailyBudgetMb * 1e6),
        testsPerDay: t.testsPerDay,
        windows: t.hours.map(span),
        blocked: t.blockedHours.map(span),
        tzOffsetMin: t.tzOffsetMin,
        busyMbps: t.busyMbps,
      },
    ];
  },
  simulate(_t, { rnd, down, baseMs }, stamp) {
    if (down) return { kind: 'throughput', ...stamp, ok: false, down_mbps: null, up_mbps: null, loaded_rtt_ms: null, duration_ms: null, bytes: 0, error: 'timeout' };
    const down_mbps = r1(20 + rnd() * 80);
    const up_mbps = r1(down_mbps * (0.3 + rnd() * 0.6));
    return {
      kind: 'throughput', ...stamp, ok: true, down_mbps, up_mbps,
      idle_rtt_ms: r1(baseMs), loaded_rtt_ms: r1(baseMs * (1.5 + rnd() * 3)),
      duration_ms: 20_000, bytes: Math.round(((down_mbps + up_mbps) * 1e6 * 10) / 8),
    };
  },
};
