// RFC 3161 time-stamping: signing with a trusted time needs the TSA online ("ký số"). A service like the portals.
import type { TsaResult } from '../../config/wire.ts';
import { signingCheck } from './ocsp.ts';
import type { KindDescriptor } from './types.ts';

type Figures = Pick<TsaResult, 'ok' | 'total_ms' | 'error'>;

export const tsa: KindDescriptor<'tsa', Figures> = {
  fields: { ok: 'bool', total_ms: 'float', tsa_status: 'int', skew_ms: 'float', signer: 'string', error: 'string' },
  ...signingCheck,
  plan: (t, _agent, base) => [{ ...base, kind: 'tsa', url: t.url, hash: t.hash, ca: t.ca, maxSkewMs: t.maxSkewMs }],
  simulate(_t, { rnd, down, remoteMs }, stamp) {
    if (down) return { kind: 'tsa', ...stamp, ok: false, total_ms: null, tsa_status: null, error: 'timeout' };
    return {
      kind: 'tsa', ...stamp, ok: true, tsa_status: 0,
      total_ms: Math.round((60 + remoteMs + rnd() * 150) * 10) / 10,
      skew_ms: Math.round((rnd() - 0.5) * 400),
    };
  },
};
