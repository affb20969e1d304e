// The same server against a real influxd: results visible with InfluxQL, and when the database is down the agent
// gets no ack (it keeps the data); after a restart the same batch is acked and stored exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxDB } from 'influx';
import { connectAgent, icmpOk } from '../helpers/agent-client.ts';
import { skipWithoutInfluxd, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const AGENT = { id: 'qn-ba-to', commune: '21484', carrier: 'viettel' }; // Xã Ba Tơ

describe.skipIf(skipWithoutInfluxd())('ingest into InfluxDB', () => {
  let influxd: Influxd;
  let s: TestServer;
  beforeAll(async () => {
    influxd = await startInfluxd();
    s = await startTestServer({ agents: [AGENT], store: { kind: 'influx', url: influxd.url, database: 'ioc_ingest' } });
  });
  afterAll(async () => {
    await s?.stop();
    await influxd?.dispose();
  });

  it('an acked batch is queryable with InfluxQL, tags from config', async () => {
    const c = await connectAgent(s.url, AGENT.id, s.tokens[AGENT.id]!);
    await c.hello();
    const ts = Date.now() - 120_000;
    expect(await c.batch([icmpOk('dc', ts, 42.5)])).toMatchObject({ type: 'ack', accepted: 1 });
    const db = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: 'ioc_ingest' });
    const rows = await db.query<{ rtt_median: number; commune: string; carrier: string }>(
      `SELECT rtt_median, commune, carrier FROM icmp WHERE agent = '${AGENT.id}'`,
    );
    expect(rows.map((r) => [r.rtt_median, r.commune, r.carrier])).toEqual([[42.5, AGENT.commune, 'viettel']]);
    c.close();
  });

  it('store down: no ack, an error naming the seq; store back: acked and stored once', async () => {
    const c = await connectAgent(s.url, AGENT.id, s.tokens[AGENT.id]!);
    await c.hello();
    const t0 = Date.now() - 60_000;
    const batch = [icmpOk('dc', t0, 11), icmpOk('dc', t0 + 1000, 12), icmpOk('gw', t0, 1)];
    await influxd.stop();
    const r = await c.batch(batch, 41, 30_000);
    expect(r).toMatchObject({ type: 'error', code: 'store_unavailable', seq: 41 });
    expect(c.received.some((m) => m.type === 'ack' && m.seq === 41)).toBe(false);
    const h = await (await fetch(`${s.url}/api/health`)).json();
    expect(h.status).toBe('degraded');
    expect(h.store.ok).toBe(false);
    // The live map still moved: the operator is not blind while the database is down.
    expect(s.live.commune(AGENT.commune).status).toBe('up');

    await influxd.restart();
    expect(await c.batch(batch, 42, 30_000)).toMatchObject({ type: 'ack', seq: 42, accepted: 3 });
    expect(await c.batch(batch, 43, 30_000)).toMatchObject({ type: 'ack', seq: 43 }); // a replay, e.g. after a lost ack
    const pts = await s.store.queryRaw({ measurement: 'icmp', from: t0, to: t0 + 2000, where: { agent: AGENT.id } });
    expect(pts.map((p) => [p.tags.target, p.ts, p.fields.rtt_median]).sort((a, b) => Number(a[1]) - Number(b[1]) || String(a[0]).localeCompare(String(b[0])))).toEqual([
      ['dc', t0, 11],
      ['gw', t0, 1],
      ['dc', t0 + 1000, 12],
    ]);
    c.close();
  });
});
