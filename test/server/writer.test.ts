// The ingest writer keeps as many flushes in flight as the store takes at once (Store.writeConcurrency), and each
// caller's promise settles with the flush that carried its points. A gate around a real store holds every write
// until the test releases it, so what is in flight at once can be counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchWriter, WriterBusyError } from '../../server/ingest/writer.ts';
import { InfluxStore } from '../../server/stores/influx.ts';
import type { Point, Store } from '../../server/stores/types.ts';
import { skipWithoutInfluxd, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { storeHarness } from '../helpers/stores.ts';
import { until } from '../helpers/wait.ts';

const T0 = 1_700_000_000_000;
const point = (agent: string, i: number): Point => ({
  measurement: 'icmp', ts: T0 + i * 1000,
  tags: { province: '51', agent, commune: '21025', carrier: 'vnpt', target: 'dc', uplink: 'wan1' },
  fields: { sent: 10, received: 10, loss: 0, rtt_min: 1, rtt_median: 1, rtt_avg: 1, rtt_max: 1, jitter: 0 },
});
const batch = (agent: string, n: number) => Array.from({ length: n }, (_, i) => point(agent, i));

interface Held {
  agents: string[];
  release(err?: Error): void;
}

/** The store with each write held until released (then written for real); `concurrency` overrides the store's own. */
function gate(store: Store, concurrency?: number) {
  const held: Held[] = [];
  const g = { held, inFlight: 0, maxInFlight: 0, store: null as unknown as Store };
  g.store = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'writeConcurrency' && concurrency !== undefined) return concurrency;
      if (prop !== 'write') return Reflect.get(target, prop, receiver) as unknown;
      return async (points: Point[]) => {
        g.inFlight++;
        g.maxInFlight = Math.max(g.maxInFlight, g.inFlight);
        try {
          await new Promise<void>((resolve, reject) =>
            held.push({ agents: [...new Set(points.map((p) => p.tags.agent))], release: (err) => (err ? reject(err) : resolve()) }),
          );
          await target.write(points);
        } finally {
          g.inFlight--;
        }
      };
    },
  });
  return g;
}

/** settled state of a promise, without waiting for it */
function track(p: Promise<void>) {
  const t = { state: 'pending' as 'pending' | 'ok' | 'failed', error: null as unknown };
  p.then(
    () => (t.state = 'ok'),
    (e: unknown) => ((t.state = 'failed'), (t.error = e)),
  );
  return t;
}

const tick = () => new Promise((r) => setTimeout(r, 50));

describe('BatchWriter: flushes in flight per the store’s writeConcurrency', () => {
  const h = storeHarness('duckdb', 'writer');
  beforeAll(() => h.setup());
  afterAll(() => h.teardown());

  it('concurrency 3: three flushes are written at once; each caller settles with its own flush, a failure fails only its callers', async () => {
    const store = await h.open();
    const g = gate(store, 3);
    const w = new BatchWriter(g.store, { maxRows: 100, maxDelayMs: 10, maxWaiting: 500 });
    // five full batches: each is its own flush (a flush takes about maxRows points when the store takes several)
    const calls = ['a', 'b', 'c', 'd', 'e'].map((a) => ({ agent: a, t: track(w.write(batch(a, 100))) }));
    await until('three writes held', () => g.held.length === 3, { ms: 5000, everyMs: 10 });
    await tick();
    expect(g.inFlight).toBe(3);
    expect(g.held.map((x) => x.agents)).toEqual([['a'], ['b'], ['c']]);
    // every flush in flight and every queued point counts against the bound
    expect(w.waiting).toBe(500);
    await expect(w.write(batch('f', 1))).rejects.toBeInstanceOf(WriterBusyError);
    expect(w.stats).toMatchObject({ refusedWrites: 1, refusedPoints: 1 });

    // the second flush lands first: only its caller settles, and its slot takes the next queued batch
    g.held[1]!.release();
    await until('b settled', () => calls[1]!.t.state !== 'pending', { ms: 5000, everyMs: 10 });
    expect(calls.map((c) => c.t.state)).toEqual(['pending', 'ok', 'pending', 'pending', 'pending']);
    await until('d taken', () => g.held.length === 4, { ms: 5000, everyMs: 10 });
    expect(g.held[3]!.agents).toEqual(['d']);
    expect(g.inFlight).toBe(3);
    expect(w.waiting).toBe(400);

    // a failed flush rejects its own caller only
    g.held[0]!.release(new Error('store said no'));
    await until('a settled', () => calls[0]!.t.state !== 'pending', { ms: 5000, everyMs: 10 });
    expect(calls[0]!.t).toMatchObject({ state: 'failed', error: expect.objectContaining({ message: 'store said no' }) });
    expect(calls.map((c) => c.t.state)).toEqual(['failed', 'ok', 'pending', 'pending', 'pending']);
    await until('e taken', () => g.held.length === 5, { ms: 5000, everyMs: 10 });

    for (const x of g.held.slice(2)) x.release();
    await until('all settled', () => calls.every((c) => c.t.state !== 'pending'), { ms: 10_000, everyMs: 10 });
    expect(calls.map((c) => c.t.state)).toEqual(['failed', 'ok', 'ok', 'ok', 'ok']);
    expect(g.maxInFlight).toBe(3);
    expect(w.waiting).toBe(0);
    expect(w.stats).toMatchObject({ flushes: 4, points: 400, failures: 1 });
    const rows = await store.queryRaw({ measurement: 'icmp', from: T0, to: T0 + 100_000 });
    expect(new Set(rows.map((r) => r.tags.agent))).toEqual(new Set(['b', 'c', 'd', 'e']));
    expect(rows).toHaveLength(400);
  }, 30_000);

  it('concurrency 1 (the DuckDB store’s own): one write at a time; the queue behind it goes out as one flush', async () => {
    const store = await h.open();
    expect(store.writeConcurrency).toBe(1);
    const g = gate(store);
    const w = new BatchWriter(g.store, { maxRows: 100, maxDelayMs: 10 });
    const calls = [track(w.write(batch('a', 100)))];
    await until('one write held', () => g.held.length === 1, { ms: 5000, everyMs: 10 });
    calls.push(...['b', 'c'].map((a) => track(w.write(batch(a, 100)))));
    await tick();
    expect(g.held).toHaveLength(1);
    expect(w.waiting).toBe(300);
    g.held[0]!.release();
    await until('a settled', () => calls[0]!.state === 'ok', { ms: 5000, everyMs: 10 });
    await until('the rest taken', () => g.held.length === 2, { ms: 5000, everyMs: 10 });
    expect(g.held[1]!.agents).toEqual(['b', 'c']);
    expect(calls.map((c) => c.state)).toEqual(['ok', 'pending', 'pending']);
    g.held[1]!.release();
    await until('all settled', () => calls.every((c) => c.state === 'ok'), { ms: 5000, everyMs: 10 });
    expect(g.maxInFlight).toBe(1);
    expect(await store.queryRaw({ measurement: 'icmp', from: T0, to: T0 + 100_000 })).toHaveLength(300);
  }, 30_000);

  it('close() flushes what is queued and waits for every flush in flight', async () => {
    const store = await h.open();
    const g = gate(store, 2);
    const w = new BatchWriter(g.store, { maxRows: 100, maxDelayMs: 60_000 });
    const calls = ['a', 'b', 'c'].map((a) => track(w.write(batch(a, 100))));
    const late = track(w.write(batch('d', 10))); // waits for its timer, a minute away
    await until('two writes held', () => g.held.length === 2, { ms: 5000, everyMs: 10 });
    let closed = false;
    const closing = w.close().then(() => (closed = true));
    for (let i = 0; i < 3; i++) {
      await until(`write ${i + 1} held`, () => g.held.length > i, { ms: 5000, everyMs: 10 });
      g.held[i]!.release();
    }
    await until('the last flush held', () => g.held.length === 4 || closed, { ms: 5000, everyMs: 10 });
    expect(closed).toBe(false);
    g.held[3]!.release();
    await closing;
    expect([...calls, late].map((c) => c.state)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(w.waiting).toBe(0);
  }, 30_000);
});

describe.skipIf(skipWithoutInfluxd())('BatchWriter over the InfluxDB store: its concurrent writes land', () => {
  let influxd: Influxd;
  let store: InfluxStore;
  beforeAll(async () => {
    influxd = await startInfluxd();
    store = new InfluxStore({ url: influxd.url, database: 'ioc_writer', createDatabase: true });
    await store.init();
  }, 60_000);
  afterAll(async () => {
    await store?.close().catch(() => undefined);
    await influxd?.dispose();
  });

  it('while influxd is paused the writer has the store’s 3 writes in flight, not 1; after it resumes every point lands once', async () => {
    expect(store.writeConcurrency).toBe(3);
    let inFlight = 0;
    let maxInFlight = 0;
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'write') return Reflect.get(target, prop, receiver) as unknown;
        return async (points: Point[]) => {
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          try {
            await target.write(points);
          } finally {
            inFlight--;
          }
        };
      },
    });
    const w = new BatchWriter(counted, { maxRows: 500, maxDelayMs: 10 });
    influxd.pause();
    let writes: Promise<void>[];
    try {
      writes = Array.from({ length: 6 }, (_, a) => w.write(batch(`ag${a}`, 500)));
      await until('three writes in flight', () => inFlight === 3, { ms: 3000, everyMs: 10 });
      await tick();
      expect(inFlight).toBe(3);
    } finally {
      influxd.resume();
    }
    await Promise.all(writes);
    expect(maxInFlight).toBe(3);
    const rows = await store.queryRaw({ measurement: 'icmp', from: T0, to: T0 + 500_000 });
    expect(rows).toHaveLength(3000);
  }, 60_000);
});
