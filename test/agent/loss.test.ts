// Loss tests, counted exactly, with a real server (DuckDB store) and a real agent process with its disk spool,
// probing loopback (system ping to 127.0.0.1/127.0.0.2, HTTP to a local portal) every 0.5 s (--interval-scale 0.1).
//   1. the server is stopped for 10 s and restarted on the same port and data dir
//   3. the agent is SIGKILLed while the server is writing one of its replayed batches, then restarted
// The influxd outage (2) is in loss-influx.test.ts, the link cut in a network namespace (4) in loss-netns.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import type { TestServerOptions } from '../helpers/server.ts';
import { account, describeAccounting, expectEveryResultOnce, LossRig, sleep, until, waitCaughtUp, type Arrival } from './loss-harness.ts';

const AGENT = { id: 'qn-loss', commune: '21025', carrier: 'vnpt', token: 'loss-test-token-0123456789' };
const targets = (portal: string): TestServerOptions['targets'] => [
  { id: 'lo1', name: 'Loopback 1', kind: 'icmp', host: '127.0.0.1', count: 1, intervalSec: 5, timeoutMs: 2000 },
  { id: 'lo2', name: 'Loopback 2', kind: 'icmp', host: '127.0.0.2', count: 1, intervalSec: 5, timeoutMs: 2000 },
  { id: 'portal', name: 'Portal (test)', kind: 'http', url: portal, intervalSec: 5, timeoutMs: 2000 },
  { id: 'portal2', name: 'Portal 2 (test)', kind: 'http', url: `${portal}x`, intervalSec: 5, timeoutMs: 2000 },
];
const TARGETS = 4;

const rig = new LossRig();
afterAll(() => rig.stop());

async function setup(replayRate: number) {
  const dataDir = rig.dir('ioc-loss-data-');
  const { spoolDir, traceFile } = rig.agentFiles();
  const portal = await rig.portal();
  const opts: TestServerOptions = { agents: [AGENT], dataDir, targets: targets(portal.url), server: { heartbeatSec: 1 } };
  const arrivals: Arrival[] = [];
  const s = await rig.server(opts, AGENT.id, arrivals);
  const agent = rig.agent({ server: s.url, id: AGENT.id, token: AGENT.token, spoolDir, traceFile, replayRate });
  return { opts, s, arrivals, traceFile, spoolDir, agent, from: Date.now() - 60_000 };
}

describe('loss: a real agent process keeps every result across failures', () => {
  it('server stopped 10 s and restarted on the same port and data dir: every result once, backlog oldest first at the replay rate', async () => {
    const RATE = 40;
    const { opts, s: s1, arrivals, traceFile, spoolDir, agent, from } = await setup(RATE);
    agent.start();
    await until(() => arrivals.length >= 20, 40_000, 'first results stored');
    const port = s1.port;
    await s1.stop();
    await sleep(10_000);
    const s2 = await rig.server({ ...opts, port }, AGENT.id, arrivals);
    await until(() => s2.registry.get(AGENT.id)?.connected === true, 45_000, 'agent reconnected', 100);
    const reconnectAt = s2.registry.get(AGENT.id)!.connectedAt!;
    await waitCaughtUp(() => s2, AGENT.id, traceFile, from, 60_000);
    const info = { ...s2.registry.get(AGENT.id)! };
    const exit = await agent.stop('SIGTERM');
    expect(exit.code, agent.log.slice(-3000)).toBe(0);

    const a = await account({ s: s2, agentId: AGENT.id, traceFile, spoolDir, arrivals, from, reconnectAt });
    // Replay rate: everything the server took from the agent while the backlog drained, after the first burst.
    const replayed = arrivals.filter((x) => x.at >= reconnectAt);
    const firstAt = replayed[0]!.at;
    const backlogEnd = Math.max(...arrivals.filter((x) => x.at >= reconnectAt && x.ts < reconnectAt - 1000).map((x) => x.at));
    const inWindow = replayed.filter((x) => x.at > firstAt && x.at <= backlogEnd).length;
    const rate = inWindow / ((backlogEnd - firstAt) / 1000);
    console.log(describeAccounting('server restart', a, `replay ${rate.toFixed(1)} results/s (limit ${RATE}/s), agent heartbeat: dropped ${info.dropped}, pending ${info.pending}`));

    expectEveryResultOnce(a);
    expect(a.backlog).toBeGreaterThan(40); // ~10 s x 8 results/s waited in the spool
    expect(a.backlogInversions).toBe(0);
    expect(info.dropped).toBe(0);
    expect(rate).toBeLessThanOrEqual(RATE * 1.15);
    expect(rate).toBeGreaterThan(RATE * 0.5);
  }, 240_000);

  it('agent SIGKILLed while the server writes one of its replayed batches, restarted on the same spool: every taken result once', async () => {
    const { opts, s: s1, arrivals, traceFile, spoolDir, agent, from } = await setup(20);
    agent.start();
    await until(() => arrivals.length >= 20, 40_000, 'first results stored');
    const port = s1.port;
    await s1.stop();
    await sleep(6000);
    const backlogBefore = Date.now();
    let killedAt = 0;
    let killedBatch = 0;
    // The kill lands inside the server's write of a replayed batch: stored, but the ack never reaches the agent.
    const s2 = await rig.server({ ...opts, port }, AGENT.id, arrivals, async (pts) => {
      if (killedAt || !pts.some((p) => p.measurement !== 'agent' && p.ts < backlogBefore - 1000)) return;
      killedAt = Date.now();
      killedBatch = pts.filter((p) => p.measurement !== 'agent').length;
      agent.proc!.kill('SIGKILL');
      await sleep(300);
    });
    await until(() => killedAt > 0, 45_000, 'a replayed batch to kill the agent in', 50);
    const exit = await agent.stop('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    await sleep(500);
    agent.start(); // same spool dir, same trace file
    await until(() => agent.logged('spool opened').length >= 2, 20_000, 'restarted agent opened its spool', 100);
    const reopened = agent.logged('spool opened')[1]!;
    await waitCaughtUp(() => s2, AGENT.id, traceFile, from, 60_000);
    const info = { ...s2.registry.get(AGENT.id)! };
    expect((await agent.stop('SIGTERM')).code, agent.log.slice(-3000)).toBe(0);

    const a = await account({ s: s2, agentId: AGENT.id, traceFile, spoolDir, arrivals, from, reconnectAt: killedAt });
    console.log(describeAccounting('SIGKILL mid-batch', a, `killed while the server wrote a batch of ${killedBatch}; spool on restart: pending ${reopened.pending}, corrupt ${reopened.corrupt}; dropped ${info.dropped}`));

    expect(a.missing).toEqual([]);
    expect(a.phantom).toEqual([]);
    expect(a.duplicateRows).toBe(0);
    expect(a.spoolLeft).toBeLessThanOrEqual(2); // taken just before SIGTERM: on disk, sent at the next start
    expect(a.orderMatches).toBe(true);
    expect(a.resentWrites).toBeGreaterThanOrEqual(killedBatch); // the batch the dead agent never saw acked came again
    expect(Number(reopened.pending)).toBeGreaterThan(0);
    // At the kill, at most one round per target can be between "produced" and "fsynced".
    expect(a.lostInMemory).toBeLessThanOrEqual(TARGETS);
    expect(a.storedNotTaken).toBeLessThanOrEqual(TARGETS);
    // every stored result was taken or was in flight at the kill; one taken at the last moment may still be on disk
    expect(a.stored + a.spoolLeft).toBe(a.taken + a.storedNotTaken);
    expect(info.dropped).toBe(Number(reopened.corrupt)); // only a torn record could count as dropped here
  }, 240_000);
});
