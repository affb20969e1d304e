// TCP connects to a host and port: the service listens, and how fast it accepts.
import type { TcpResult } from '../../config/wire.ts';
import { judgeCheck, num, str, type KindDescriptor } from './types.ts';

type Figures = Pick<TcpResult, 'ok' | 'connect_ms' | 'error'>;

export const tcp: KindDescriptor<'tcp', Figures> = {
  fields: { ok: 'bool', connect_ms: 'float', error: 'string' },
  primaryField: 'ok',
  view(f) {
    if (typeof f.ok !== 'boolean') return null;
    return { ok: f.ok, connect_ms: num(f.connect_ms), error: str(f.error) };
  },
  classify: (r, th) => judgeCheck(r.ok, r.connect_ms, th, () => ({ code: 'probe_error', error: r.error ?? 'connect' }), null),
  latencyLimitMs: (th) => th.responseMs,
  describesLink: false,
  measuresGateway: () => false,
  chart: { latency: 'connect_ms', loss: null },
  defaultIntervalSec: (d) => d.httpIntervalSec,
  plan: (t, _agent, base) => [{ ...base, kind: 'tcp', host: t.host, port: t.port }],
  simulate(_t, { rnd, down, remoteMs }, stamp) {
    if (down) return { kind: 'tcp', ...stamp, ok: false, connect_ms: null, error: 'timeout' };
    return { kind: 'tcp', ...stamp, ok: true, connect_ms: Math.round((10 + remoteMs + rnd() * 30) * 10) / 10 };
  },
};
