// DNS lookups against a resolver: answered, how fast, and the response code.
import type { DnsResult } from '../../config/wire.ts';
import type { Reason } from '../../config/vocabulary.ts';
import { judgeCheck, num, str, type KindDescriptor } from './types.ts';

type Figures = Pick<DnsResult, 'ok' | 'total_ms' | 'rcode' | 'error'>;

export const dns: KindDescriptor<'dns', Figures> = {
  fields: { ok: 'bool', total_ms: 'float', answers: 'int', rcode: 'string', error: 'string' },
  primaryField: 'ok',
  view(f) {
    if (typeof f.ok !== 'boolean') return null;
    return { ok: f.ok, total_ms: num(f.total_ms), rcode: str(f.rcode) ?? '', error: str(f.error) };
  },
  classify: (r, th) =>
    judgeCheck(r.ok, r.total_ms, th, (): Reason => (r.error ? { code: 'probe_error', error: r.error } : { code: 'rcode', rcode: r.rcode })),
  latencyLimitMs: (th) => th.responseMs,
  describesLink: false,
  measuresGateway: () => false,
  chart: { latency: 'total_ms', loss: null },
  defaultIntervalSec: (d) => d.httpIntervalSec,
  plan: (t, _agent, base) => [{ ...base, kind: 'dns', resolver: t.resolver, query: t.query, recordType: t.recordType }],
  simulate(_t, { rnd, down, remoteMs }, stamp) {
    if (down) return { kind: 'dns', ...stamp, ok: false, total_ms: null, answers: 0, rcode: 'TIMEOUT', error: 'timeout' };
    return { kind: 'dns', ...stamp, ok: true, total_ms: Math.round((3 + remoteMs / 2 + rnd() * 25) * 10) / 10, answers: 1 + Math.floor(rnd() * 3), rcode: 'NOERROR' };
  },
};
