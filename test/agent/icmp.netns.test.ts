// Real system ping against hosts in network namespaces this test creates (addresses on its own veths).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icmpResultSchema, type IcmpResult } from '../../config/wire.ts';
import { createIcmpProbe, type IcmpTarget } from '../../agent/probes/icmp.ts';
import { createHost, destroyAllHosts, skipWithoutNetns, type NetnsHost } from '../helpers/netns.ts';

const skip = skipWithoutNetns('ICMP probe against network namespaces');

// As root, iputils accepts intervals below 200 ms; the config schema does not, the probe option does.
const probe = createIcmpProbe({ minSpacingMs: 10 });
const target = (host: string, count: number, spacingMs: number, timeoutMs = 20_000): IcmpTarget => ({
  id: 'gw',
  kind: 'icmp',
  host,
  count,
  spacingMs,
  intervalSec: 30,
  timeoutMs,
});
const run = async (t: IcmpTarget, uplink?: Parameters<typeof probe.run>[1]['uplink']) => {
  const r = (await probe.run(t, { signal: AbortSignal.timeout(t.timeoutMs + 1000), ...(uplink ? { uplink } : {}) })) as IcmpResult;
  expect(icmpResultSchema.safeParse(r).success).toBe(true);
  return r;
};

describe.skipIf(skip)('icmp probe (real ping, network namespaces)', () => {
  let clean: NetnsHost;
  let lossy: NetnsHost;
  let silent: NetnsHost;

  beforeAll(() => {
    clean = createHost({ name: 'clean' });
    lossy = createHost({ name: 'lossy', loss: 30 });
    silent = createHost({ name: 'silent', answerPing: false });
  });
  afterAll(() => destroyAllHosts());

  it('0 % loss: every echo answered, per-echo RTTs present', async () => {
    const r = await run(target(clean.nsIp, 10, 50));
    expect(r.kind).toBe('icmp');
    expect(r).toMatchObject({ target: 'gw', sent: 10, received: 10, loss: 0 });
    expect(r.rtts).toHaveLength(10);
    for (const x of r.rtts!) expect(x).toBeGreaterThan(0);
    expect(r.rtt_min!).toBeLessThanOrEqual(r.rtt_median!);
    expect(r.rtt_median!).toBeLessThanOrEqual(r.rtt_max!);
    expect(r.jitter).not.toBeNull();
    expect(r.error).toBeUndefined();
    expect(r.uplink).toBeUndefined(); // the scheduler labels results, not the probe
  });

  it('30 % injected loss reads within binomial bounds over 400 echoes', async () => {
    // Each echo request is dropped independently with p = 0.3 (nft numgen, inbound only), so the number
    // lost over n = 400 is Binomial(400, 0.3): mean 120, sd = sqrt(400 * 0.3 * 0.7) = 9.17.
    // Accepting 120 +- 4.5 sd = [79, 161] lost, i.e. 19.75 %..40.25 %, fails by chance about 7 times in
    // a million runs, and still rejects a wrong reading: 0 % (no loss applied) or 51 % (loss applied in
    // both directions, 1 - 0.7^2) are more than 13 sd away.
    const r = await run(target(lossy.nsIp, 400, 10));
    console.info(`[icmp] injected 30 % loss, read ${r.loss} % over ${r.sent} echoes (${r.received} replies)`);
    expect(r.sent).toBe(400);
    expect(r.loss).toBeGreaterThanOrEqual(19.75);
    expect(r.loss).toBeLessThanOrEqual(40.25);
    expect(r.rtts).toHaveLength(400);
    expect(r.rtts!.filter((x) => x === null)).toHaveLength(r.sent - r.received);
  }, 30_000);

  it('a host that does not answer: 100 % loss, null RTTs', async () => {
    const r = await run(target(silent.nsIp, 5, 200));
    expect(r).toMatchObject({ sent: 5, received: 0, loss: 100, rtt_min: null, rtt_median: null, rtt_avg: null, rtt_max: null, jitter: null });
    expect(r.rtts).toEqual([null, null, null, null, null]);
  });

  it('binds to the uplink: its own interface or source address works, another interface does not', async () => {
    const viaIf = await run(target(clean.nsIp, 3, 50), { name: 'a', carrier: 'vnpt', interface: clean.hostIf });
    expect(viaIf.received).toBe(3);
    const viaAddr = await run(target(clean.nsIp, 3, 50), { name: 'a', carrier: 'vnpt', sourceAddress: clean.hostIp });
    expect(viaAddr.received).toBe(3);
    // Bound to the silent host's veth, echoes for the clean host go into the wrong namespace and die.
    const wrong = await run(target(clean.nsIp, 3, 50), { name: 'b', carrier: 'viettel', interface: silent.hostIf });
    expect(wrong.received).toBe(0);
    expect(wrong.loss).toBe(100);
  });

  it('the round deadline is enforced: a round that cannot finish returns a timeout promptly', async () => {
    const t0 = Date.now();
    const r = (await probe.run(target(silent.nsIp, 10, 200, 500), { signal: AbortSignal.timeout(500) })) as IcmpResult;
    const took = Date.now() - t0;
    expect(took).toBeLessThan(1500);
    expect(r.error).toMatch(/timeout/);
    expect(r.received).toBe(0);
  });
});
