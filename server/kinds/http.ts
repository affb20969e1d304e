// HTTP(S) checks of a public service: status, keyword, timings and the certificate.
import type { HttpResult } from '../../config/wire.ts';
import type { Reason } from '../../config/vocabulary.ts';
import { judgeCheck, num, str, type KindDescriptor } from './types.ts';

type Figures = Pick<HttpResult, 'ok' | 'status' | 'total_ms' | 'error'>;

const r1 = (x: number) => Math.round(x * 10) / 10;

export const http: KindDescriptor<'http', Figures> = {
  fields: {
    ok: 'bool',
    status: 'int',
    dns_ms: 'float',
    connect_ms: 'float',
    tls_ms: 'float',
    ttfb_ms: 'float',
    total_ms: 'float',
    cert_days_left: 'float',
    cert_issuer: 'string',
    redirects: 'int',
    error: 'string',
  },
  primaryField: 'ok',
  view(f) {
    if (typeof f.ok !== 'boolean') return null;
    // a stored error is one of HTTP_ERRORS: written only from validated wire results
    return { ok: f.ok, status: num(f.status), total_ms: num(f.total_ms), error: str(f.error) as HttpResult['error'] };
  },
  classify: (r, th) =>
    judgeCheck(r.ok, r.total_ms, th, (): Reason =>
      r.error === 'status' && r.status ? { code: 'http_status', status: r.status } : { code: 'probe_error', error: r.error || 'error' },
    ),
  latencyLimitMs: (th) => th.responseMs,
  describesLink: false,
  measuresGateway: () => false,
  chart: { latency: 'total_ms', loss: null },
  defaultIntervalSec: (d) => d.httpIntervalSec,
  plan: (t, _agent, base) => [{ ...base, kind: 'http', url: t.url, expectStatus: t.expectStatus, keyword: t.keyword }],
  simulate(_t, { rnd, down, remoteMs }, stamp) {
    if (down) return { kind: 'http', ...stamp, ok: false, status: null, total_ms: null, error: 'timeout' };
    const dns = 2 + rnd() * 20, connect = 10 + remoteMs + rnd() * 30, tls = 30 + rnd() * 60, ttfb = 80 + rnd() * 400;
    const total = dns + connect + tls + ttfb + rnd() * 50;
    return {
      kind: 'http', ...stamp, ok: true, status: 200,
      total_ms: r1(total), dns_ms: r1(dns), connect_ms: r1(connect), tls_ms: r1(tls), ttfb_ms: r1(ttfb), cert_days_left: 60 + Math.floor(rnd() * 30),
    };
  },
};
