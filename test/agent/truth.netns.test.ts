// Tests of truth: each probe measured against a condition injected in a network namespace, the figure
// compared with the injected one within a tolerance argued next to it. Real ping, real sockets, a
// userspace echo responder for latency (no netem here), nft for loss and dead ports, a Python DNS
// server, a Node portal with certificates from a CA made by openssl. Every address is on a veth this
// file creates. Needs root: outside CI the suite skips with one loud line; under CI=true it runs.
import { Resolver } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultSchema, type DnsResult, type HttpResult, type IcmpResult, type PlanTarget, type ProbeResult, type TcpResult } from '../../config/wire.ts';
import { createDnsProbe, type DnsTarget } from '../../agent/probes/dns.ts';
import { createHttpProbe, type HttpTarget } from '../../agent/probes/http.ts';
import { createIcmpProbe, type IcmpTarget } from '../../agent/probes/icmp.ts';
import { createTcpProbe, type TcpTarget } from '../../agent/probes/tcp.ts';
import type { ProbeContext } from '../../agent/probes/types.ts';
import { Scheduler } from '../../agent/scheduler.ts';
import {
  createHost,
  destroyAllHosts,
  skipWithoutNetns,
  skipWithoutTools,
  startDnsServer,
  startEchoResponder,
  startPortal,
  type NetnsHost,
  type Portal,
  type Service,
} from '../helpers/netns.ts';

const SUITE = 'measurement truth tests (network namespaces)';
const skip =
  skipWithoutNetns(SUITE) ||
  skipWithoutTools(SUITE, [
    { cmd: 'python3', args: ['--version'], install: 'apt-get install python3' },
    { cmd: 'openssl', args: ['version'], install: 'apt-get install openssl' },
  ]);

const icmpProbe = createIcmpProbe({ minSpacingMs: 5 }); // root: iputils accepts short intervals
const dnsProbe = createDnsProbe();
const tcpProbe = createTcpProbe();

async function run<R extends ProbeResult>(p: { run(t: never, c: ProbeContext): Promise<ProbeResult> }, t: PlanTarget, ctx: Partial<ProbeContext> = {}) {
  const r = await (p.run as (t: PlanTarget, c: ProbeContext) => Promise<ProbeResult>)(t, { signal: AbortSignal.timeout(60_000), ...ctx });
  const parsed = resultSchema.safeParse(r);
  expect(parsed.success, JSON.stringify(r)).toBe(true); // whatever happened, a valid wire frame
  return r as R;
}
const icmpT = (host: string, count: number, spacingMs: number): IcmpTarget => ({ id: 'gw', kind: 'icmp', host, count, spacingMs, intervalSec: 30, timeoutMs: 30_000 });
const httpT = (url: string, extra: Partial<HttpTarget> = {}): HttpTarget => ({ id: 'portal', kind: 'http', url, intervalSec: 60, timeoutMs: 5000, ...extra });
const dnsT = (resolver: string, query: string, extra: Partial<DnsTarget> = {}): DnsTarget => ({
  id: 'dns',
  kind: 'dns',
  resolver,
  query,
  recordType: 'A',
  intervalSec: 60,
  timeoutMs: 1000,
  ...extra,
});
const tcpT = (host: string, port: number, extra: Partial<TcpTarget> = {}): TcpTarget => ({ id: 'gw-tcp', kind: 'tcp', host, port, intervalSec: 60, timeoutMs: 1000, ...extra });

/** Name resolution through the namespace's DNS server (never the machine's resolver). */
function lookupVia(server: string): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, cb: (err: Error | null, address: unknown, family?: number) => void) => {
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([server]);
    r.resolve4(hostname, (err, addrs) => {
      if (err) return cb(err, options.all ? [] : '', 4);
      if (options.all) cb(null, addrs.map((address) => ({ address, family: 4 })));
      else cb(null, addrs[0], 4);
    });
  }) as unknown as LookupFunction;
}

describe.skipIf(skip)(SUITE, () => {
  let lat: NetnsHost; // echo replies after 50 ms
  let jit: NetnsHost; // echo replies after 50 ms +- 10 ms uniform
  let lossy: NetnsHost; // 10 % of inbound packets dropped
  let svc: NetnsHost; // portal + DNS server + misbehaving ports
  let other: NetnsHost; // a second "uplink" for binding tests
  let portal: Portal;
  let resolver: string;
  let jitSvc: Service;

  beforeAll(async () => {
    lat = createHost({ name: 'latency' });
    jit = createHost({ name: 'jitter' });
    lossy = createHost({ name: 'lossy10', loss: 10 });
    svc = createHost({ name: 'services' });
    other = createHost({ name: 'other-uplink' });
    await startEchoResponder(lat, { delayMs: 50 });
    jitSvc = await startEchoResponder(jit, { delayMs: 50, jitterMs: 10, log: true });
    portal = await startPortal(svc, { soonDays: 5 });
    const dnsServer = await startDnsServer(svc, {
      'portal.test': { A: [svc.nsIp] },
      'multi.test': { A: ['10.213.250.1', '10.213.250.2', '10.213.250.3'] },
      'v6.test': { AAAA: ['2001:db8::1', '2001:db8::2'] },
      'www.cong.test': { CNAME: 'portal.test' },
      'slowdns.test': { A: [svc.nsIp], delay_ms: 100 },
      'spoofed.test': { A: [svc.nsIp], spoof_first: true },
      'servfail.test': { rcode: 2 },
      'refused.test': { rcode: 5 },
      'blackhole.test': { drop: true },
    });
    resolver = dnsServer.resolver;
    svc.setPortFault(8081, 'drop');
    svc.setPortFault(8082, 'host-unreachable');
  });
  afterAll(async () => {
    await portal?.stop();
    destroyAllHosts();
  });

  describe('icmp', () => {
    it('an injected 50 ms RTT reads as a 50 ms median (+-2 ms), never below 50', async () => {
      // The responder holds each reply >= 50 ms after it arrives; what remains is veth + kernel +
      // Python wake-up, tens to hundreds of microseconds, plus scheduling noise on a shared 2-core
      // box that hits single echoes, not the median of 50. So +-2 ms is generous for the median, and
      // no echo can read below 50 (iputils prints 0.1 ms at this size: 49.9 allows its rounding).
      const r = await run<IcmpResult>(icmpProbe, icmpT(lat.nsIp, 50, 20));
      console.info(`[truth] icmp: injected 50 ms, median ${r.rtt_median} ms (min ${r.rtt_min}, max ${r.rtt_max}, jitter ${r.jitter}) over ${r.received}/${r.sent}`);
      expect(r).toMatchObject({ sent: 50, received: 50, loss: 0 });
      expect(r.rtts).toHaveLength(50);
      expect(Math.abs(r.rtt_median! - 50)).toBeLessThanOrEqual(2);
      expect(r.rtt_min!).toBeGreaterThanOrEqual(49.9);
    });

    // retried: its per-echo tolerances measure scheduling noise too, and a burst of load from a parallel test file
    // can push many echoes late at once; a systematic error fails every attempt
    it('injected jitter (50 +- 10 ms uniform): every echo reads as its own injected delay, and jitter as the true jitter', { retry: 2, timeout: 30_000 }, async () => {
      // The responder logs the delay it gave each echo (by ICMP sequence), so each RTT is compared
      // with what was really injected into that echo, and the reported jitter with the jitter of the
      // injected delays themselves. The remainder per echo is the overhead measured in the test
      // above (~0.3 ms): its median must stay under 1 ms, and 90 % of echoes within 5 ms, which
      // lets the wake-ups that land behind another process on a shared box (other test files run in
      // parallel: agents, influxd, Chromium) pass without letting a systematic error through. The jitter
      // tolerance (1.5 ms) is the overhead's own variation showing up in consecutive differences under
      // that load (0.02 ms on an idle box); losing the jitter (0) or doubling it (~13) is far out.
      const from = jitSvc.lines.length;
      const r = await run<IcmpResult>(icmpProbe, icmpT(jit.nsIp, 200, 10));
      const injected = new Map<number, number>();
      for (const line of jitSvc.lines.slice(from)) {
        const [, seq, delay] = line.split(' ').map(Number);
        injected.set(seq!, delay!);
      }
      const delays = Array.from({ length: 200 }, (_, i) => injected.get(i + 1)); // iputils numbers echoes from 1
      expect(r.received).toBe(200);
      expect(delays.every((d) => d !== undefined)).toBe(true);
      const over = r.rtts!.map((x, i) => x! - delays[i]!);
      let sum = 0;
      for (let i = 1; i < 200; i++) sum += Math.abs(delays[i]! - delays[i - 1]!);
      const trueJitter = sum / 199;
      const sortedOver = [...over].sort((a, b) => a - b);
      console.info(
        `[truth] icmp: injected 50+-10 ms: per-echo RTT - injected delay median ${sortedOver[100]!.toFixed(2)} ms, ` +
          `p95 ${sortedOver[189]!.toFixed(2)} ms; jitter ${r.jitter} ms vs injected ${trueJitter.toFixed(3)} ms; median ${r.rtt_median} ms`,
      );
      expect(Math.min(...over)).toBeGreaterThanOrEqual(-0.1); // never earlier than injected (0.1: ping's rounding)
      expect(sortedOver[100]!).toBeLessThanOrEqual(1);
      expect(over.filter((o) => o <= 5).length).toBeGreaterThanOrEqual(180);
      expect(Math.abs(r.jitter! - trueJitter)).toBeLessThanOrEqual(1.5);
      expect(Math.abs(trueJitter - 20 / 3)).toBeLessThan(2); // the injection itself is the uniform one asked for
    });

    it('injected 10 % loss reads within binomial bounds over 1000 echoes', async () => {
      // Each echo request is dropped independently with p = 0.1 (nft numgen on input), so the number
      // lost of n = 1000 is Binomial(1000, 0.1): mean 100, sd = sqrt(1000 * 0.1 * 0.9) = 9.49.
      // 100 +- 4.5 sd = [57, 143] lost (5.7 %..14.3 %) fails by chance ~7 in a million runs, and still
      // rejects 0 % (10.5 sd away) and loss applied both ways, 1 - 0.9^2 = 19 % (9.5 sd away).
      // (30 % is checked the same way in icmp.netns.test.ts.)
      const r = await run<IcmpResult>(icmpProbe, icmpT(lossy.nsIp, 1000, 8));
      console.info(`[truth] icmp: injected 10 % loss, read ${r.loss} % over ${r.sent} echoes`);
      expect(r.sent).toBe(1000);
      expect(r.loss).toBeGreaterThanOrEqual(5.7);
      expect(r.loss).toBeLessThanOrEqual(14.3);
      expect(r.rtts!.filter((x) => x === null)).toHaveLength(r.sent - r.received);
    }, 40_000);
  });

  describe('http', () => {
    let probe: ReturnType<typeof createHttpProbe>;
    beforeAll(() => {
      probe = createHttpProbe({ ca: portal.certs.ca, lookup: lookupVia(svc.nsIp) });
    });
    const get = (url: string, extra: Partial<HttpTarget> = {}) => run<HttpResult>(probe, httpT(url, { keyword: portal.keyword, ...extra }));

    it('an injected 2 s TTFB shows in ttfb_ms (2000 ms, -5/+100) and not in connect_ms (< 50 ms)', async () => {
      // The server answers the head 2000 ms after the request arrives (a Node timer: never early by
      // more than its 1 ms rounding, late by event-loop noise, tens of ms at worst on a busy CI box).
      // Connect on a veth is well under a millisecond; 50 ms leaves room for a cold ARP and noise but
      // is 40x below the injected delay, so a misattributed wait cannot pass.
      const r = await get(`${portal.http}/slow?ms=2000`);
      console.info(`[truth] http: injected TTFB 2000 ms -> ttfb ${r.ttfb_ms} ms, connect ${r.connect_ms} ms, total ${r.total_ms} ms`);
      expect(r).toMatchObject({ ok: true, status: 200 });
      expect(r.ttfb_ms!).toBeGreaterThanOrEqual(1995);
      expect(r.ttfb_ms!).toBeLessThanOrEqual(2100);
      expect(r.connect_ms!).toBeLessThan(50);
      expect(r.total_ms! - r.ttfb_ms!).toBeLessThan(50);
      expect(r.dns_ms).toBeUndefined(); // an address needs no lookup
    });

    it('a slow body (1 s after the head) shows in total_ms, not in ttfb_ms', async () => {
      const r = await get(`${portal.http}/slow-body?ms=1000`);
      console.info(`[truth] http: body 1000 ms after head -> ttfb ${r.ttfb_ms} ms, total ${r.total_ms} ms`);
      expect(r.ok).toBe(true);
      expect(r.ttfb_ms!).toBeLessThan(50);
      expect(r.total_ms!).toBeGreaterThanOrEqual(995);
      expect(r.total_ms!).toBeLessThanOrEqual(1100);
    });

    it('an injected 100 ms DNS delay shows in dns_ms, not in connect or ttfb', async () => {
      // The DNS server holds this name's answer 100 ms; the lookup adds c-ares and Python overhead
      // of a few ms at most: [99, 130].
      const r = await get('http://slowdns.test/ok');
      console.info(`[truth] http: injected DNS 100 ms -> dns ${r.dns_ms} ms, connect ${r.connect_ms} ms, ttfb ${r.ttfb_ms} ms`);
      expect(r.ok).toBe(true);
      expect(r.dns_ms!).toBeGreaterThanOrEqual(99);
      expect(r.dns_ms!).toBeLessThanOrEqual(130);
      expect(r.connect_ms!).toBeLessThan(50);
      expect(r.ttfb_ms!).toBeLessThan(50);
    });

    // Each reason from the fixed list, produced by the fault that should produce it (and a control).
    const faults: { reason: HttpResult['error'] | 'ok'; fault: string; url: () => string; extra?: Partial<HttpTarget>; status?: number | null }[] = [
      { reason: 'ok', fault: 'a healthy page with its keyword', url: () => `${portal.http}/ok`, status: 200 },
      { reason: 'dns', fault: 'a name the resolver says does not exist (NXDOMAIN)', url: () => 'http://khong-ton-tai.test/ok', status: null },
      { reason: 'refused', fault: 'nothing listening on the port (RST to the SYN)', url: () => `http://${svc.nsIp}:81/ok`, status: null },
      { reason: 'reset', fault: 'the server resets the connection after the request', url: () => `${portal.http}/reset`, status: null },
      { reason: 'timeout', fault: 'the server accepts and never answers', url: () => `${portal.http}/hang`, extra: { timeoutMs: 600 }, status: null },
      { reason: 'timeout', fault: 'SYNs dropped (blackholed port)', url: () => `http://${svc.nsIp}:8081/ok`, extra: { timeoutMs: 600 }, status: null },
      { reason: 'tls', fault: 'an expired certificate', url: () => `${portal.https.expired}/ok`, status: null },
      { reason: 'status', fault: 'HTTP 503', url: () => `${portal.http}/503`, status: 503 },
      { reason: 'keyword', fault: 'a page without the keyword', url: () => `${portal.http}/wrong`, status: 200 },
    ];
    it.each(faults)('$reason <- $fault', async ({ reason, url, extra, status }) => {
      const t0 = Date.now();
      const r = await get(url(), extra);
      if (reason === 'ok') expect(r).toMatchObject({ ok: true, status });
      else expect(r, JSON.stringify(r)).toMatchObject({ ok: false, error: reason, status });
      if (reason === 'timeout') expect(Date.now() - t0).toBeLessThan(600 + 400); // the deadline holds
    });

    it('expired certificate: tls, negative days left matching its notAfter (2020-02-01), issuer named', async () => {
      const r = await get(`${portal.https.expired}/ok`);
      // days left is rounded to 0.01 day by the probe; the clock moves milliseconds between the
      // probe's reading and this one: 0.006 covers both.
      const expected = (Date.UTC(2020, 1, 1) - Date.now()) / 86_400_000;
      expect(r).toMatchObject({ ok: false, error: 'tls', cert_issuer: 'CN=IOC Test Root CA, O=IOC test' });
      expect(r.detail).toMatch(/CERT_HAS_EXPIRED/);
      expect(Math.abs(r.cert_days_left! - expected)).toBeLessThanOrEqual(0.006);
    });

    it('soon-expiring certificate: ok, cert_days_left = the injected 5 days (+-0.006)', async () => {
      const r = await get(`${portal.https.soon}/ok`);
      const expected = (portal.certs.soon.notAfter - Date.now()) / 86_400_000;
      console.info(`[truth] http: certificate injected to end in ${portal.certs.soon.days} days -> cert_days_left ${r.cert_days_left}`);
      expect(r).toMatchObject({ ok: true, status: 200 });
      expect(r.tls_ms).toBeGreaterThan(0);
      expect(Math.abs(r.cert_days_left! - expected)).toBeLessThanOrEqual(0.006);
      expect(r.cert_days_left!).toBeGreaterThan(4.99);
      expect(r.cert_days_left!).toBeLessThanOrEqual(5);
    });

    it('a valid certificate from a CA the agent does not trust is tls; trusted it is ok with its issuer', async () => {
      const untrusting = createHttpProbe();
      const r = await run<HttpResult>(untrusting, httpT(`${portal.https.valid}/ok`));
      expect(r).toMatchObject({ ok: false, error: 'tls' });
      expect(r.detail).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/); // the server sends its leaf only
      const ok = await get(`${portal.https.valid}/ok`);
      expect(ok).toMatchObject({ ok: true, cert_issuer: 'CN=IOC Test Root CA, O=IOC test' });
      expect(Math.abs(ok.cert_days_left! - 30)).toBeLessThanOrEqual(0.01);
    });

    it('redirects: followed up to 5, phases of the final hop, total over all hops; a loop is error other', async () => {
      const three = await get(`${portal.http}/redirect/3`);
      expect(three).toMatchObject({ ok: true, status: 200, redirects: 3 });
      const five = await get(`${portal.http}/redirect/5`);
      expect(five).toMatchObject({ ok: true, redirects: 5 });
      const six = await get(`${portal.http}/redirect/6`);
      expect(six).toMatchObject({ ok: false, error: 'other', status: 302, redirects: 5 });
      expect(six.detail).toMatch(/more than 5 redirects/);
      const loop = await get(`${portal.http}/loop`);
      expect(loop).toMatchObject({ ok: false, error: 'other' });
      expect(loop.detail).toMatch(/^redirect loop: .*\/loop -> .*\/loop-b -> .*\/loop$/);
      // http -> https: the final hop's TLS phase and certificate are reported
      const up = await get(`${portal.http}/to-https`);
      expect(up).toMatchObject({ ok: true, redirects: 1, cert_issuer: 'CN=IOC Test Root CA, O=IOC test' });
      expect(up.tls_ms).toBeGreaterThan(0);
      // a redirect into a 300 ms TTFB: ttfb is the final hop's (~300), total covers both hops
      const slow = await get(`${portal.http}/go?to=${encodeURIComponent('/slow?ms=300')}`);
      expect(slow).toMatchObject({ ok: true, redirects: 1 });
      expect(slow.ttfb_ms!).toBeGreaterThanOrEqual(295);
      expect(slow.ttfb_ms!).toBeLessThan(400);
      expect(slow.total_ms!).toBeGreaterThan(slow.ttfb_ms! + slow.connect_ms!);
    });
  });

  describe('dns', () => {
    const q = (query: string, extra: Partial<DnsTarget> = {}) => run<DnsResult>(dnsProbe, dnsT(resolver, query, extra));

    it('answer counts and rcodes: NOERROR (1, 3, AAAA 2, through a CNAME 1), no data, NXDOMAIN, SERVFAIL, REFUSED', async () => {
      expect(await q('portal.test')).toMatchObject({ ok: true, rcode: 'NOERROR', answers: 1 });
      expect(await q('multi.test')).toMatchObject({ ok: true, rcode: 'NOERROR', answers: 3 });
      expect(await q('v6.test', { recordType: 'AAAA' })).toMatchObject({ ok: true, rcode: 'NOERROR', answers: 2 });
      expect(await q('www.cong.test')).toMatchObject({ ok: true, rcode: 'NOERROR', answers: 1 }); // the CNAME is not an address
      expect(await q('PORTAL.test.')).toMatchObject({ ok: true, answers: 1 }); // case and trailing dot
      expect(await q('portal.test', { recordType: 'AAAA' })).toMatchObject({ ok: false, rcode: 'NOERROR', answers: 0, error: 'no AAAA record' });
      expect(await q('khong-co.test')).toMatchObject({ ok: false, rcode: 'NXDOMAIN', answers: 0 });
      expect(await q('servfail.test')).toMatchObject({ ok: false, rcode: 'SERVFAIL' });
      expect(await q('refused.test')).toMatchObject({ ok: false, rcode: 'REFUSED' });
    });

    it('a resolver that never answers: TIMEOUT at the timeout', async () => {
      const t0 = Date.now();
      const r = await q('blackhole.test', { timeoutMs: 500 });
      const took = Date.now() - t0;
      expect(r).toMatchObject({ ok: false, rcode: 'TIMEOUT', total_ms: null, answers: 0 });
      expect(took).toBeGreaterThanOrEqual(490);
      expect(took).toBeLessThan(900);
    });

    it('nothing listening on the resolver port: UNREACHABLE at once (ICMP port unreachable), not a timeout', async () => {
      const t0 = Date.now();
      const r = await run<DnsResult>(dnsProbe, dnsT(`${svc.nsIp}:5353`, 'portal.test', { timeoutMs: 3000 }));
      expect(r).toMatchObject({ ok: false, rcode: 'UNREACHABLE' });
      expect(Date.now() - t0).toBeLessThan(1000);
    });

    it('an injected 100 ms answer delay reads as total_ms 100 (-1/+15)', async () => {
      // The server holds the answer 100 ms (Python timer: never early); the rest is one veth round
      // trip and two process wake-ups, well under a millisecond idle. +15 ms absorbs a busy CI box.
      const r = await q('slowdns.test');
      console.info(`[truth] dns: injected 100 ms -> total_ms ${r.total_ms}`);
      expect(r.ok).toBe(true);
      expect(r.total_ms!).toBeGreaterThanOrEqual(99);
      expect(r.total_ms!).toBeLessThanOrEqual(115);
    });

    it('a reply with the wrong id is ignored: the real answer 20 ms later is the one counted', async () => {
      const r = await q('spoofed.test');
      expect(r).toMatchObject({ ok: true, rcode: 'NOERROR', answers: 1 });
      expect(r.total_ms!).toBeGreaterThanOrEqual(19);
    });

    it('binds to the uplink: its own interface works, another uplink\'s leaves with an address the resolver cannot answer', async () => {
      const own = await run<DnsResult>(dnsProbe, dnsT(resolver, 'portal.test'), { uplink: { name: 'wan1', carrier: 'vnpt', interface: svc.hostIf } });
      expect(own.ok).toBe(true);
      const byAddr = await run<DnsResult>(dnsProbe, dnsT(resolver, 'portal.test'), { uplink: { name: 'wan1', carrier: 'vnpt', sourceAddress: svc.hostIp } });
      expect(byAddr.ok).toBe(true);
      // Source = the other uplink's address: the query reaches the server, whose namespace has no route back.
      const wrong = await run<DnsResult>(dnsProbe, dnsT(resolver, 'portal.test', { timeoutMs: 400 }), { uplink: { name: 'wan2', carrier: 'viettel', interface: other.hostIf } });
      expect(wrong).toMatchObject({ ok: false, rcode: 'TIMEOUT' });
      const missing = await run<DnsResult>(dnsProbe, dnsT(resolver, 'portal.test'), { uplink: { name: 'wan3', carrier: 'fpt', interface: 'iocTnone0' } });
      expect(missing).toMatchObject({ ok: false, rcode: 'ERROR', error: expect.stringMatching(/interface iocTnone0 not found/) });
    });
  });

  describe('tcp', () => {
    it('open port: ok with a small connect_ms; closed: refused; blackholed: timeout; host unreachable: unreachable', async () => {
      // A veth handshake is tens of microseconds; 20 ms leaves room for a busy box and still fails
      // if connect waited for anything real.
      const open = await run<TcpResult>(tcpProbe, tcpT(svc.nsIp, 80));
      console.info(`[truth] tcp: open port connect_ms ${open.connect_ms}`);
      expect(open).toMatchObject({ ok: true });
      expect(open.connect_ms!).toBeLessThan(20);
      expect(open.error).toBeUndefined();

      expect(await run<TcpResult>(tcpProbe, tcpT(svc.nsIp, 81))).toMatchObject({ ok: false, connect_ms: null, error: expect.stringMatching(/^refused/) });

      const t0 = Date.now();
      // a full GC while the SYNs go unanswered: the probe's own deadline must survive it (it once did not, and the
      // round hung until the kernel gave up on the connect)
      setFlagsFromString('--expose-gc');
      setTimeout(runInNewContext('gc') as () => void, 100);
      const dropped = await run<TcpResult>(tcpProbe, tcpT(svc.nsIp, 8081, { timeoutMs: 500 }));
      expect(dropped).toMatchObject({ ok: false, error: expect.stringMatching(/^timeout/) });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
      expect(Date.now() - t0).toBeLessThan(900);

      expect(await run<TcpResult>(tcpProbe, tcpT(svc.nsIp, 8082))).toMatchObject({ ok: false, error: expect.stringMatching(/^unreachable/) });
    });

    it('a host name is resolved first and its lookup is not counted in connect_ms', async () => {
      const probe = createTcpProbe({ lookup: lookupVia(svc.nsIp) });
      const r = await run<TcpResult>(probe, tcpT('slowdns.test', 80));
      expect(r.ok).toBe(true);
      expect(r.connect_ms!).toBeLessThan(20); // the 100 ms DNS delay is not in it
      expect(await run<TcpResult>(probe, tcpT('khong-co.test', 80))).toMatchObject({ ok: false, error: expect.stringMatching(/^dns/) });
    });

    it('binds to the uplink: another uplink\'s address gets no answer back', async () => {
      expect((await run<TcpResult>(tcpProbe, tcpT(svc.nsIp, 80), { uplink: { name: 'a', carrier: 'vnpt', sourceAddress: svc.hostIp } })).ok).toBe(true);
      const wrong = await run<TcpResult>(tcpProbe, tcpT(svc.nsIp, 80, { timeoutMs: 400 }), { uplink: { name: 'b', carrier: 'viettel', interface: other.hostIf } });
      expect(wrong).toMatchObject({ ok: false, error: expect.stringMatching(/^timeout/) });
    });
  });

  it('real probes that time out or hang never stall a scheduler round of the healthy targets', async () => {
    // Three targets fail slowly (blackholed TCP, silent resolver, HTTP that never answers, each held
    // to a 700 ms deadline) next to a healthy TCP target, all every second, default concurrency: the
    // healthy target keeps its 1 s rhythm (+-100 ms of timer noise) and the failures arrive as
    // timeout results, one per round, not as a stalled schedule.
    const results: ProbeResult[] = [];
    const sched = new Scheduler({ onResult: (r) => results.push(r), random: () => 0 });
    const base = { intervalSec: 1, timeoutMs: 700 };
    sched.setPlan({
      uplinks: [],
      targets: [
        { ...base, id: 'bh', kind: 'tcp', host: svc.nsIp, port: 8081 },
        { ...base, id: 'dns-silent', kind: 'dns', resolver, query: 'blackhole.test', recordType: 'A' },
        { ...base, id: 'hang', kind: 'http', url: `${portal.http}/hang` },
        { ...base, id: 'healthy', kind: 'tcp', host: svc.nsIp, port: 80 },
      ],
    });
    await new Promise((r) => setTimeout(r, 4600));
    await sched.stop();
    const of = (id: string) => results.filter((r) => r.target === id);
    const healthy = of('healthy') as TcpResult[];
    expect(healthy.length).toBeGreaterThanOrEqual(3);
    expect(healthy.every((r) => r.ok)).toBe(true);
    for (let i = 1; i < healthy.length; i++) expect(Math.abs(healthy[i]!.ts - healthy[i - 1]!.ts - 1000)).toBeLessThan(100);
    expect(of('bh').every((r) => r.kind === 'tcp' && /^timeout/.test(r.error ?? ''))).toBe(true);
    expect(of('dns-silent').every((r) => r.kind === 'dns' && r.rcode === 'TIMEOUT')).toBe(true);
    expect(of('hang').every((r) => r.kind === 'http' && r.error === 'timeout')).toBe(true);
    for (const id of ['bh', 'dns-silent', 'hang']) expect(of(id).length).toBeGreaterThanOrEqual(3);
  });
});
