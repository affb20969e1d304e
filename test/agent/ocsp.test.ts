// The ocsp probe against a real OpenSSL OCSP responder and CRL of a test CA on loopback: good, revoked and unknown
// certificates, a responder that is down, stale answers (the agent's clock moved past nextUpdate), bad signatures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOcspProbe, OCSP_ERRORS, type OcspTarget } from '../../agent/probes/ocsp.ts';
import { ocspResultSchema, type OcspResult } from '../../config/wire.ts';
import { reasonText } from '../../config/words.ts';
import { freePort, SERIALS, startTestCa, type TestCa } from '../helpers/ca.ts';

const DAY = 86_400_000;

describe('ocsp probe (OpenSSL responder on loopback)', () => {
  let ca: TestCa;
  let responder: { url: string; stop(): void };
  let byCa: { url: string; stop(): void };
  let foreign: { url: string; stop(): void };
  let undated: { url: string; stop(): void };
  beforeAll(async () => {
    ca = await startTestCa();
    responder = await ca.responder({ ndays: 1 });
    byCa = await ca.responder({ signer: 'ca', ndays: 1 });
    foreign = await ca.responder({ signer: 'foreign', ndays: 1 });
    undated = await ca.responder();
  });
  afterAll(async () => {
    await ca?.close();
  });

  const target = (extra: Partial<OcspTarget> = {}): OcspTarget => ({
    id: 'ca-ocsp', kind: 'ocsp', url: responder.url, issuer: ca.caPem, serial: SERIALS.good, expect: 'good', crlUrl: ca.crlUrl,
    maxAgeSec: 7 * 86_400, intervalSec: 300, timeoutMs: 5000, ...extra,
  });
  async function run(t: OcspTarget, clockShiftMs = 0): Promise<OcspResult> {
    const probe = createOcspProbe({ now: () => Date.now() + clockShiftMs });
    const r = (await probe.run(t, { signal: AbortSignal.timeout(10_000) })) as OcspResult;
    expect(ocspResultSchema.safeParse(r).success).toBe(true);
    if (r.error) {
      expect(OCSP_ERRORS).toContain(r.error.split(':')[0]);
      // every error word has its Vietnamese text (the status reason the map and incidents show)
      expect(reasonText({ code: 'probe_error', error: r.error }, 'vi')).not.toMatch(/^[a-z_]+:/);
    }
    return r;
  }

  it('a good certificate: signed by the delegated responder, fresh, good; the CRL parsed beside it', async () => {
    const r = await run(target());
    expect(r).toMatchObject({ ok: true, cert_status: 'good', crl_ok: true });
    expect(r.error).toBeUndefined();
    expect(r.total_ms).toBeGreaterThan(0);
    expect(r.next_update_s).toBeGreaterThan(86_000);
    expect(r.next_update_s).toBeLessThanOrEqual(86_400);
    expect(Math.abs(r.this_update_age_s!)).toBeLessThan(10);
    expect(r.crl_bytes).toBeGreaterThan(100);
    expect(r.crl_ms).toBeGreaterThan(0);
    expect(r.crl_next_update_s).toBeGreaterThan(86_000);
  });

  it('an answer signed by the CA itself is accepted too', async () => {
    expect(await run(target({ url: byCa.url }))).toMatchObject({ ok: true, cert_status: 'good' });
  });

  it('a revoked certificate reads revoked: down when good is expected, up when revoked is', async () => {
    const r = await run(target({ serial: SERIALS.revoked }));
    expect(r).toMatchObject({ ok: false, cert_status: 'revoked' });
    expect(r.error).toMatch(/^revoked:/);
    expect(reasonText({ code: 'probe_error', error: r.error! }, 'vi')).toMatch(/^chứng thư số bị thu hồi/);
    expect(await run(target({ serial: SERIALS.revoked, expect: 'revoked' }))).toMatchObject({ ok: true, cert_status: 'revoked' });
  });

  it('a serial the CA never issued reads unknown', async () => {
    const r = await run(target({ serial: SERIALS.unknown }));
    expect(r).toMatchObject({ ok: false, cert_status: 'unknown' });
    expect(r.error).toMatch(/^unknown_cert:/);
  });

  it('a responder that is down: refused, no status; the CRL still reported', async () => {
    const port = await freePort();
    const r = await run(target({ url: `http://127.0.0.1:${port}/` }));
    expect(r).toMatchObject({ ok: false, cert_status: null, total_ms: null, crl_ok: true });
    expect(r.error).toMatch(/^refused/);
  });

  it('a stale answer: nextUpdate passed on the agent clock (and the CRL too)', async () => {
    const r = await run(target(), 2 * DAY);
    expect(r).toMatchObject({ ok: false, cert_status: 'good', crl_ok: false });
    expect(r.error).toMatch(/^stale: nextUpdate/);
    expect(r.next_update_s).toBeLessThan(-80_000);
    expect(r.crl_next_update_s).toBeLessThan(-80_000);
  });

  it('an answer without nextUpdate is stale once older than maxAgeSec; a thisUpdate far ahead of the clock too', async () => {
    const fresh = await run(target({ url: undated.url, crlUrl: undefined }));
    expect(fresh).toMatchObject({ ok: true, cert_status: 'good' });
    expect(fresh.next_update_s).toBeUndefined();
    const old = await run(target({ url: undated.url, crlUrl: undefined, maxAgeSec: 3600 }), 2 * 3600_000);
    expect(old.error).toMatch(/^stale: answer \d+ s old/);
    const ahead = await run(target({ crlUrl: undefined }), -3600_000);
    expect(ahead.error).toMatch(/^stale: thisUpdate .* ahead of the clock/);
  });

  it('an answer signed by a responder of another CA fails its signature check', async () => {
    const r = await run(target({ url: foreign.url, crlUrl: undefined }));
    expect(r).toMatchObject({ ok: false, cert_status: null });
    expect(r.error).toMatch(/^signature:/);
  });

  it('the CRL alone: time, size, freshness; a CRL the configured issuer did not sign, or garbage, fails', async () => {
    const only = await run(target({ url: undefined, issuer: undefined, serial: undefined }));
    expect(only).toMatchObject({ ok: true, cert_status: null, crl_ok: true });
    expect(only.total_ms).toBe(only.crl_ms);
    const wrongIssuer = await run(target({ url: undefined, serial: undefined, issuer: ca.otherCaPem }));
    expect(wrongIssuer).toMatchObject({ ok: false, crl_ok: false });
    expect(wrongIssuer.error).toMatch(/^crl: signature/);
    const garbage = await run(target({ url: undefined, issuer: undefined, serial: undefined, crlUrl: ca.crlUrl.replace('ca.crl', 'garbage.crl') }));
    expect(garbage).toMatchObject({ ok: false, crl_ok: false });
    expect(garbage.error).toMatch(/^crl: malformed/);
    const missing = await run(target({ crlUrl: ca.crlUrl.replace('ca.crl', 'none.crl') }));
    expect(missing).toMatchObject({ ok: false, cert_status: 'good', crl_ok: false });
    expect(missing.error).toMatch(/^crl: http: status 404/);
  });

  it('a responder that does not answer within the timeout', async () => {
    const net = await import('node:net');
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const r = await run(target({ url: `http://127.0.0.1:${port}/`, crlUrl: undefined, timeoutMs: 500 }));
    silent.close();
    expect(r).toMatchObject({ ok: false, cert_status: null });
    expect(r.error).toMatch(/^timeout/);
  });
});
