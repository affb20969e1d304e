// The tsa probe against a real `openssl ts -reply` time-stamping server of a test CA on loopback: granted tokens
// (checked against the TSA's CA or their own certificate), a wrong CA, a rejection, a TSA that is down, and a clock
// far from the TSA's time.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTsaProbe, TSA_ERRORS, type TsaTarget } from '../../agent/probes/tsa.ts';
import { tsaResultSchema, type TsaResult } from '../../config/wire.ts';
import { reasonText } from '../../config/words.ts';
import { freePort } from '../helpers/ca.ts';
import { startTestTsa, type TestTsa } from '../helpers/tsa.ts';

describe('tsa probe (openssl ts -reply on loopback)', () => {
  let tsa: TestTsa;
  let server: { url: string; stop(): void };
  let sha1Only: { url: string; stop(): void };
  beforeAll(async () => {
    tsa = await startTestTsa();
    server = await tsa.start();
    sha1Only = await tsa.start({ digests: ['sha1'] });
  });
  afterAll(async () => {
    await tsa?.close();
  });

  const target = (extra: Partial<TsaTarget> = {}): TsaTarget => ({
    id: 'ca-tsa', kind: 'tsa', url: server.url, hash: 'sha256', ca: tsa.caPem, maxSkewMs: 60_000, intervalSec: 300, timeoutMs: 5000, ...extra,
  });
  async function run(t: TsaTarget, { clockShiftMs = 0, randomBytes }: { clockShiftMs?: number; randomBytes?: (n: number) => Buffer } = {}): Promise<TsaResult> {
    const probe = createTsaProbe({ now: () => Date.now() + clockShiftMs, randomBytes });
    const r = (await probe.run(t, { signal: AbortSignal.timeout(10_000) })) as TsaResult;
    expect(tsaResultSchema.safeParse(r).success).toBe(true);
    if (r.error) {
      expect(TSA_ERRORS).toContain(r.error.split(':')[0]);
      expect(reasonText({ code: 'probe_error', error: r.error }, 'vi')).not.toMatch(/^[a-z_]+:/);
    }
    return r;
  }

  it('a granted token covering the digest and nonce, signed by the TSA the CA issued, in time', async () => {
    for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
      const r = await run(target({ hash }));
      // first, so that a failure prints the TSA's reason (toMatchObject's diff leaves `error` out)
      expect(r.error).toBeUndefined();
      expect(r).toMatchObject({ ok: true, tsa_status: 0, signer: 'CN=Test TSA, O=Test CA, C=VN' });
      expect(r.total_ms).toBeGreaterThan(0);
      // genTime has whole seconds (accuracy secs:1): within a couple of seconds of the agent's clock
      expect(Math.abs(r.skew_ms!)).toBeLessThan(3000);
    }
  });

  it('without a configured CA the signature is checked against the token\'s own certificate', async () => {
    const r = await run(target({ ca: undefined }));
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, tsa_status: 0 });
  });

  it('a nonce drawn with a zero first byte still goes out as minimal DER, which the TSA accepts', async () => {
    // One draw in 256 starts 00 0x: sent as is, that is a padding byte OpenSSL refuses, and the TSA read as rejecting.
    const r = await run(target(), { randomBytes: (n) => Buffer.alloc(n) });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, tsa_status: 0 });
  });

  it('a signer the configured CA did not issue fails the signature check', async () => {
    const r = await run(target({ ca: tsa.otherCaPem }));
    expect(r).toMatchObject({ ok: false, tsa_status: 0, signer: 'CN=Test TSA, O=Test CA, C=VN' });
    expect(r.error).toMatch(/^signature:/);
  });

  it('a rejection (the TSA accepts no digest the probe sends) reads the reply status', async () => {
    const r = await run(target({ url: sha1Only.url }));
    expect(r).toMatchObject({ ok: false, tsa_status: 2 });
    expect(r.error).toMatch(/^rejected: rejection/);
    expect(reasonText({ code: 'probe_error', error: r.error! }, 'vi')).toMatch(/^máy chủ từ chối yêu cầu/);
  });

  it('a token whose time is far from the agent clock', async () => {
    const r = await run(target(), { clockShiftMs: 10 * 60_000 });
    expect(r).toMatchObject({ ok: false, tsa_status: 0 });
    expect(r.skew_ms).toBeLessThan(-9 * 60_000);
    expect(r.error).toMatch(/^clock:/);
  });

  it('a TSA that is down, or that does not answer in time', async () => {
    const down = await run(target({ url: `http://127.0.0.1:${await freePort()}/tsa` }));
    expect(down).toMatchObject({ ok: false, tsa_status: null, total_ms: null });
    expect(down.error).toMatch(/^refused/);
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const hung = await run(target({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/tsa`, timeoutMs: 500 }));
    silent.close();
    expect(hung).toMatchObject({ ok: false, tsa_status: null });
    expect(hung.error).toMatch(/^timeout/);
  });

  it('an answer that is not a time-stamp reply (a web page at a mistyped URL) is malformed', async () => {
    const web = http.createServer((_req, res) => res.end('<html><body>Trang chủ</body></html>'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const r = await run(target({ url: `http://127.0.0.1:${(web.address() as AddressInfo).port}/` }));
    web.close();
    expect(r).toMatchObject({ ok: false, tsa_status: null });
    expect(r.error).toMatch(/^malformed:/);
  });
});
