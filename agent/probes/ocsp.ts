// OCSP/CRL: the certificate authority's revocation services that signing in the portal and iOffice needs online. A
// real RFC 6960 request for one certificate (issuer + serial), its answer checked: signed by the issuer or its
// delegated responder, fresh (thisUpdate/nextUpdate on the agent's clock), nonce echoed when the responder echoes
// one, and the certificate's status. The CRL (RFC 5280) is fetched and parsed beside it: size, time, nextUpdate.
import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { OcspResult } from '../../config/wire.ts';
import { deadline } from './deadline.ts';
import { ab, fetchDer, pemToDer } from './pki-http.ts';
import { clip, type Probe, type ProbeContext, type TargetOf } from './types.ts';

export type OcspTarget = TargetOf<'ocsp'>;
type CertStatus = NonNullable<OcspResult['cert_status']>;

/** The first word of `error` is always one of these. */
export const OCSP_ERRORS = [
  'refused', 'timeout', 'unreachable', 'reset', 'dns', 'uplink', 'http', 'malformed', 'rejected', 'signature', 'nonce',
  'stale', 'revoked', 'unknown_cert', 'status', 'crl', 'other',
] as const;

const OID_SHA1 = '1.3.14.3.2.26';
const OID_NONCE = '1.3.6.1.5.5.7.48.1.2';
const OID_BASIC = '1.3.6.1.5.5.7.48.1.1';
/** a responder's clock a little ahead of the agent's is not a stale answer */
const CLOCK_SLACK_MS = 5 * 60_000;
const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '4', 'sigRequired', 'unauthorized'];
const CERT_STATUS: Record<number, CertStatus> = { 0: 'good', 1: 'revoked', 2: 'unknown' };

export interface OcspProbeOptions {
  /** the agent's clock (tests move it to read an answer as stale) */
  now?: () => number;
}

class Fail extends Error {}
const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex').replace(/^(00)+(?=.)/, '');
const r2 = (x: number) => Math.round(x * 100) / 100;
const secs = (ms: number) => Math.round(ms / 1000);

function serialBytes(serial: string): Uint8Array {
  let h = serial.replace(/^0x/i, '').toLowerCase();
  if (h.length % 2) h = `0${h}`;
  // a DER INTEGER is signed: a serial whose top bit is set needs a leading zero byte to stay positive
  if (parseInt(h.slice(0, 2), 16) >= 0x80) h = `00${h}`;
  return new Uint8Array(Buffer.from(h, 'hex'));
}

function issuerCert(pem: string | undefined): pkijs.Certificate | undefined {
  const der = pem ? pemToDer(pem)[0] : undefined;
  if (!der) return undefined;
  try {
    return pkijs.Certificate.fromBER(ab(der));
  } catch (e) {
    throw new Fail(`other: issuer certificate unreadable (${(e as Error).message})`);
  }
}

/** The OCSP part: request, answer, checks. */
async function askResponder(t: OcspTarget, issuer: pkijs.Certificate, ctx: ProbeContext, now: () => number) {
  const sha1 = (b: ArrayBuffer | Uint8Array) => ab(createHash('sha1').update(new Uint8Array(b)).digest());
  const certId = new pkijs.CertID({
    hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA1, algorithmParams: new asn1js.Null() }),
    issuerNameHash: new asn1js.OctetString({ valueHex: sha1(issuer.subject.toSchema().toBER(false)) }),
    issuerKeyHash: new asn1js.OctetString({ valueHex: sha1(issuer.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView) }),
    serialNumber: new asn1js.Integer({ valueHex: ab(serialBytes(t.serial!)) }),
  });
  const nonce = randomBytes(16);
  const req = new pkijs.OCSPRequest();
  req.tbsRequest.requestList = [new pkijs.Request({ reqCert: certId })];
  req.tbsRequest.requestExtensions = [
    new pkijs.Extension({ extnID: OID_NONCE, extnValue: new asn1js.OctetString({ valueHex: ab(nonce) }).toBER(false) }),
  ];
  const got = await fetchDer(t.url!, {
    body: new Uint8Array(req.toSchema(true).toBER(false)),
    contentType: 'application/ocsp-request',
    accept: 'application/ocsp-response',
    signal: ctx.signal,
    uplink: ctx.uplink,
    maxBytes: 1024 * 1024,
  });
  if (!got.ok) return { ms: got.ms, error: got.error } as const;
  const answeredAt = now();
  const ms = got.ms;
  const fail = (error: string) => ({ ms, error }) as const;

  let basic: pkijs.BasicOCSPResponse;
  try {
    const resp = pkijs.OCSPResponse.fromBER(ab(got.body));
    const status = resp.responseStatus.valueBlock.valueDec;
    if (status !== 0) return fail(`rejected: ${RESPONSE_STATUS[status] ?? status}`);
    if (!resp.responseBytes || resp.responseBytes.responseType !== OID_BASIC) return fail('malformed: not a basic OCSP response');
    basic = pkijs.BasicOCSPResponse.fromBER(ab(resp.responseBytes.response.valueBlock.valueHexView));
  } catch (e) {
    return fail(`malformed: ${(e as Error).message}`);
  }
  try {
    if (!(await basic.verify({ trustedCerts: [issuer], issuerCerts: [issuer] }))) return fail('signature: does not verify');
  } catch (e) {
    return fail(`signature: ${e instanceof Error ? e.message : String(e)}`);
  }
  // RFC 8954: responders may leave the nonce out (pre-produced answers); one that echoes a different nonce is wrong
  const echoed = basic.tbsResponseData.responseExtensions?.find((x) => x.extnID === OID_NONCE);
  if (echoed) {
    let value: ArrayBuffer = echoed.extnValue.valueBlock.valueHexView.slice().buffer as ArrayBuffer;
    const inner = asn1js.fromBER(value);
    if (inner.offset !== -1 && inner.result instanceof asn1js.OctetString) value = inner.result.valueBlock.valueHexView.slice().buffer as ArrayBuffer;
    if (hex(value) !== hex(nonce)) return fail('nonce: the answer echoes another nonce');
  }
  const want = hex(serialBytes(t.serial!));
  const single = basic.tbsResponseData.responses.find((r) => hex(r.certID.serialNumber.valueBlock.valueHexView) === want);
  if (!single) return fail('malformed: no answer for the serial asked');
  const certStatus = CERT_STATUS[(single.certStatus as asn1js.BaseBlock).idBlock.tagNumber] ?? null;
  const thisUpdate = single.thisUpdate.getTime();
  const nextUpdate = single.nextUpdate?.getTime();
  const figures = {
    cert_status: certStatus,
    this_update_age_s: secs(answeredAt - thisUpdate),
    ...(nextUpdate !== undefined ? { next_update_s: secs(nextUpdate - answeredAt) } : {}),
  };
  const out = (error?: string) => ({ ms, ...figures, ...(error ? { error } : {}) });
  if (thisUpdate > answeredAt + CLOCK_SLACK_MS) return out(`stale: thisUpdate ${new Date(thisUpdate).toISOString()} is ahead of the clock`);
  if (nextUpdate !== undefined && nextUpdate < answeredAt) return out(`stale: nextUpdate ${new Date(nextUpdate).toISOString()} has passed`);
  if (nextUpdate === undefined && answeredAt - thisUpdate > t.maxAgeSec * 1000) return out(`stale: answer ${figures.this_update_age_s} s old`);
  if (certStatus !== t.expect) {
    const word = certStatus === 'revoked' ? 'revoked' : certStatus === 'unknown' ? 'unknown_cert' : 'status';
    return out(`${word}: ${certStatus}, expected ${t.expect}`);
  }
  return out();
}

/** The CRL part: fetch, parse, signature (when the issuer is known), freshness. */
async function fetchCrl(t: OcspTarget, issuer: pkijs.Certificate | undefined, ctx: ProbeContext, now: () => number) {
  const got = await fetchDer(t.crlUrl!, { accept: 'application/pkix-crl, */*', signal: ctx.signal, uplink: ctx.uplink });
  if (!got.ok) return { crl_ok: false, crl_ms: got.ms, error: `crl: ${got.error}` };
  const base = { crl_ms: got.ms, crl_bytes: got.body.length };
  let crl: pkijs.CertificateRevocationList;
  try {
    let der: Uint8Array = got.body;
    const pem = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/.exec(got.body.toString('latin1'));
    if (pem) der = new Uint8Array(Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64'));
    crl = pkijs.CertificateRevocationList.fromBER(ab(der));
  } catch (e) {
    return { ...base, crl_ok: false, error: `crl: malformed (${(e as Error).message})` };
  }
  const at = now();
  const next = crl.nextUpdate?.value.getTime();
  const figures = { ...base, ...(next !== undefined ? { crl_next_update_s: secs(next - at) } : {}) };
  if (issuer) {
    let good = false;
    try {
      good = await crl.verify({ issuerCertificate: issuer });
    } catch {
      good = false;
    }
    if (!good) return { ...figures, crl_ok: false, error: 'crl: signature does not verify' };
  }
  if (next !== undefined && next < at) return { ...figures, crl_ok: false, error: `crl: stale, nextUpdate ${new Date(next).toISOString()} has passed` };
  return { ...figures, crl_ok: true };
}

export function createOcspProbe(opts: OcspProbeOptions = {}): Probe<OcspTarget> {
  const now = opts.now ?? Date.now;
  const failure = (target: OcspTarget, ts: number, message: string): OcspResult => ({
    target: target.id,
    ts,
    kind: 'ocsp',
    ok: false,
    cert_status: null,
    total_ms: null,
    error: clip(/^timeout/.test(message) ? message : `other: ${message}`),
  });

  return {
    kind: 'ocsp',
    failure,
    async run(t, ctx) {
      const ts = Date.now();
      const limit = deadline(ctx.signal, t.timeoutMs);
      try {
        const { signal } = limit;
        const c = { ...ctx, signal };
        let issuer: pkijs.Certificate | undefined;
        try {
          issuer = issuerCert(t.issuer);
        } catch (e) {
          return failure(t, ts, e instanceof Fail ? e.message.replace(/^other: /, '') : String(e));
        }
        const asks = t.url && issuer && t.serial;
        const [o, crl] = await Promise.all([asks ? askResponder(t, issuer!, c, now) : undefined, t.crlUrl ? fetchCrl(t, issuer, c, now) : undefined]);
        const { error: crlError, ...crlFigures } = crl ?? {};
        const error = o?.error ?? (crl && !crl.crl_ok ? crlError : undefined);
        const r: OcspResult = {
          target: t.id,
          ts,
          kind: 'ocsp',
          ok: error === undefined,
          cert_status: o && 'cert_status' in o ? o.cert_status : null,
          total_ms: o ? (o.ms === null ? null : r2(o.ms)) : (crl?.crl_ms ?? null),
          ...(o && 'this_update_age_s' in o ? { this_update_age_s: o.this_update_age_s } : {}),
          ...(o && 'next_update_s' in o ? { next_update_s: o.next_update_s } : {}),
          ...crlFigures,
          ...(error ? { error: clip(error) } : {}),
        };
        return r;
      } finally {
        limit.done();
      }
    },
  };
}

export const ocsp = createOcspProbe();
