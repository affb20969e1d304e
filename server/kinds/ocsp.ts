// OCSP/CRL: a certificate authority's revocation services, which document signing needs online ("ký số"). A service
// like the portals: judged pass/fail on a valid, fresh, signed answer with the expected status, slow past responseMs.
import type { Thresholds } from '../../config/schema.ts';
import type { OcspResult } from '../../config/wire.ts';
import { judgeCheck, num, str, type FieldValue, type KindDescriptor } from './types.ts';

type Figures = Pick<OcspResult, 'ok' | 'total_ms' | 'error'>;

/** What the signing services' descriptors (ocsp, tsa) share: a pass/fail check timed by total_ms, like a portal. */
export const signingCheck = {
  primaryField: 'ok',
  view(f: Record<string, FieldValue>): Figures | null {
    if (typeof f.ok !== 'boolean') return null;
    return { ok: f.ok, total_ms: num(f.total_ms), error: str(f.error) };
  },
  classify: (r: Figures, th: Thresholds) => judgeCheck(r.ok, r.total_ms, th, () => ({ code: 'probe_error', error: r.error || 'error' })),
  latencyLimitMs: (th: Thresholds) => th.responseMs,
  describesLink: false,
  measuresGateway: () => false,
  chart: { latency: 'total_ms', loss: null },
  defaultIntervalSec: (d: { httpIntervalSec: number }) => d.httpIntervalSec,
};

const r1 = (x: number) => Math.round(x * 10) / 10;

export const ocsp: KindDescriptor<'ocsp', Figures> = {
  fields: {
    ok: 'bool',
    cert_status: 'string',
    total_ms: 'float',
    next_update_s: 'float',
    this_update_age_s: 'float',
    crl_ok: 'bool',
    crl_ms: 'float',
    crl_bytes: 'int',
    crl_next_update_s: 'float',
    error: 'string',
  },
  ...signingCheck,
  plan: (t, _agent, base) => [
    { ...base, kind: 'ocsp', url: t.url, issuer: t.issuer, serial: t.serial, expect: t.expect, crlUrl: t.crlUrl, maxAgeSec: t.maxAgeSec },
  ],
  simulate(t, { rnd, down, remoteMs }, stamp) {
    if (down) return { kind: 'ocsp', ...stamp, ok: false, cert_status: null, total_ms: null, error: 'timeout' };
    const ms = r1(40 + remoteMs + rnd() * 120);
    return {
      kind: 'ocsp', ...stamp, ok: true, cert_status: t.url ? t.expect : null, total_ms: ms,
      ...(t.url ? { next_update_s: 86_400 - Math.floor(rnd() * 3600), this_update_age_s: Math.floor(rnd() * 3600) } : {}),
      ...(t.crlUrl ? { crl_ok: true, crl_ms: r1(ms + rnd() * 200), crl_bytes: 20_000 + Math.floor(rnd() * 5000), crl_next_update_s: 3 * 86_400 } : {}),
    };
  },
};
