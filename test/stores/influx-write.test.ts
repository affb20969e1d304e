// The InfluxDB store's own /write requests (keep-alive connections, request timeout) against a real influxd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxStore } from '../../server/stores/influx.ts';
import type { Point } from '../../server/stores/types.ts';
import { skipWithoutInfluxd, startInfluxd, type Influxd } from '../helpers/influxd.ts';

const T0 = 1_700_000_000_000;
const tcp = (i: number): Point => ({
  measurement: 'tcp', ts: T0 + i * 1000,
  tags: { province: '51', agent: 'qn-w', commune: '21025', carrier: 'vnpt', target: 'dc', uplink: 'wan1' },
  fields: { ok: true, connect_ms: i, error: null, backfilled: null },
});

describe.skipIf(skipWithoutInfluxd())('InfluxStore /write requests', () => {
  let influxd: Influxd;
  beforeAll(async () => {
    influxd = await startInfluxd();
  }, 60_000);
  afterAll(async () => {
    await influxd?.dispose();
  });

  it('an answer that arrived while the event loop was busy past the timeout is not a timeout', async () => {
    const store = new InfluxStore({ url: influxd.url, database: 'ioc_busy_loop', createDatabase: true }, { timeoutMs: 300 });
    await store.init();
    try {
      influxd.pause();
      const write = store.write([tcp(1)]).then(() => 'ok', (e: unknown) => e);
      await new Promise((r) => setTimeout(r, 100)); // the request is on the wire, unanswered
      influxd.resume();
      // The server's main thread busy (a burst of agent frames) while influxd answers, outside the timers phase:
      // the next turn of the event loop runs the expired timers before it reads the answer.
      await new Promise<void>((r) =>
        setImmediate(() => {
          const until = Date.now() + 2000;
          while (Date.now() < until);
          r();
        }),
      );
      expect(await write).toBe('ok');
      expect((await store.queryRaw({ measurement: 'tcp', from: T0, to: T0 + 10_000 })).map((p) => p.ts)).toEqual([T0 + 1000]);
    } finally {
      influxd.resume();
      await store.close();
    }
  }, 30_000);

  it('many writes go over a few kept-alive connections, and writes still work after close() and init()', async () => {
    const store = new InfluxStore({ url: influxd.url, database: 'ioc_keepalive', createDatabase: true });
    await store.init();
    try {
      const agent = (store as unknown as { agent: import('node:http').Agent }).agent;
      let sockets = 0;
      const createConnection = agent.createConnection.bind(agent);
      agent.createConnection = ((...args: Parameters<typeof createConnection>) => {
        sockets++;
        return createConnection(...args);
      }) as typeof agent.createConnection;
      for (let i = 0; i < 20; i++) await store.write([tcp(i)]);
      await Promise.all(Array.from({ length: 3 }, (_, k) => store.write([tcp(100 + k)])));
      expect(sockets).toBeLessThanOrEqual(3);
      await store.close();
      await store.init();
      await store.write([tcp(200)]);
      expect(await store.queryRaw({ measurement: 'tcp', from: T0, to: T0 + 300_000 })).toHaveLength(24);
    } finally {
      await store.close();
    }
  }, 30_000);
});
