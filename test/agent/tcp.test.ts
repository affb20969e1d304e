// The tcp probe against real sockets on loopback (no root needed). Blackholed and unreachable ports,
// and the truth of connect_ms, are in truth.netns.test.ts.
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpResultSchema, type TcpResult } from '../../config/wire.ts';
import { createTcpProbe, TCP_ERRORS, type TcpTarget } from '../../agent/probes/tcp.ts';
import type { ProbeContext } from '../../agent/probes/types.ts';

const probe = createTcpProbe();
const t = (port: number, extra: Partial<TcpTarget> = {}): TcpTarget => ({ id: 'mail', kind: 'tcp', host: '127.0.0.1', port, intervalSec: 60, timeoutMs: 2000, ...extra });
async function run(target: TcpTarget, ctx: Partial<ProbeContext> = {}): Promise<TcpResult> {
  const r = (await probe.run(target, { signal: AbortSignal.timeout(5000), ...ctx })) as TcpResult;
  expect(tcpResultSchema.safeParse(r).success).toBe(true);
  if (r.error) expect(TCP_ERRORS).toContain(r.error.split(':')[0]);
  return r;
}

describe('tcp probe (loopback)', () => {
  let server: net.Server;
  let port = 0;
  let closed = 0;
  const remotes: string[] = [];
  beforeAll(async () => {
    server = net.createServer((s) => {
      remotes.push(s.remoteAddress ?? '');
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    closed = (tmp.address() as AddressInfo).port;
    await new Promise((r) => tmp.close(r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('an open port: ok, connect_ms measured, and the connection is closed again', async () => {
    const r = await run(t(port));
    expect(r).toMatchObject({ ok: true, kind: 'tcp', target: 'mail' });
    expect(r.connect_ms).toBeGreaterThanOrEqual(0);
    expect(r.connect_ms!).toBeLessThan(100);
    await new Promise((res) => setTimeout(res, 50));
    await new Promise<void>((res) => server.getConnections((_e, n) => (expect(n).toBe(0), res())));
  });

  it('a closed port: refused', async () => {
    expect(await run(t(closed))).toMatchObject({ ok: false, connect_ms: null, error: 'refused: ECONNREFUSED' });
  });

  it('localhost is looked up and still connects (lookup time excluded)', async () => {
    expect((await run(t(port, { host: 'localhost' }))).ok).toBe(true);
  });

  it('binds to the uplink source address', async () => {
    await run(t(port), { uplink: { name: 'wan2', carrier: 'viettel', sourceAddress: '127.0.0.2' } });
    expect(remotes.at(-1)).toBe('127.0.0.2');
    await run(t(port));
    expect(remotes.at(-1)).toBe('127.0.0.1');
  });

  it('an uplink interface that does not exist fails the round instead of using the default route', async () => {
    const r = await run(t(port), { uplink: { name: 'wan2', carrier: 'viettel', interface: 'nosuch0' } });
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/^other: uplink wan2: interface nosuch0 not found/) });
  });

  it('an already-aborted signal returns a timeout result at once; an invalid port is a result too', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await run(t(port), { signal: ac.signal })).toMatchObject({ ok: false, error: expect.stringMatching(/^timeout/) });
    expect(await run(t(0))).toMatchObject({ ok: false, error: expect.stringMatching(/^other: invalid port/) });
  });
});
