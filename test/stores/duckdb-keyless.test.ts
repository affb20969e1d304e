// The DuckDB store keeps no PRIMARY KEY on raw tables (its index would hold every row in memory): replays are
// deduplicated by the write itself, a file written with the old key is rebuilt without it, and the configured
// memory limit is applied at open.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbStore, hourSpans } from '../../server/stores/duckdb.ts';
import { createStore } from '../../server/stores/index.ts';
import type { Point, Tags } from '../../server/stores/types.ts';

const H = 3_600_000;
const H0 = Date.UTC(2026, 9, 5, 3);
const dirs: string[] = [];
afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'duck-keyless-'));
  dirs.push(d);
  return d;
};

const tags = (agent: string, target = 'gateway'): Tags => ({ province: '51', commune: '21034', carrier: 'vnpt', agent, target, uplink: '' });
function icmp(ts: number, t: Tags, received = 10): Point {
  const rtt = received ? 20 : null;
  return {
    measurement: 'icmp',
    ts,
    tags: t,
    fields: { sent: 10, received, loss: (10 - received) * 10, rtt_min: rtt, rtt_median: rtt, rtt_avg: rtt, rtt_max: rtt, jitter: null, error: null, backfilled: false },
  };
}

/** What DuckDB itself says about a file, read after the store closed it. */
async function inspect(file: string, sql: string): Promise<unknown[][]> {
  const inst = await DuckDBInstance.create(file);
  const c = await inst.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowsJS() as unknown[][];
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

describe('DuckDbStore without a raw-table key', () => {
  it('hourSpans: one span per hour of sorted timestamps', () => {
    expect(hourSpans([])).toEqual([]);
    expect(hourSpans([H0, H0 + 5, H0 + H - 1, H0 + H, H0 + 30 * H])).toEqual([
      [H0, H0 + H - 1],
      [H0 + H, H0 + H],
      [H0 + 30 * H, H0 + 30 * H],
    ]);
  });

  it('new files have no PRIMARY KEY; 3 days of rounds replayed in shuffled batches stay exact', async () => {
    const file = join(tmp(), 'x.duckdb');
    const s = new DuckDbStore(file);
    await s.init();
    const agents = ['a', 'b', 'c'].map((a) => tags(a));
    const points: Point[] = [];
    for (let t = 0; t < 3 * 24 * 60; t += 10) for (const tg of agents) points.push(icmp(H0 + t * 60_000, tg, t % 70 === 0 ? 0 : 10));
    await s.write(points);
    // the agent resends: in pieces, out of order, each piece mixed with rounds of other hours
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const shuffled = [...points].sort(() => rnd() - 0.5);
    for (let i = 0; i < shuffled.length; i += 97) await s.write(shuffled.slice(i, i + 97));
    const raw = await s.queryRaw({ measurement: 'icmp', from: H0, to: H0 + 3 * 24 * H });
    expect(raw.length).toBe(points.length);
    const counts = await s.rawCounts(H0, H0 + 3 * 24 * H);
    expect(counts.reduce((n, c) => n + c.points, 0)).toBe(points.length);
    expect(counts.every((c) => c.points === 18)).toBe(true);
    await s.close();
    expect(await inspect(file, `SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND table_name = 'icmp'`)).toEqual([[0n]]);
  });

  it('opens a file written with the old key: its rows kept, the key gone, replays still not doubled', async () => {
    const file = join(tmp(), 'old.duckdb');
    // the raw table as earlier versions created it
    const old = await DuckDBInstance.create(file);
    const c = await old.connect();
    await c.run(
      'CREATE TABLE icmp (ts BIGINT NOT NULL, province VARCHAR NOT NULL, commune VARCHAR NOT NULL, carrier VARCHAR NOT NULL, agent VARCHAR NOT NULL, ' +
        'target VARCHAR NOT NULL, uplink VARCHAR NOT NULL, sent BIGINT, received BIGINT, loss DOUBLE, rtt_min DOUBLE, rtt_median DOUBLE, rtt_avg DOUBLE, ' +
        'rtt_max DOUBLE, jitter DOUBLE, error VARCHAR, backfilled BOOLEAN, PRIMARY KEY (agent, target, uplink, ts))',
    );
    await c.run(
      `INSERT INTO icmp SELECT ${H0} + i * 30000, '51', '21034', 'vnpt', 'ag-' || (i % 5), 'gateway', '', 10, 10, 0, 20, 20, 20, 20, NULL, NULL, false FROM range(1000) t(i)`,
    );
    c.closeSync();
    old.closeSync();

    const s = new DuckDbStore(file);
    await s.init();
    const before = await s.queryRaw({ measurement: 'icmp', from: H0, to: H0 + 24 * H });
    expect(before.length).toBe(1000);
    await s.write(before.slice(100, 400).reverse());
    expect((await s.queryRaw({ measurement: 'icmp', from: H0, to: H0 + 24 * H })).length).toBe(1000);
    await s.close();
    expect(await inspect(file, `SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND table_name = 'icmp'`)).toEqual([[0n]]);
    expect(await inspect(file, `SELECT count(*), count(DISTINCT (agent, ts)) FROM icmp`)).toEqual([[1000n, 1000n]]);
  });

  it('applies store.memoryLimit and store.threads at open (default 512MB)', async () => {
    const dir = tmp();
    const setting = async (s: DuckDbStore) => {
      await s.init();
      const got = await s.settings();
      await s.close();
      return got;
    };
    const configured = createStore({ kind: 'duckdb', file: 'a.duckdb', memoryLimit: '300MB', threads: 1 }, { dataDir: dir }) as DuckDbStore;
    expect(await setting(configured)).toEqual({ memoryLimit: '286.1 MiB', threads: 1 });
    const byDefault = new DuckDbStore(join(dir, 'b.duckdb'));
    expect((await setting(byDefault)).memoryLimit).toBe('488.2 MiB');
  });
});
