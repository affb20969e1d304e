// Bounded inputs on the agent link (server.limits): connections per source address, batches in flight per agent,
// one connection per agent id, and the writer's queue while the store hangs. Every refusal is counted on /metrics,
// and nothing an agent measured is lost: what is refused is not acked, so the agent's spool resends it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Link } from '../../agent/link.ts';
import { MemoryOutbox } from '../../agent/spool/index.ts';
import { CLOSE } from '../../config/wire.ts';
import { BatchWriter, WriterBusyError } from '../../server/ingest/writer.ts';
import { InfluxStore } from '../../server/stores/influx.ts';
import type { Point } from '../../server/stores/types.ts';
import { connectAgent, icmpOk, type TestAgentClient } from '../helpers/agent-client.ts';
import { skipWithoutInfluxd, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const PER_ADDRESS = 256; // the default of server.limits.agentConnectionsPerAddress
const IN_FLIGHT = 16; // the default of server.limits.agentBatchesInFlight

async function metric(s: TestServer, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : NaN;
}

describe('agent connections per source address', () => {
  let s: TestServer;
  const agents = Array.from({ length: PER_ADDRESS + 1 }, (_, i) => ({ id: `qn-nat-${i}`, commune: '21025' }));
  const open: TestAgentClient[] = [];
  beforeAll(async () => {
    s = await startTestServer({ agents });
  }, 120_000);
  afterAll(async () => {
    for (const c of open) c.close();
    await s?.stop();
  });

  it(`the ${PER_ADDRESS + 1}th connection from one address is refused with 429 and counted; a freed slot is taken again`, async () => {
    for (let i = 0; i < PER_ADDRESS; i += 32) {
      open.push(...(await Promise.all(agents.slice(i, Math.min(i + 32, PER_ADDRESS)).map((a) => connectAgent(s.url, a.id, s.tokens[a.id]!)))));
    }
    expect(open).toHaveLength(PER_ADDRESS);
    const last = agents[PER_ADDRESS]!;
    await expect(connectAgent(s.url, last.id, s.tokens[last.id]!)).rejects.toThrow(/HTTP 429/);
    expect(await metric(s, 'ioc_ingest_refused_total', 'reason="connections_per_address"')).toBe(1);

    // an agent reconnecting from the same address replaces its own connection: not refused, counted as replaced
    const again = await connectAgent(s.url, agents[0]!.id, s.tokens[agents[0]!.id]!);
    expect((await open[0]!.closed).code).toBe(CLOSE.replaced);
    open[0] = again;
    expect(await metric(s, 'ioc_agent_connections_replaced_total')).toBe(1);

    open.pop()!.close();
    await until('the freed slot', async () => {
      try {
        open.push(await connectAgent(s.url, last.id, s.tokens[last.id]!));
        return true;
      } catch {
        return false;
      }
    }, { ms: 10_000 });
    expect(await metric(s, 'ioc_ingest_refused_total', 'reason="connections_per_address"')).toBeGreaterThanOrEqual(1);
  }, 120_000);
});

describe('server.limits from the config reach the running server', () => {
  let s: TestServer;
  const agents = Array.from({ length: 4 }, (_, i) => ({ id: `qn-cfg-${i}`, commune: '21025' }));
  const open: TestAgentClient[] = [];
  beforeAll(async () => {
    s = await startTestServer({ agents, server: { limits: { agentConnectionsPerAddress: 3, writerQueueResults: 5000 } } });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await s?.stop();
  });

  it('agentConnectionsPerAddress: 3 refuses the 4th connection from one address; writerQueueResults bounds the writer', async () => {
    for (const a of agents.slice(0, 3)) open.push(await connectAgent(s.url, a.id, s.tokens[a.id]!));
    const last = agents[3]!;
    await expect(connectAgent(s.url, last.id, s.tokens[last.id]!)).rejects.toThrow(/HTTP 429/);
    expect(await metric(s, 'ioc_ingest_refused_total', 'reason="connections_per_address"')).toBe(1);
    expect((s.writer as unknown as { maxWaiting: number }).maxWaiting).toBe(5000);
  }, 30_000);
});

describe('batches in flight per agent', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ agents: [{ id: 'qn-flood', commune: '21025' }] });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('a flood of unacked batches is refused past the bound, counted, and every result lands once after the agent resends', async () => {
    const t0 = Date.now() - 3_600_000;
    const N = 2000;
    const outbox = new MemoryOutbox(N);
    // the real agent link, told to keep 64 batches of 10 on the wire: 4 times what the server takes
    const link = new Link({
      server: s.url, agentId: 'qn-flood', token: s.tokens['qn-flood']!, version: '0.1.0', outbox,
      batchMax: 10, maxInFlight: 64, flushDelayMs: 0, storeRetryMs: 100,
    });
    const acked: number[] = [];
    link.on('ack', (a) => acked.push(a.accepted));
    link.start();
    await until('a plan', () => link.plan !== undefined, { ms: 10_000 });
    await link.enqueue(Array.from({ length: N }, (_, i) => icmpOk('dc', t0 + i * 1000, 10 + (i % 7))));
    await until('every result acked', () => outbox.pending === 0, { ms: 60_000 });
    await link.stop({ drainMs: 0 });

    const refused = await metric(s, 'ioc_ingest_refused_total', 'reason="batches_in_flight"');
    expect(refused).toBeGreaterThan(0);
    expect(acked.reduce((a, b) => a + b, 0)).toBe(N);
    const rows = await s.store.queryRaw({ measurement: 'icmp', from: t0, to: t0 + N * 1000, where: { agent: 'qn-flood' } });
    expect(rows).toHaveLength(N);
    expect(new Set(rows.map((r) => r.ts)).size).toBe(N);
  }, 90_000);

  it('past the bound a batch gets an error frame naming its seq, not an ack', async () => {
    const c = await connectAgent(s.url, 'qn-flood', s.tokens['qn-flood']!);
    await c.hello();
    const t0 = Date.now() - 1_800_000;
    const answers = await Promise.all(Array.from({ length: IN_FLIGHT + 8 }, (_, i) => c.batch([icmpOk('dc', t0 + i * 1000)], 1000 + i)));
    const errors = answers.filter((a) => a.type === 'error');
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatchObject({ code: 'store_unavailable', message: expect.stringMatching(/busy/) });
    expect(answers.filter((a) => a.type === 'ack')).toHaveLength(IN_FLIGHT + 8 - errors.length);
    c.close();
  }, 30_000);
});

describe.skipIf(skipWithoutInfluxd())('the writer queue while the store hangs', () => {
  let influxd: Influxd;
  let store: InfluxStore;
  beforeAll(async () => {
    influxd = await startInfluxd();
    store = new InfluxStore({ url: influxd.url, database: 'ioc_limits', createDatabase: true });
    await store.init();
  }, 60_000);
  afterAll(async () => {
    await store?.close().catch(() => undefined);
    await influxd?.dispose();
  });

  const point = (i: number): Point => ({
    measurement: 'icmp', ts: 1_700_000_000_000 + i * 1000,
    tags: { province: '51', agent: 'qn-w', commune: '21025', carrier: 'vnpt', target: 'dc', uplink: 'wan1' },
    fields: { sent: 10, received: 10, loss: 0, rtt_min: 1, rtt_median: 1, rtt_avg: 1, rtt_max: 1, jitter: 0 },
  });

  it('beyond the bound batches are refused at once and counted; after recovery everything lands, exactly once', async () => {
    const writer = new BatchWriter(store, { maxRows: 5000, maxDelayMs: 20, maxWaiting: 500 });
    const batches = Array.from({ length: 10 }, (_, b) => Array.from({ length: 100 }, (_, i) => point(b * 100 + i)));
    influxd.pause();
    try {
      // the first flush takes what is queued and hangs on the paused server; the rest wait behind it
      const first = writer.write(batches[0]!);
      await new Promise((r) => setTimeout(r, 100));
      const settled = batches.slice(1).map((b) => writer.write(b).then(() => 'ok' as const, (e: unknown) => e));
      const refusedAtOnce = await Promise.race([Promise.all(settled.slice(4)), new Promise((r) => setTimeout(() => r('hung'), 1000))]);
      expect(refusedAtOnce).not.toBe('hung');
      for (const e of refusedAtOnce as unknown[]) expect(e).toBeInstanceOf(WriterBusyError);
      expect(writer.stats).toMatchObject({ refusedWrites: 5, refusedPoints: 500 });
      expect(writer.waiting).toBe(500);
      influxd.resume();
      // what was taken lands (a store timeout while paused is a failure the agent would resend: done here too)
      const taken = [first, ...settled.slice(0, 4)];
      for (let i = 0; i < taken.length; i++) {
        const r = await taken[i]!.then(() => 'ok', (e: unknown) => e);
        if (r !== 'ok') await writer.write(batches[i]!);
      }
      for (const b of batches.slice(5)) await writer.write(b);
    } finally {
      influxd.resume();
    }
    const rows = await store.queryRaw({ measurement: 'icmp', from: point(0).ts, to: point(999).ts + 1, where: { agent: 'qn-w' } });
    expect(rows).toHaveLength(1000);
    expect(writer.waiting).toBe(0);
  }, 90_000);
});
