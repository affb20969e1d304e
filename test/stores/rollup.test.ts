// The rollup part of the Store contract, run unchanged against DuckDB (temp file) and a real influxd: rows and their
// figures, coverage of empty hours, idempotency, a late write uncovering its hour, grouping/buckets/filters/histograms,
// pruning only rolled-up raw data; and InfluxDB's retention policies when it manages the database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../config/schema.ts';
import { roundClassifier } from '../../server/reports/data/rollups.ts';
import { DuckDbStore } from '../../server/stores/duckdb.ts';
import { InfluxStore } from '../../server/stores/influx.ts';
import { communeGroups, HIST_BINS, rollupBuilder } from '../../server/stores/rollup.ts';
import type { Incident } from '../../server/incidents/types.ts';
import type { Point, RollupAgg, Tags } from '../../server/stores/types.ts';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { describeStores, skipInflux } from '../helpers/stores.ts';

const H = 3_600_000;
const H0 = Date.UTC(2026, 9, 5, 3); // 10:00 in Hà Nội
const build = rollupBuilder(roundClassifier({ thresholdsFor: () => DEFAULT_THRESHOLDS }));

const tagsA: Tags = { province: '51', commune: '21034', carrier: 'vnpt', agent: 'ag-a', target: 'gateway', uplink: '' };
const tagsB: Tags = { province: '51', commune: '21040', carrier: 'viettel', agent: 'ag-b', target: 'gateway', uplink: 'wan1' };
const tagsHttp: Tags = { ...tagsA, target: 'dvc' };

function icmp(ts: number, tags: Tags, received: number, rtt: number | null): Point {
  return {
    measurement: 'icmp',
    ts,
    tags,
    fields: { sent: 10, received, loss: (10 - received) * 10, rtt_min: rtt, rtt_median: rtt, rtt_avg: rtt, rtt_max: rtt, jitter: null, error: null, backfilled: false },
  };
}
function http(ts: number, ok: boolean, total: number): Point {
  return {
    measurement: 'http',
    ts,
    tags: tagsHttp,
    fields: { ok, status: ok ? 200 : 503, dns_ms: null, connect_ms: null, tls_ms: null, ttfb_ms: null, total_ms: total, cert_days_left: null, error: ok ? null : 'status', backfilled: false },
  };
}

// Hour 0: good 20 ms; slow by loss (20 %, 30 ms); failed; slow by RTT (200 ms > 150). Hour 1: two good 25 ms + B 5 ms.
const POINTS: Point[] = [
  icmp(H0, tagsA, 10, 20),
  icmp(H0 + 30_000, tagsA, 8, 30),
  icmp(H0 + 60_000, tagsA, 0, null),
  icmp(H0 + 90_000, tagsA, 10, 200),
  icmp(H0 + H, tagsA, 10, 25),
  icmp(H0 + H + 30_000, tagsA, 10, 25),
  icmp(H0 + H + 5_000, tagsB, 10, 5),
  http(H0, true, 500),
  http(H0 + 60_000, false, 10_000),
  http(H0 + 120_000, true, 4000),
];

/** Histogram with one count per value, by the documented bin formula: bin = 1 + floor(3 log2 ms), 0 below 1 ms. */
function histOf(values: number[]): number[] {
  const h = new Array<number>(HIST_BINS).fill(0);
  for (const v of values) h[v < 1 ? 0 : Math.min(HIST_BINS - 1, 1 + Math.floor(3 * Math.log2(v)))]!++;
  return h;
}

const figs = (a: RollupAgg) => ({ ...a });

describe('communeGroups', () => {
  const cases: { name: string; counts: [string, number][]; max: number; groups: string[][] }[] = [
    { name: 'nothing: no groups', counts: [], max: 10, groups: [] },
    { name: 'all fit: one group', counts: [['a', 3], ['b', 4], ['c', 3]], max: 10, groups: [['a', 'b', 'c']] },
    { name: 'a group closes before the commune that would pass max', counts: [['a', 6], ['b', 5], ['c', 4]], max: 10, groups: [['a'], ['b', 'c']] },
    { name: 'a commune larger than max is a group of its own', counts: [['a', 2], ['b', 25], ['c', 2]], max: 10, groups: [['a'], ['b'], ['c']] },
    { name: 'communes without points still belong to a group', counts: [['a', 0], ['b', 10], ['c', 0]], max: 10, groups: [['a', 'b', 'c']] },
  ];
  it.each(cases)('$name', ({ counts, max, groups }) => {
    expect(communeGroups(counts, max)).toEqual(groups);
    // every commune in exactly one group, in the order given
    expect(communeGroups(counts, max).flat()).toEqual(counts.map(([c]) => c));
  });
});

describeStores('Store rollups', 'rollup', (h) => {
  const fresh = async () => {
    const s = await h.open();
    await s.write(POINTS);
    return s;
  };

  it('rawCounts counts raw points per hour and measurement', async () => {
    const s = await fresh();
    expect(await s.rawCounts(H0 - H, H0 + 3 * H)).toEqual([
      { measurement: 'http', hour: H0, points: 3 },
      { measurement: 'icmp', hour: H0, points: 4 },
      { measurement: 'icmp', hour: H0 + H, points: 3 },
    ]);
    // with a filter: only the matching points
    expect(await s.rawCounts(H0 - H, H0 + 3 * H, { agent: 'ag-b' })).toEqual([{ measurement: 'icmp', hour: H0 + H, points: 1 }]);
    expect(await s.rawCounts(H0 - H, H0 + 3 * H, { commune: '21034', target: 'dvc' })).toEqual([{ measurement: 'http', hour: H0, points: 3 }]);
  });

  it('rolls up hours into rows with the right figures; empty hours are covered too; idempotent', async () => {
    const s = await fresh();
    expect(await s.rollupCoverage(H0 - H, H0 + 4 * H)).toEqual([]);
    const r = await s.rollup(H0, H0 + 3 * H, build);
    expect(r).toEqual({ hours: 3, points: 10, rows: 4 });
    expect(await s.rollupCoverage(H0 - H, H0 + 4 * H)).toEqual([H0, H0 + H, H0 + 2 * H]);

    const all = ['province', 'commune', 'carrier', 'agent', 'target', 'uplink'] as const;
    const perRow = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + 3 * H, groupBy: [...all], bucketMs: H, histogram: true });
    expect(perRow.map(figs)).toEqual([
      { t: H0, tags: tagsA, rounds: 4, failed: 1, slow: 2, lossSum: 120, lossN: 4, latSum: 250, latN: 3, latMin: 20, latMax: 200, hist: histOf([20, 30, 200]) },
      { t: H0 + H, tags: tagsA, rounds: 2, failed: 0, slow: 0, lossSum: 0, lossN: 2, latSum: 50, latN: 2, latMin: 25, latMax: 25, hist: histOf([25, 25]) },
      { t: H0 + H, tags: tagsB, rounds: 1, failed: 0, slow: 0, lossSum: 0, lossN: 1, latSum: 5, latN: 1, latMin: 5, latMax: 5, hist: histOf([5]) },
    ]);
    // HTTP: a failed check counts 100 % loss and no latency; 4000 ms > responseMs 3000 is slow.
    const web = await s.queryRollups({ measurement: 'http', from: H0, to: H0 + 3 * H, groupBy: ['target'] });
    expect(web).toEqual([{ t: null, tags: { target: 'dvc' }, rounds: 3, failed: 1, slow: 1, lossSum: 100, lossN: 3, latSum: 4500, latN: 2, latMin: 500, latMax: 4000, hist: [] }]);

    // rolling again changes nothing
    await s.rollup(H0, H0 + 3 * H, build);
    expect(await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + 3 * H, groupBy: [...all], bucketMs: H, histogram: true })).toEqual(perRow);
  });

  it('link rows pool a carrier\'s ICMP rounds per commune and hour, with the hour\'s verdict', async () => {
    const s = await fresh();
    await s.rollup(H0, H0 + 3 * H, build);
    const byCarrier = await s.queryLinks({ from: H0, to: H0 + 3 * H, groupBy: ['carrier'], histogram: true });
    expect(byCarrier).toEqual([
      { tags: { carrier: 'viettel' }, hours: 1, hoursDown: 0, hoursDegraded: 0, rounds: 1, failed: 0, slow: 0, lossSum: 0, lossN: 1, latSum: 5, latN: 1, latMin: 5, latMax: 5, hist: histOf([5]) },
      // hour 0: 1 failed + 2 slow of 4 is a majority (degraded); hour 1 is fine
      { tags: { carrier: 'vnpt' }, hours: 2, hoursDown: 0, hoursDegraded: 1, rounds: 6, failed: 1, slow: 2, lossSum: 120, lossN: 6, latSum: 300, latN: 5, latMin: 20, latMax: 200, hist: histOf([20, 30, 200, 25, 25]) },
    ]);
    // H0 is 10:00 in Hà Nội
    const byHod = await s.queryLinks({ from: H0, to: H0 + 3 * H, groupBy: ['hod'] });
    expect(byHod.map((a) => [a.tags.hod, a.hours, a.rounds, a.hist])).toEqual([
      ['10', 1, 4, []],
      ['11', 2, 3, []],
    ]);
    const one = await s.queryLinks({ from: H0, to: H0 + 3 * H, where: { commune: '21040' }, groupBy: ['commune', 'carrier'] });
    expect(one.map((a) => [a.tags, a.rounds])).toEqual([[{ commune: '21040', carrier: 'viettel' }, 1]]);
    expect(await s.queryLinks({ from: H0, to: H0 + 3 * H, where: { carrier: 'fpt' }, groupBy: [] })).toEqual([]);
    // a failed hour is down
    await s.write([0, 1, 2].map((i) => icmp(H0 + 2 * H + i * 60_000, tagsA, 0, null)));
    await s.rollup(H0 + 2 * H, H0 + 3 * H, build);
    const down = await s.queryLinks({ from: H0 + 2 * H, to: H0 + 3 * H, groupBy: [] });
    expect(down.map((a) => [a.hours, a.hoursDown, a.hoursDegraded, a.failed])).toEqual([[1, 1, 0, 3]]);
  });

  it('merges across hours, groups, filters and buckets', async () => {
    const s = await fresh();
    await s.rollup(H0, H0 + 2 * H, build);
    const byCarrier = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + 2 * H, groupBy: ['carrier'], histogram: true });
    expect(byCarrier).toEqual([
      { t: null, tags: { carrier: 'viettel' }, rounds: 1, failed: 0, slow: 0, lossSum: 0, lossN: 1, latSum: 5, latN: 1, latMin: 5, latMax: 5, hist: histOf([5]) },
      { t: null, tags: { carrier: 'vnpt' }, rounds: 6, failed: 1, slow: 2, lossSum: 120, lossN: 6, latSum: 300, latN: 5, latMin: 20, latMax: 200, hist: histOf([20, 30, 200, 25, 25]) },
    ]);
    const where = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + 2 * H, where: { uplink: 'wan1' }, groupBy: [] });
    expect(where.map((a) => a.rounds)).toEqual([1]);
    const empty = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + 2 * H, where: { carrier: 'fpt' }, groupBy: [] });
    expect(empty).toEqual([]);
    const twoHours = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + 2 * H, groupBy: [], bucketMs: 2 * H });
    expect(twoHours.map((a) => [a.t, a.rounds])).toEqual([[H0 - (H0 % (2 * H)), 4], [H0 - (H0 % (2 * H)) + 2 * H, 3]]);
    const onlyFirst = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + H, groupBy: ['commune'] });
    expect(onlyFirst.map((a) => [a.tags.commune, a.rounds])).toEqual([['21034', 4]]);
  });

  it('a late write uncovers its hour until rolled up again; a replay does not double count', async () => {
    const s = await fresh();
    await s.rollup(H0, H0 + 3 * H, build);
    await s.write([icmp(H0 + 2 * H + 10_000, tagsA, 0, null)]);
    expect(await s.rollupCoverage(H0, H0 + 3 * H)).toEqual([H0, H0 + H]);
    await s.rollup(H0 + 2 * H, H0 + 3 * H, build);
    expect(await s.rollupCoverage(H0, H0 + 3 * H)).toEqual([H0, H0 + H, H0 + 2 * H]);
    const third = await s.queryRollups({ measurement: 'icmp', from: H0 + 2 * H, to: H0 + 3 * H, groupBy: [] });
    expect(third.map((a) => [a.rounds, a.failed])).toEqual([[1, 1]]);

    await s.write(POINTS.slice(0, 2)); // replayed batch
    expect(await s.rollupCoverage(H0, H0 + 3 * H)).toEqual([H0 + H, H0 + 2 * H]);
    await s.rollup(H0, H0 + H, build);
    const first = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + H, groupBy: [] });
    expect(first.map((a) => [a.rounds, a.failed, a.slow])).toEqual([[4, 1, 2]]);
  });

  it('a replay of old hours, in any order and after newer writes, never doubles raw counts or rollups', async () => {
    const s = await fresh();
    const later = [3, 30, 60, 150].map((hh, i) => icmp(H0 + hh * H + i * 1000, tagsB, 10, 7));
    await s.write(later);
    const shuffled = [...POINTS].reverse();
    // replays: the whole batch reversed, halves interleaved with a newer point, a batch spanning days
    await s.write(shuffled);
    await s.write([...shuffled.slice(0, 5), icmp(H0 + 200 * H, tagsB, 10, 8)]);
    await s.write([...later.slice(2), ...shuffled.slice(5)]);
    await s.write([...later, ...POINTS]);
    expect(await s.rawCounts(H0 - H, H0 + 2 * H)).toEqual([
      { measurement: 'http', hour: H0, points: 3 },
      { measurement: 'icmp', hour: H0, points: 4 },
      { measurement: 'icmp', hour: H0 + H, points: 3 },
    ]);
    expect((await s.queryRaw({ measurement: 'icmp', from: H0 - H, to: H0 + 201 * H })).length).toBe(7 + later.length + 1);
    await s.rollup(H0, H0 + 2 * H, build);
    await s.write(POINTS.slice(0, 4)); // replayed after the rollup: the hour is rolled again, still exact
    await s.rollup(H0, H0 + 2 * H, build);
    const rows = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + 2 * H, groupBy: [], bucketMs: H });
    expect(rows.map((a) => [a.t, a.rounds, a.failed, a.slow])).toEqual([
      [H0, 4, 1, 2],
      [H0 + H, 3, 0, 0],
    ]);
  });

  it('a write landing while the rollup reads is never lost: in the rows, or the hour left uncovered', async () => {
    const s = await fresh();
    let landed: Promise<void> | null = null;
    const racing = (points: Point[]) => {
      // the first call runs after the raw read: a late point for the same hour arrives right then
      landed ??= s.write([icmp(H0 + 50 * 60_000, tagsB, 0, null)]);
      return build(points);
    };
    await s.rollup(H0, H0 + H, racing);
    await landed;
    const covered = (await s.rollupCoverage(H0, H0 + H)).includes(H0);
    const rounds = async () => (await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + H, groupBy: [] })).map((a) => a.rounds);
    // either the rollup saw the write (covered, with it) or the write uncovered the hour: never covered without it
    if (covered) expect(await rounds()).toEqual([5]);
    await s.rollup(H0, H0 + H, build);
    expect(await s.rollupCoverage(H0, H0 + H)).toEqual([H0]);
    expect(await rounds()).toEqual([5]);
  });

  it('pruneRaw deletes raw data of rolled-up hours only; the rollups stay; a late write below the horizon changes nothing', async () => {
    const s = await fresh();
    await s.write([icmp(H0 + 3 * H + 1000, tagsA, 10, 40)]);
    await s.rollup(H0, H0 + 3 * H, build); // H0+3h stays raw only
    const res = await s.pruneRaw(H0 + 4 * H + 123);
    expect(res.before).toBeLessThanOrEqual(H0 + 4 * H);
    const raw = await s.queryRaw({ measurement: 'icmp', from: H0 - H, to: H0 + 5 * H });
    expect(raw.map((p) => p.ts)).toEqual([H0 + 3 * H + 1000]);
    expect(await s.queryRaw({ measurement: 'http', from: H0 - H, to: H0 + 5 * H })).toEqual([]);
    const kept = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + 3 * H, groupBy: [] });
    expect(kept.map((a) => a.rounds)).toEqual([7]);
    // a very late point in a pruned hour: the hour stays covered by its complete rollup
    await s.write([icmp(H0 + 30 * 60_000, tagsA, 10, 22)]);
    expect(await s.rollupCoverage(H0, H0 + 3 * H)).toEqual([H0, H0 + H, H0 + 2 * H]);
  });

  it('a rollup folded in groups (an hour of thousands of sites is millions of points) gives the rows of one fold', async () => {
    // five communes (one with a quote in its code, one without a commune tag), two carriers, ICMP and HTTP, 3 hours
    const communes = ['21034', '21040', "21'43", '', '21049'];
    const points: Point[] = [];
    for (let t = 0; t < 3 * 60; t += 5)
      communes.forEach((commune, ci) => {
        for (const carrier of ['vnpt', 'viettel']) {
          const tags = { province: '51', commune, carrier, agent: `ag-${ci}-${carrier}`, uplink: '' };
          for (const target of ['gateway', 'dns']) points.push(icmp(H0 + t * 60_000 + ci, { ...tags, target }, (t + ci) % 11 === 0 ? 0 : 10, 10 + ((t * 7 + ci) % 90)));
          const ok = (t + ci) % 13 !== 0;
          points.push({ ...http(H0 + t * 60_000 + ci, ok, 300 + ci), tags: { ...tags, target: 'dvc' } });
        }
      });
    const rolled = async (rollupGroupPoints?: number) => {
      const s = await h.open(rollupGroupPoints ? { rollupGroupPoints } : {});
      await s.write(points);
      const r = await s.rollup(H0, H0 + 3 * H, build);
      const all = ['province', 'commune', 'carrier', 'agent', 'target', 'uplink'] as const;
      const rows = await Promise.all(
        (['icmp', 'http'] as const).map((measurement) => s.queryRollups({ measurement, from: H0, to: H0 + 3 * H, groupBy: [...all], bucketMs: H, histogram: true })),
      );
      const links = await s.queryLinks({ from: H0, to: H0 + 3 * H, groupBy: ['commune', 'carrier', 'hod'], histogram: true });
      const coverage = await s.rollupCoverage(H0, H0 + 3 * H);
      return { r, rows, links, coverage };
    };
    const whole = await rolled();
    // at most 50 points a group, fewer than one commune's 216: many groups, whatever the store groups by
    const grouped = await rolled(50);
    expect(whole.r).toEqual({ hours: 3, points: points.length, rows: 3 * 5 * 2 * 3 });
    expect(whole.coverage).toEqual([H0, H0 + H, H0 + 2 * H]);
    expect(grouped).toEqual(whole);
  });

  it('refuses rows outside the range and ranges that are not whole hours', async () => {
    const s = await fresh();
    await expect(s.rollup(H0 + 1, H0 + H, build)).rejects.toBeInstanceOf(TypeError);
    await expect(s.rollup(H0 + H, H0 + 2 * H, () => build(POINTS))).rejects.toBeInstanceOf(TypeError);
    expect(await s.rollupCoverage(H0, H0 + 3 * H)).toEqual([]);
  });
});

describe.skipIf(skipInflux())('InfluxStore retention policies (createDatabase)', () => {
  let ifx: Influxd;
  beforeAll(async () => {
    ifx = await startInfluxd();
  }, 60_000);
  afterAll(async () => {
    await ifx?.dispose();
  });

  it('raw data expires after rawRetentionDays in the default policy; rollups live forever in their own policy', async () => {
    const db = `rp_${process.pid}`;
    const s = new InfluxStore({ url: ifx.url, database: db, createDatabase: true, rawRetentionDays: 30 });
    await s.init();
    const res = await fetch(`${ifx.url}/query?db=${db}&q=${encodeURIComponent(`SHOW RETENTION POLICIES ON "${db}"`)}`);
    const body = (await res.json()) as { results: { series: { columns: string[]; values: unknown[][] }[] }[] };
    const series = body.results[0]!.series[0]!;
    const rows = series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]])));
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'autogen', duration: '720h0m0s', shardGroupDuration: '24h0m0s', default: true }),
        expect.objectContaining({ name: 'rollups', duration: '0s', shardGroupDuration: '87360h0m0s', default: false }),
      ]),
    );
    // Recent data (inside the raw policy): rows land in the rollup policy, not in the default one.
    const now = Date.now();
    const hour = now - (now % H) - 2 * H;
    await s.write([icmp(hour + 1000, tagsA, 10, 12)]);
    await s.rollup(hour, hour + H, build);
    const q = async (sql: string) => {
      const r = await fetch(`${ifx.url}/query?db=${db}&epoch=ms&q=${encodeURIComponent(sql)}`);
      return JSON.stringify(await r.json());
    };
    expect(await q('SELECT sum("rounds") FROM "rollups"."icmp_1h"')).toContain('"values":[[0,1]]');
    expect(await q('SELECT * FROM "autogen"."icmp_1h"')).not.toContain('values');
    const pr = await s.pruneRaw(now);
    expect(pr.detail).toContain('retention policy "autogen" (30 d)');

    // Incidents are history: they live in the rollup policy, so a year-old one is kept (the raw policy would refuse it).
    const inc = (id: string, openedAt: number, resolvedAt: number | null): Incident => ({
      id, cause: 'local_link', subject: '21034', openedAt, resolvedAt, communes: ['21034'], targets: ['gateway'], carrier: 'vnpt', severity: 'down',
      evidence: { summary: 'x', figures: {} }, acknowledgedBy: null, acknowledgedAt: null, notes: [], maintenance: false,
    });
    const old = inc('old', now - 300 * 86_400_000, now - 300 * 86_400_000 + H);
    await s.writeIncident(old);
    expect(await s.queryIncidents({ from: now - 400 * 86_400_000, to: now })).toEqual([old]);
    expect(await q('SELECT count("doc") FROM "rollups"."incident"')).toContain('"values":[[0,1]]');
    // A copy written before retention was managed (default policy, still open) loses to the newer one.
    const legacy = inc('legacy', now - 2 * H, null);
    const line = `incident,id=legacy,cause=local_link doc=${JSON.stringify(JSON.stringify(legacy))},open=true,resolved_at=0i,severity="down",maintenance=false,affected=1i ${legacy.openedAt}`;
    expect((await fetch(`${ifx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: line })).status).toBe(204);
    expect((await s.queryIncidents({ from: now - H, to: now, openOnly: true })).map((i) => i.id)).toEqual(['legacy']);
    const resolved = { ...legacy, resolvedAt: now - H };
    await s.writeIncident(resolved);
    expect(await s.queryIncidents({ from: now - H, to: now, openOnly: true })).toEqual([]);
    expect(await s.queryIncidents({ from: now - 3 * H, to: now })).toEqual([resolved]);
    await s.close();
  });
});

describe('DuckDbStore rollup reads outside the write queue', () => {
  it('a write committed while it reads makes it read again inside the queue: covered, with the write', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rollup-race-'));
    const s = new DuckDbStore(join(d, 'x.duckdb'));
    try {
      await s.init();
      await s.write(POINTS);
      // rollup() awaits its raw read before queueing; the write queues meanwhile and commits first
      const rolled = s.rollup(H0, H0 + H, build);
      const wrote = s.write([icmp(H0 + 50 * 60_000, tagsB, 0, null)]);
      await Promise.all([rolled, wrote]);
      expect(await s.rollupCoverage(H0, H0 + H)).toEqual([H0]);
      const rows = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + H, groupBy: [] });
      expect(rows.map((a) => [a.rounds, a.failed])).toEqual([[5, 2]]);
    } finally {
      await s.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
