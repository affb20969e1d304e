// The dns probe's packet code on hand-made packets, and the probe against scripted UDP servers on
// loopback (no root needed). Rcodes and timing against a real server are in truth.netns.test.ts.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dnsResultSchema, type DnsResult } from '../../config/wire.ts';
import { createDnsProbe, decodeResponse, encodeName, encodeQuery, parseResolver, rcodeName, type DnsTarget } from '../../agent/probes/dns.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('dns packets', () => {
  it('encodes a recursive A query the way dig does', () => {
    // dig +noedns example.com A, id 0x1234: header, 7example3com0, type 1, class 1
    expect(encodeQuery(0x1234, 'example.com', 'A')).toEqual(hex('1234 0100 0001 0000 0000 0000 076578616d706c6503636f6d00 0001 0001'));
    expect(encodeQuery(1, 'example.com.', 'AAAA').subarray(-4)).toEqual(hex('001c 0001'));
  });

  it('encodes a Vietnamese IDN name as punycode and rejects names DNS cannot carry', () => {
    expect(encodeName('dịchvụcông.vn').toString('latin1')).toContain('xn--');
    expect(() => encodeName('a..b')).toThrow(/invalid query name/);
    expect(() => encodeName(`${'a'.repeat(64)}.vn`)).toThrow(/invalid query name/);
  });

  const question = '076578616d706c6503636f6d00 0001 0001';
  // answer: CNAME (pointer to the question name) -> www.example.com, then an A for that name via pointers
  const cnameThenA = hex(
    `1234 8180 0001 0002 0000 0000 ${question}` +
      ' c00c 0005 0001 0000003c 0006 03777777c00c' + // example.com CNAME www.example.com (compressed)
      ' c029 0001 0001 0000003c 0004 0a000001', // www.example.com A 10.0.0.1 (pointer to the CNAME's rdata)
  );

  it('counts records of the asked type through compressed names, not the CNAME', () => {
    expect(decodeResponse(cnameThenA, 0x1234, 'example.com', 'A')).toEqual({ rcode: 'NOERROR', answers: 1, truncated: false });
    expect(decodeResponse(cnameThenA, 0x1234, 'EXAMPLE.com.', 'A')?.answers).toBe(1);
  });

  it('ignores replies to another query (id, question, or not a response)', () => {
    expect(decodeResponse(cnameThenA, 0x4321, 'example.com', 'A')).toBeNull();
    expect(decodeResponse(cnameThenA, 0x1234, 'example.org', 'A')).toBeNull();
    expect(decodeResponse(cnameThenA, 0x1234, 'example.com', 'AAAA')).toBeNull();
    expect(decodeResponse(encodeQuery(0x1234, 'example.com', 'A'), 0x1234, 'example.com', 'A')).toBeNull();
  });

  it('reads the rcode and the TC bit; throws on malformed packets (pointer loops, short records)', () => {
    expect(decodeResponse(hex(`1234 8183 0001 0000 0000 0000 ${question}`), 0x1234, 'example.com', 'A')).toEqual({ rcode: 'NXDOMAIN', answers: 0, truncated: false });
    expect(decodeResponse(hex(`1234 8382 0001 0000 0000 0000 ${question}`), 0x1234, 'example.com', 'A')).toEqual({ rcode: 'SERVFAIL', answers: 0, truncated: true });
    expect(() => decodeResponse(hex(`1234 8180 0001 0001 0000 0000 ${question} c02b`), 0x1234, 'example.com', 'A')).toThrow();
    expect(() => decodeResponse(hex(`1234 8180 0001 0001 0000 0000 ${question} c00c 0001 0001 0000003c 0004 0a00`), 0x1234, 'example.com', 'A')).toThrow(/past end/);
    expect(() => decodeResponse(hex('1234 8180 0001 0001 0000 0000 c00c 0001 0001'), 0x1234, 'example.com', 'A')).toThrow(/compression|name/);
    expect(rcodeName(5)).toBe('REFUSED');
    expect(rcodeName(12)).toBe('RCODE12');
  });

  it('parses resolver addresses with optional port', () => {
    expect(parseResolver('10.0.0.53')).toEqual({ address: '10.0.0.53', port: 53, family: 4 });
    expect(parseResolver('127.0.0.1:5353')).toEqual({ address: '127.0.0.1', port: 5353, family: 4 });
    expect(parseResolver('::1')).toEqual({ address: '::1', port: 53, family: 6 });
    expect(parseResolver('[::1]:5353')).toEqual({ address: '::1', port: 5353, family: 6 });
    expect(parseResolver('dns.google')).toBeNull();
    expect(parseResolver('127.0.0.1:0')).toBeNull();
  });
});

describe('dns probe against scripted loopback servers', () => {
  let server: dgram.Socket | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });
  /** A UDP server on 127.0.0.1 answering each query with reply(query). */
  async function serve(reply: (q: Buffer, from: dgram.RemoteInfo) => Buffer[]): Promise<string> {
    const s = dgram.createSocket('udp4');
    server = s;
    s.on('message', (q, from) => {
      for (const r of reply(q, from)) s.send(r, from.port, from.address);
    });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    return `127.0.0.1:${(s.address() as AddressInfo).port}`;
  }
  const t = (resolver: string, extra: Partial<DnsTarget> = {}): DnsTarget => ({
    id: 'd',
    kind: 'dns',
    resolver,
    query: 'example.com',
    recordType: 'A',
    intervalSec: 30,
    timeoutMs: 500,
    ...extra,
  });
  const probe = createDnsProbe();
  const run = async (target: DnsTarget, ctx: { signal?: AbortSignal; sourceAddress?: string } = {}) => {
    const r = (await probe.run(target, {
      signal: ctx.signal ?? AbortSignal.timeout(5000),
      ...(ctx.sourceAddress ? { uplink: { name: 'u', carrier: 'c', sourceAddress: ctx.sourceAddress } } : {}),
    })) as DnsResult;
    expect(dnsResultSchema.safeParse(r).success).toBe(true);
    return r;
  };
  // answer = the query with QR/RA set and one A record appended
  const withA = (q: Buffer) => {
    const r = Buffer.concat([q, hex('c00c 0001 0001 0000003c 0004 7f000001')]);
    r.writeUInt16BE(0x8180, 2);
    r.writeUInt16BE(1, 6);
    return r;
  };

  it('a well-formed answer: ok, NOERROR, 1 answer, a time', async () => {
    const r = await run(t(await serve((q) => [withA(q)])));
    expect(r).toMatchObject({ ok: true, rcode: 'NOERROR', answers: 1 });
    expect(r.total_ms).toBeGreaterThan(0);
    expect(r.total_ms!).toBeLessThan(100);
  });

  it('garbage from the resolver and then silence: MALFORMED (not a plain timeout)', async () => {
    const r = await run(t(await serve((q) => [Buffer.concat([q.subarray(0, 2), hex('8180 0001 0001 0000 0000 ff')])])));
    expect(r).toMatchObject({ ok: false, rcode: 'MALFORMED', total_ms: null });
  });

  it('garbage first, the real answer next: the answer counts', async () => {
    const r = await run(t(await serve((q) => [Buffer.concat([q.subarray(0, 2), hex('8180 0001 0001 0000 0000 ff')]), withA(q)])));
    expect(r).toMatchObject({ ok: true, answers: 1 });
  });

  it("the caller's signal stops it: TIMEOUT", async () => {
    const t0 = Date.now();
    const r = await run(t(await serve(() => []), { timeoutMs: 10_000 }), { signal: AbortSignal.timeout(200) });
    expect(r).toMatchObject({ ok: false, rcode: 'TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('binds to the uplink source address', async () => {
    let from = '';
    const resolver = await serve((q, rinfo) => ((from = rinfo.address), [withA(q)]));
    expect((await run(t(resolver), { sourceAddress: '127.0.0.2' })).ok).toBe(true);
    expect(from).toBe('127.0.0.2');
    expect((await run(t(resolver))).ok).toBe(true);
    expect(from).toBe('127.0.0.1');
  });

  it('bad configuration is a result, not an exception', async () => {
    expect(await run(t('dns.example'))).toMatchObject({ ok: false, rcode: 'ERROR', error: expect.stringMatching(/IP address/) });
    expect(await run(t('127.0.0.1:53', { query: 'a..b' }))).toMatchObject({ ok: false, rcode: 'ERROR', error: expect.stringMatching(/invalid query name/) });
  });
});
