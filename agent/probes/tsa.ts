// RFC 3161 time-stamping: signatures in the portal and iOffice carry a trusted time, so a TSA that does not answer
// fails signing. A real request for a random digest with a nonce; the reply's status, that its token covers that
// digest and nonce, the token's signature (to the configured CA, or to its own certificate) and its time against
// the agent's clock.
import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { TsaResult } from '../../config/wire.ts';
import { deadline } from './deadline.ts';
import { ab, fetchDer, pemToDer } from './pki-http.ts';
import { clip, type Probe, type TargetOf } from './types.ts';

export type TsaTarget = TargetOf<'tsa'>;

/** The first word of `error` is always one of these. */
export const TSA_ERRORS = [
  'refused', 'timeout', 'unreachable', 'reset', 'dns', 'uplink', 'http', 'malformed', 'rejected', 'digest', 'nonce',
  'signature', 'clock', 'other',
] as const;

const HASH_OID = { sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' } as const;
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const PKI_STATUS = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];
const RDN: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST' };

export interface TsaProbeOptions {
  /** the agent's clock (tests move it to read the TSA's time as off) */
  now?: () => number;
  /** the source of the request's digest payload and nonce (tests force the bytes an unlucky draw gives) */
  randomBytes?: (n: number) => Buffer;
}

const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex').replace(/^(00)+(?=.)/, '');

function subjectText(c: pkijs.Certificate): string {
  return c.subject.typesAndValues
    .map((tv) => `${RDN[tv.type] ?? tv.type}=${String((tv.value.valueBlock as { value?: unknown }).value ?? '')}`)
    .reverse()
    .join(', ');
}

export function createTsaProbe(opts: TsaProbeOptions = {}): Probe<TsaTarget> {
  const now = opts.now ?? Date.now;
  const random = opts.randomBytes ?? randomBytes;
  const failure = (target: TsaTarget, ts: number, message: string): TsaResult => ({
    target: target.id,
    ts,
    kind: 'tsa',
    ok: false,
    total_ms: null,
    tsa_status: null,
    error: clip(/^timeout/.test(message) ? message : `other: ${message}`),
  });

  return {
    kind: 'tsa',
    failure,
    async run(t, ctx) {
      const ts = Date.now();
      const limit = deadline(ctx.signal, t.timeoutMs);
      try {
        const { signal } = limit;
        let trusted: pkijs.Certificate[];
        try {
          trusted = t.ca ? pemToDer(t.ca).map((d) => pkijs.Certificate.fromBER(ab(d))) : [];
        } catch (e) {
          return failure(t, ts, `CA certificate unreadable (${(e as Error).message})`);
        }
        const payload = random(32);
        const digest = createHash(t.hash).update(payload).digest();
        const nonce = random(8);
        // A positive INTEGER in minimal DER, compared byte for byte below: the first byte in 01..7f. A zero first byte
        // is a padding byte strict DER decoders refuse, and OpenSSL's TSA then rejects the whole request ("Bad request
        // format"), which read as the TSA failing on one probe in 256.
        nonce[0] = nonce[0]! & 0x7f || 0x01;
        const req = new pkijs.TimeStampReq({
          version: 1,
          messageImprint: new pkijs.MessageImprint({
            hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: HASH_OID[t.hash], algorithmParams: new asn1js.Null() }),
            hashedMessage: new asn1js.OctetString({ valueHex: ab(digest) }),
          }),
          nonce: new asn1js.Integer({ valueHex: ab(nonce) }),
          certReq: true,
        });
        const got = await fetchDer(t.url, {
          body: new Uint8Array(req.toSchema().toBER(false)),
          contentType: 'application/timestamp-query',
          accept: 'application/timestamp-reply',
          signal,
          uplink: ctx.uplink,
          maxBytes: 1024 * 1024,
        });
        const base = { target: t.id, ts, kind: 'tsa' as const };
        if (!got.ok) return { ...base, ok: false, total_ms: got.ms, tsa_status: null, error: clip(got.error) };
        const answeredAt = now();
        const total_ms = Math.round(got.ms * 100) / 100;
        const out = (status: number | null, error?: string, more: Partial<TsaResult> = {}): TsaResult => ({
          ...base, ok: error === undefined, total_ms, tsa_status: status, ...more, ...(error ? { error: clip(error) } : {}),
        });

        let resp: pkijs.TimeStampResp;
        let tst: pkijs.TSTInfo;
        let signed: pkijs.SignedData;
        try {
          resp = pkijs.TimeStampResp.fromBER(ab(got.body));
        } catch (e) {
          return out(null, `malformed: ${(e as Error).message}`);
        }
        const status = resp.status.status as number;
        if (status !== 0 && status !== 1) {
          const why = resp.status.statusStrings?.map((s) => s.valueBlock.value).join('; ');
          return out(status, `rejected: ${PKI_STATUS[status] ?? status}${why ? ` (${why})` : ''}`);
        }
        try {
          if (!resp.timeStampToken) return out(status, 'malformed: granted without a token');
          signed = new pkijs.SignedData({ schema: resp.timeStampToken.content });
          const e = signed.encapContentInfo;
          if (e.eContentType !== OID_TST_INFO || !e.eContent) return out(status, 'malformed: the token holds no TSTInfo');
          tst = pkijs.TSTInfo.fromBER(ab(e.eContent.valueBlock.valueHexView));
        } catch (e) {
          return out(status, `malformed: ${(e as Error).message}`);
        }
        const skew_ms = tst.genTime.getTime() - answeredAt;
        const figures: Partial<TsaResult> = { skew_ms };

        const mi = tst.messageImprint;
        if (mi.hashAlgorithm.algorithmId !== HASH_OID[t.hash] || hex(mi.hashedMessage.valueBlock.valueHexView) !== hex(digest))
          return out(status, 'digest: the token covers another digest', figures);
        if (!tst.nonce || hex(tst.nonce.valueBlock.valueHexView) !== hex(nonce)) return out(status, 'nonce: the token carries another nonce', figures);

        try {
          const v = (await signed.verify({ signer: 0, data: ab(payload), checkChain: trusted.length > 0, trustedCerts: trusted, extendedMode: true })) as {
            signatureVerified?: boolean | null;
            signerCertificate?: pkijs.Certificate | null;
          };
          if (v.signerCertificate) figures.signer = clip(subjectText(v.signerCertificate));
          if (!v.signatureVerified) return out(status, 'signature: does not verify', figures);
        } catch (e) {
          const err = e as { message?: string; signerCertificate?: pkijs.Certificate | null };
          if (err.signerCertificate) figures.signer = clip(subjectText(err.signerCertificate));
          return out(status, `signature: ${err.message ?? String(e)}`, figures);
        }
        if (Math.abs(skew_ms) > t.maxSkewMs) return out(status, `clock: the token's time is ${Math.round(skew_ms / 1000)} s from the agent's clock`, figures);
        return out(status, undefined, figures);
      } finally {
        limit.done();
      }
    },
  };
}

export const tsa = createTsaProbe();
