// Loss test 4, counted exactly: the commune's link is cut and restored. The agent process runs inside a network
// namespace (a commune PC) and reaches the server on the root-side veth address; the cut is `ip link set <veth>
// down` for 15 s (longer than the agent's silence timeout of 3 heartbeats + 5 s, so it notices and reconnects).
// Its probes keep running during the cut (ICMP to the namespace's loopback succeeds, HTTP to the server side times
// out): those results are real figures too, and each must reach the store exactly once.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createHost, destroyAllHosts, skipWithoutNetns } from '../helpers/netns.ts';
import { account, describeAccounting, expectEveryResultOnce, LossRig, sleep, until, waitCaughtUp, type Arrival } from './loss-harness.ts';

const AGENT = { id: 'qn-loss-netns', commune: '21025', carrier: 'viettel', token: 'loss-netns-token-0123456789' };

describe.skipIf(skipWithoutNetns('loss: link cut (network namespace)'))('loss: link cut and restored', () => {
  const rig = new LossRig();
  afterAll(async () => {
    await rig.stop();
    destroyAllHosts();
  });

  it('results taken while the link is down reach the store once each after it is back, backlog oldest first', async () => {
    const host = createHost({ name: 'commune' });
    const portal = await rig.portal(host.hostIp);
    const { spoolDir, traceFile } = rig.agentFiles();
    const arrivals: Arrival[] = [];
    const s = await rig.server({
      agents: [AGENT],
      host: host.hostIp,
      server: { heartbeatSec: 1 },
      targets: [
        { id: 'lo1', name: 'Loopback (commune PC)', kind: 'icmp', host: '127.0.0.1', count: 1, intervalSec: 5, timeoutMs: 2000 },
        { id: 'portal', name: 'Portal (server side)', kind: 'http', url: portal.url, intervalSec: 5, timeoutMs: 2000 },
      ],
    }, AGENT.id, arrivals);
    const from = Date.now() - 60_000;
    const agent = rig.agent({ server: s.url, id: AGENT.id, token: AGENT.token, spoolDir, traceFile, replayRate: 500, netns: host.ns });
    agent.start();
    await until(() => arrivals.length >= 10, 40_000, 'first results stored');
    const firstConnectedAt = s.registry.get(AGENT.id)!.connectedAt;

    execFileSync('ip', ['link', 'set', host.hostIf, 'down']);
    const cutAt = Date.now();
    await sleep(15_000);
    const storedDuringCut = arrivals.filter((x) => x.at > cutAt + 1000).length;
    execFileSync('ip', ['link', 'set', host.hostIf, 'up']);
    // The address stays on the interface while it is down; the server's listening socket never noticed.
    await until(() => s.registry.get(AGENT.id)?.connectedAt !== firstConnectedAt && s.registry.get(AGENT.id)?.connected === true, 60_000, 'agent reconnected after the cut', 100);
    const reconnectAt = s.registry.get(AGENT.id)!.connectedAt!;
    await waitCaughtUp(() => s, AGENT.id, traceFile, from, 60_000);
    const info = { ...s.registry.get(AGENT.id)! };
    expect((await agent.stop('SIGTERM')).code, agent.log.slice(-3000)).toBe(0);

    const a = await account({ s, agentId: AGENT.id, traceFile, spoolDir, arrivals, from, reconnectAt });
    const linkDrops = agent.logged('agent link closed; reconnecting').length + agent.logged('server silent; reconnecting').length;
    console.log(describeAccounting('link cut', a, `cut 15 s, stored during the cut ${storedDuringCut}, reconnected ${((reconnectAt - cutAt) / 1000).toFixed(1)} s after the cut began, link drops logged ${linkDrops}, dropped ${info.dropped}`));

    expect(storedDuringCut).toBe(0); // the cut was real
    expectEveryResultOnce(a);
    expect(a.backlog).toBeGreaterThan(20); // ~15 s x 4 results/s waited in the spool
    expect(a.backlogInversions).toBe(0);
    expect(info.dropped).toBe(0);
  }, 240_000);
});
