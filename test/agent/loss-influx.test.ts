// Loss test 2, counted exactly: the store (a real influxd) is stopped for 10 s and restarted while a real agent
// process keeps probing loopback. The server refuses the batches it cannot store (no ack), the agent keeps them
// in its spool and resends them; every result lands in InfluxDB exactly once.
import { afterAll, describe, expect, it } from 'vitest';
import { skipWithoutInfluxd, startInfluxd } from '../helpers/influxd.ts';
import { account, describeAccounting, expectEveryResultOnce, LossRig, sleep, until, waitCaughtUp, type Arrival } from './loss-harness.ts';

const AGENT = { id: 'qn-loss-influx', commune: '21025', carrier: 'vnpt', token: 'loss-influx-token-0123456789' };

describe.skipIf(skipWithoutInfluxd())('loss: influxd stopped and restarted', () => {
  const rig = new LossRig();
  afterAll(() => rig.stop());

  it('every result produced during the store outage is stored once, after the store is back', async () => {
    const influxd = await startInfluxd();
    rig.onStop(() => influxd.dispose());
    const portal = await rig.portal();
    const { spoolDir, traceFile } = rig.agentFiles();
    const arrivals: Arrival[] = [];
    const s = await rig.server({
      agents: [AGENT],
      store: { kind: 'influx', url: influxd.url, database: 'ioc_loss' },
      server: { heartbeatSec: 1 },
      targets: [
        { id: 'lo1', name: 'Loopback 1', kind: 'icmp', host: '127.0.0.1', count: 1, intervalSec: 5, timeoutMs: 2000 },
        { id: 'lo2', name: 'Loopback 2', kind: 'icmp', host: '127.0.0.2', count: 1, intervalSec: 5, timeoutMs: 2000 },
        { id: 'portal', name: 'Portal (test)', kind: 'http', url: portal.url, intervalSec: 5, timeoutMs: 2000 },
      ],
    }, AGENT.id, arrivals);
    const from = Date.now() - 60_000;
    const agent = rig.agent({ server: s.url, id: AGENT.id, token: AGENT.token, spoolDir, traceFile, replayRate: 500 });
    agent.start();
    await until(() => arrivals.length >= 20, 40_000, 'first results stored');

    await influxd.stop();
    const failuresBefore = s.registry.counters.storeFailures;
    await sleep(10_000);
    const pendingDuringOutage = s.registry.get(AGENT.id)!.pending; // from the agent's heartbeat
    const spoolBytesDuringOutage = s.registry.get(AGENT.id)!.spoolBytes;
    await influxd.restart();
    const backAt = Date.now();
    await waitCaughtUp(() => s, AGENT.id, traceFile, from, 60_000);
    const info = { ...s.registry.get(AGENT.id)! };
    const storeFailures = s.registry.counters.storeFailures - failuresBefore;
    expect((await agent.stop('SIGTERM')).code, agent.log.slice(-3000)).toBe(0);

    const a = await account({ s, agentId: AGENT.id, traceFile, spoolDir, arrivals, from, reconnectAt: backAt });
    console.log(describeAccounting('influxd restart', a, `batches refused while influxd was down ${storeFailures}, agent pending during the outage ${pendingDuringOutage} (${spoolBytesDuringOutage} spool bytes), dropped ${info.dropped}`));

    expect(storeFailures).toBeGreaterThan(0); // the outage was real: the server refused batches
    expect(pendingDuringOutage).toBeGreaterThan(20); // and the agent held them (heartbeat figure)
    expect(spoolBytesDuringOutage).toBeGreaterThan(0);
    expectEveryResultOnce(a);
    expect(a.backlog).toBeGreaterThan(40);
    // Refused batches go back in id order and are resent oldest first; the store came back between two flushes at
    // most once, which could reorder one batch pair, so this is reported and held to zero only as observed.
    expect(a.backlogInversions).toBe(0);
    expect(info.dropped).toBe(0);
  }, 240_000);
});
