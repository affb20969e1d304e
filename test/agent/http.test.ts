// The http probe against real node http/https servers on 127.0.0.1 (port 0), certificates made by
// openssl at test time.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpResultSchema, type HttpResult } from '../../config/wire.ts';
import { createHttpProbe, MAX_BODY, type HttpTarget } from '../../agent/probes/http.ts';
import type { ProbeContext } from '../../agent/probes/types.ts';

const probe = createHttpProbe();
const KEYWORD = 'Cổng dịch vụ công';

function target(url: string, extra: Partial<HttpTarget> = {}): HttpTarget {
  return { id: 'portal', kind: 'http', url, intervalSec: 60, timeoutMs: 3000, ...extra };
}
async function run(t: HttpTarget, p = probe, ctx: Partial<ProbeContext> = {}): Promise<HttpResult> {
  const r = await p.run(t, { signal: AbortSignal.timeout(10_000), ...ctx });
  const parsed = httpResultSchema.safeParse(r);
  expect(parsed.success, JSON.stringify(r)).toBe(true);
  return r as HttpResult;
}

const listen = (s: http.Server | https.Server) =>
  new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));

describe('http probe (plain)', () => {
  const server = http.createServer((req, res) => {
    lastRemote = req.socket.remoteAddress;
    const routes: Record<string, () => void> = {
      '/ok': () => res.end(`<html>${KEYWORD}</html>`),
      '/503': () => ((res.statusCode = 503), res.end('maintenance')),
      '/302': () => ((res.statusCode = 302), res.setHeader('location', '/ok'), res.end()),
      // keyword after the first MiB: the probe must stop reading and not find it
      '/big': () => res.end(Buffer.concat([Buffer.alloc(MAX_BODY + 1024, 'a'), Buffer.from(KEYWORD)])),
      '/hang': () => {},
      '/reset': () => req.socket.destroy(),
    };
    (routes[req.url ?? ''] ?? (() => ((res.statusCode = 404), res.end())))();
  });
  let base = '';
  let lastRemote: string | undefined;
  let closedPort = 0;

  beforeAll(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
    const tmp = http.createServer();
    closedPort = await listen(tmp);
    await new Promise((r) => tmp.close(r));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('200 is ok, with phases and the keyword found', async () => {
    const r = await run(target(`${base}/ok`, { keyword: KEYWORD }));
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(r.error).toBeUndefined();
    expect(r.total_ms).toBeGreaterThan(0);
    expect(r.connect_ms).toBeGreaterThanOrEqual(0);
    expect(r.ttfb_ms).toBeGreaterThanOrEqual(0);
    expect(r.ttfb_ms!).toBeLessThanOrEqual(r.total_ms!);
    expect(r.tls_ms).toBeUndefined();
    expect(r.dns_ms).toBeUndefined(); // an IP literal needs no lookup
  });

  it('a host name is resolved and timed (localhost, from /etc/hosts)', async () => {
    const r = await run(target(`${base.replace('127.0.0.1', 'localhost')}/ok`));
    expect(r.ok).toBe(true);
    expect(r.dns_ms).toBeGreaterThanOrEqual(0);
  });

  it('a redirect is followed to the final page; expectStatus listing the 3xx stops there instead', async () => {
    const followed = await run(target(`${base}/302`, { expectStatus: [200], keyword: KEYWORD }));
    expect(followed).toMatchObject({ ok: true, status: 200, redirects: 1 });
    const asIs = await run(target(`${base}/302`, { expectStatus: [302] }));
    expect(asIs).toMatchObject({ ok: true, status: 302 });
    expect(asIs.redirects).toBeUndefined();
    // a limit of 0: any redirect is past the limit
    const noFollow = createHttpProbe({ maxRedirects: 0 });
    expect(await run(target(`${base}/302`), noFollow)).toMatchObject({ ok: false, error: 'other', detail: expect.stringMatching(/more than 0 redirects/) });
  });

  it('503 -> error status', async () => {
    const r = await run(target(`${base}/503`));
    expect(r).toMatchObject({ ok: false, status: 503, error: 'status' });
    expect(r.total_ms).toBeGreaterThan(0);
  });

  it('keyword missing -> error keyword', async () => {
    const r = await run(target(`${base}/ok`, { keyword: 'iOffice' }));
    expect(r).toMatchObject({ ok: false, status: 200, error: 'keyword' });
  });

  it('reads at most ~1 MiB of body: a keyword beyond it is not found', async () => {
    const r = await run(target(`${base}/big`, { keyword: KEYWORD }));
    expect(r).toMatchObject({ ok: false, status: 200, error: 'keyword' });
    expect(r.detail).toMatch(/first \d+ bytes/);
  });

  it('closed port -> error refused', async () => {
    const r = await run(target(`http://127.0.0.1:${closedPort}/`));
    expect(r).toMatchObject({ ok: false, status: null, error: 'refused' });
  });

  it('connection reset by the server -> error reset', async () => {
    const r = await run(target(`${base}/reset`));
    expect(r).toMatchObject({ ok: false, error: 'reset' });
  });

  it('a server that never answers -> error timeout, within the timeout', async () => {
    const t0 = Date.now();
    const r = await run(target(`${base}/hang`, { timeoutMs: 400 }));
    const took = Date.now() - t0;
    expect(r).toMatchObject({ ok: false, status: null, error: 'timeout' });
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(1200);
  });

  it("the caller's AbortSignal stops it too", async () => {
    const t0 = Date.now();
    const r = await run(target(`${base}/hang`, { timeoutMs: 10_000 }), probe, { signal: AbortSignal.timeout(300) });
    expect(r.error).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(1200);
  });

  it('binds to the uplink source address', async () => {
    await run(target(`${base}/ok`), probe, { uplink: { name: 'u2', carrier: 'viettel', sourceAddress: '127.0.0.2' } });
    expect(lastRemote).toBe('127.0.0.2');
    await run(target(`${base}/ok`));
    expect(lastRemote).toBe('127.0.0.1');
  });
});

const haveOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
if (!haveOpenssl) {
  if (process.env.CI === 'true') throw new Error('openssl is required for the https probe tests (apt-get install openssl)');
  console.warn('\n!!! SKIPPING https probe tests: `openssl` missing, apt-get install openssl !!!\n');
}

describe.skipIf(!haveOpenssl)('http probe (https, certificates from openssl)', () => {
  let dir = '';
  let valid: { server: https.Server; url: string; cert: string; hits: number };
  let expired: { server: https.Server; url: string; cert: string };

  const start = async (key: string, cert: string) => {
    const s = { hits: 0 } as { server: https.Server; url: string; cert: string; hits: number };
    s.server = https.createServer({ key, cert }, (_req, res) => {
      s.hits++;
      res.end(KEYWORD);
    });
    s.url = `https://127.0.0.1:${await listen(s.server)}/`;
    s.cert = cert;
    return s;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ioc-http-'));
    const o = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    // Self-signed, valid for 30 days, for 127.0.0.1.
    o('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem',
      '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
    // Expired in 2020: `openssl req` refuses past dates, `openssl ca` takes explicit start/end dates.
    o('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ek.pem', '-subj', '/CN=localhost', '-out', 'e.csr');
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '01\n');
    writeFileSync(
      join(dir, 'ca.cnf'),
      '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\nx509_extensions=ext\n[p]\ncommonName=supplied\n[ext]\nsubjectAltName=IP:127.0.0.1\n',
    );
    o('ca', '-selfsign', '-keyfile', 'ek.pem', '-in', 'e.csr', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-config', 'ca.cnf', '-batch', '-out', 'e.pem');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    valid = await start(read('k.pem'), read('c.pem'));
    expired = await start(read('ek.pem'), read('e.pem'));
  });
  afterAll(async () => {
    for (const s of [valid, expired]) if (s) await new Promise((r) => s.server.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a self-signed certificate is error tls by default, still timed, and no request is sent over it', async () => {
    const before = valid.hits;
    const r = await run(target(valid.url));
    expect(r).toMatchObject({ ok: false, status: null, error: 'tls' });
    expect(r.detail).toMatch(/SELF_SIGNED|self.signed/i);
    expect(r.tls_ms).toBeGreaterThan(0);
    expect(r.cert_days_left).toBeGreaterThan(29);
    expect(r.cert_days_left).toBeLessThanOrEqual(30);
    await new Promise((res) => setTimeout(res, 150)); // let a request that did slip through reach the handler
    expect(valid.hits).toBe(before);
  });

  it('the same certificate trusted via ca: ok, tls_ms and cert_days_left ~30', async () => {
    const trusting = createHttpProbe({ ca: valid.cert });
    const r = await run(target(valid.url, { keyword: KEYWORD }), trusting);
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(r.tls_ms).toBeGreaterThan(0);
    expect(r.cert_days_left).toBeGreaterThan(29);
    expect(r.cert_days_left).toBeLessThanOrEqual(30);
    expect(valid.hits).toBeGreaterThan(0);
  });

  it('an expired certificate is error tls even when its issuer is trusted, with negative days left', async () => {
    const trusting = createHttpProbe({ ca: expired.cert });
    const r = await run(target(expired.url), trusting);
    expect(r).toMatchObject({ ok: false, error: 'tls' });
    expect(r.detail).toMatch(/CERT_HAS_EXPIRED/);
    expect(r.cert_days_left).toBeLessThan(-365);
  });

  it('insecureTls accepts it (an explicit opt-in)', async () => {
    const r = await run(target(valid.url), createHttpProbe({ insecureTls: true }));
    expect(r).toMatchObject({ ok: true, status: 200 });
  });
});
