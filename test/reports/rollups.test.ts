// The rollup orchestration on both stores: thresholds per target and commune in the classifier, the periodic job
// (closed hours only, pruning past the retention), reads across rolled-up and raw hours with edges off the hour, and a
// write racing a rollup never going missing.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { configSchema, type ProvinceFile } from '../../config/schema.ts';
import { buildDirectory } from '../../server/directory.ts';
import { LINK_KINDS } from '../../server/kinds/index.ts';
import { RAW_SLICE_POINTS, readAggregates, readLinks, roundClassifier, runRollup, startRollupJob } from '../../server/reports/data/rollups.ts';
import { rollupBuilder } from '../../server/stores/rollup.ts';
import type { Point, RawQuery, Store, Tags } from '../../server/stores/types.ts';
import { describeStores } from '../helpers/stores.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const H = 3_600_000;
const MIN = 60_000;
const province = JSON.parse(readFileSync(join(ROOT, 'config/provinces/51.json'), 'utf8')) as ProvinceFile;
const dir = buildDirectory(
  configSchema.parse({
    province: { code: '51' },
    carriers: [{ id: 'vnpt', name: 'VNPT' }],
    targets: [
      { id: 'gateway', name: 'Gateway', kind: 'icmp', host: 'gateway' },
      { id: 'far', name: 'Xa', kind: 'icmp', host: '203.0.113.9', thresholds: { rttMs: 500 } },
    ],
    communes: { '21040': { thresholds: { lossPct: 50 } } },
  }),
  province,
);
const classify = roundClassifier(dir);

const tags = (commune: string, target: string): Tags => ({ province: '51', commune, carrier: 'vnpt', agent: `ag-${commune}`, target, uplink: '' });
function icmp(ts: number, t: Tags, loss: number, rtt: number | null): Point {
  const received = 10 - loss / 10;
  return { measurement: 'icmp', ts, tags: t, fields: { sent: 10, received, loss, rtt_min: rtt, rtt_median: rtt, rtt_avg: rtt, rtt_max: rtt, jitter: null, error: null, backfilled: false } };
}

it('the classifier applies the thresholds of the target and of the commune (status.ts classify)', () => {
  const v = (p: Point) => classify('icmp', p.tags, p.fields)?.verdict;
  expect(v(icmp(0, tags('21034', 'gateway'), 0, 300))).toBe('slow'); // default rttMs 150
  expect(v(icmp(0, tags('21034', 'far'), 0, 300))).toBe('good'); // target rttMs 500
  expect(v(icmp(0, tags('21034', 'gateway'), 30, 10))).toBe('slow'); // default lossPct 10
  expect(v(icmp(0, tags('21040', 'gateway'), 30, 10))).toBe('good'); // commune lossPct 50
  expect(v(icmp(0, tags('21040', 'gateway'), 100, null))).toBe('fail');
  expect(classify('http', tags('21034', 'x'), { ok: null })).toBeNull();
});

describeStores('rollup orchestration', 'rollups', (h) => {
  const fresh = () => h.open();
  // One round a minute for a commune, alternately good (20 ms) and failed.
  const minutes = (from: number, count: number, commune = '21034') =>
    Array.from({ length: count }, (_, i) => (i % 2 ? icmp(from + i * MIN, tags(commune, 'gateway'), 100, null) : icmp(from + i * MIN, tags(commune, 'gateway'), 0, 20)));

  it('the job rolls up closed hours only (2 min grace), then prunes raw data past the retention', async () => {
    const s = await fresh();
    const now = Date.now();
    const cur = now - (now % H);
    const old = cur - 3 * 86_400_000;
    await s.write([...minutes(old, 60), ...minutes(cur - 2 * H, 120)]);
    const runs: unknown[] = [];
    const job = startRollupJob({ store: s, classify, rawRetentionDays: 2, intervalMs: 3_600_000, now: () => cur + MIN, onRun: (r) => runs.push(r) });
    try {
      await job.runOnce();
    } finally {
      job.stop();
    }
    expect(runs).toHaveLength(1);
    const cov = await s.rollupCoverage(old - H, cur + H);
    expect(cov).toContain(old);
    expect(cov).toContain(cur - 2 * H);
    // cur - 1h ended 1 min before `now`: inside the grace, not rolled up yet; the current hour neither
    expect(cov).not.toContain(cur - H);
    expect(cov).not.toContain(cur);
    expect(await s.queryRaw({ measurement: 'icmp', from: old - H, to: old + H })).toEqual([]);
    expect(await s.queryRaw({ measurement: 'icmp', from: cur - 2 * H, to: cur })).toHaveLength(120);
    const figs = await readAggregates(s, { measurement: 'icmp', from: old, to: old + H, groupBy: [] }, classify);
    expect(figs.map((f) => [f.rounds, f.failed])).toEqual([[60, 30]]);
  });

  it('reads a range with edges off the hour across rolled-up and raw hours exactly like all-raw', async () => {
    const s = await fresh();
    const H0 = Date.UTC(2026, 9, 5, 3);
    await s.write(minutes(H0, 240));
    const q = { measurement: 'icmp' as const, from: H0 + 25 * MIN, to: H0 + 3 * H + 10 * MIN, groupBy: ['commune' as const], histogram: true };
    const raw = await readAggregates(s, q, classify);
    // 25..190 min: 165 rounds, odd minutes failed
    expect(raw.map((a) => [a.rounds, a.failed, a.latN])).toEqual([[190 - 25, 83, 82]]);
    await s.rollup(H0 + H, H0 + 2 * H, rollupBuilder(classify));
    expect(await s.rollupCoverage(H0, H0 + 4 * H)).toEqual([H0 + H]);
    expect(await readAggregates(s, q, classify)).toEqual(raw);
    // Link rows: the edge hours are pooled on their rounds inside the range (H0: 18 of 35 failed = down)
    const lq = { from: q.from, to: q.to, groupBy: ['commune' as const], histogram: true };
    const links = await readLinks(s, lq, classify);
    expect(links.map((a) => [a.tags.commune, a.hours, a.hoursDown, a.hoursDegraded, a.rounds, a.failed])).toEqual([['21034', 4, 1, 0, 165, 83]]);
    await s.rollup(H0 + 2 * H, H0 + 3 * H, rollupBuilder(classify));
    expect(await readLinks(s, lq, classify)).toEqual(links);
    const hourly = await readAggregates(s, { ...q, bucketMs: H }, classify);
    expect(hourly.map((a) => [a.t, a.rounds])).toEqual([
      [H0, 35],
      [H0 + H, 60],
      [H0 + 2 * H, 60],
      [H0 + 3 * H, 10],
    ]);
  });

  it('reads raw hours in slices of at most maxPoints points, with the figures and link rows of an unsliced read', async () => {
    const s = await fresh();
    // The largest answer of the real store's queryRaw: the raw points one slice holds in memory.
    let largest = 0;
    const measured = new Proxy(s, {
      get(target, key) {
        if (key === 'queryRaw')
          return async (q: RawQuery) => {
            const points = await target.queryRaw(q);
            largest = Math.max(largest, points.length);
            return points;
          };
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const H0 = Date.UTC(2026, 9, 7, 3);
    // Four hours of 21034 at every minute; in the second one 21040 every 30 s too (two rounds in a ms at every
    // minute); far in 21040 every 5 min with other latencies and failures; then an empty hour, two sparse hours that
    // fit one slice together and a sparse hour that does not. Latencies sum exactly in any order.
    const half = Array.from({ length: 120 }, (_, i) => icmp(H0 + H + i * 30_000, tags('21040', 'gateway'), i % 3 ? 0 : 100, i % 3 ? 35 : null));
    const far = Array.from({ length: 48 }, (_, i) => icmp(H0 + i * 5 * MIN + 7_000, tags('21040', 'far'), i % 5 ? 0 : 100, i % 5 ? 100 + 50 * (i % 9) : null));
    const sparse = [
      ...[5, 20, 40].map((m) => icmp(H0 + 5 * H + m * MIN, tags('21034', 'gateway'), 0, 400)),
      ...[1, 2, 3, 50].map((m) => icmp(H0 + 6 * H + m * MIN, tags('21040', 'gateway'), 100, null)),
      ...[10, 11].map((m) => icmp(H0 + 7 * H + m * MIN, tags('21034', 'far'), 0, 12.5)),
    ];
    await s.write([...minutes(H0, 240), ...half, ...far, ...sparse]);
    await s.rollup(H0 + 2 * H, H0 + 3 * H, rollupBuilder(classify));
    expect(await s.rollupCoverage(H0, H0 + 8 * H)).toEqual([H0 + 2 * H]);

    const ranges = [
      { from: H0, to: H0 + 8 * H },
      { from: H0 + 25 * MIN, to: H0 + 7 * H + 10 * MIN },
      { from: H0 + H + 59 * MIN, to: H0 + 6 * H + 2 * MIN },
    ];
    const aggregates = [
      { groupBy: ['commune' as const], histogram: true },
      { groupBy: ['commune' as const, 'target' as const], bucketMs: H },
      { groupBy: [], bucketMs: 2 * H, figures: 'counts' as const },
      { groupBy: ['target' as const], where: { commune: '21040' }, histogram: true },
    ];
    const links = [
      { groupBy: ['commune' as const, 'hod' as const], histogram: true },
      { groupBy: ['carrier' as const], where: { commune: '21034' } },
    ];
    // Each read in slices of maxPoints equals the unsliced read and never holds more than maxPoints raw points.
    const sliced = async <T>(read: (st: Store, n: number) => Promise<T>, bounds: number[]) => {
      const whole = await read(s, Infinity);
      expect(await read(s, RAW_SLICE_POINTS)).toEqual(whole);
      for (const n of bounds) {
        largest = 0;
        expect(await read(measured, n), `in slices of ${n}`).toEqual(whole);
        expect(largest, `in slices of ${n}`).toBeLessThanOrEqual(n);
      }
      return whole;
    };
    for (const r of ranges) {
      for (const a of aggregates) {
        const q = { measurement: 'icmp' as const, ...r, ...a };
        expect((await sliced((st, n) => readAggregates(st, q, classify, n), [7, 130])).length, JSON.stringify(q)).toBeGreaterThan(0);
      }
      for (const l of links) {
        const q = { ...r, ...l };
        expect((await sliced((st, n) => readLinks(st, q, classify, n), [7, 130])).length, JSON.stringify(q)).toBeGreaterThan(0);
      }
    }
    // Pages of 2 meet the two rounds sharing a ms: that ms is read whole, neither dropped nor counted twice.
    await sliced((st, n) => readLinks(st, { from: H0 + H - 2 * MIN, to: H0 + H + 10 * MIN, ...links[0]! }, classify, n), [2]);
  });

  it("a filtered read plans its slices by its own points, not the hour's: one read where they fit", async () => {
    const s = await fresh();
    let reads = 0;
    const counted = new Proxy(s, {
      get(target, key) {
        if (key === 'queryRaw') return (q: RawQuery) => (reads++, target.queryRaw(q));
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const H0 = Date.UTC(2026, 9, 8, 3);
    await s.write([...minutes(H0, 60, '21034'), ...minutes(H0, 60, '21040')]);
    const q = { measurement: 'icmp' as const, from: H0, to: H0 + H, groupBy: ['commune' as const], where: { commune: '21040' } };
    // 120 points in the hour, 60 of them 21040's: slices of 80 hold the filtered read in one
    const rows = await readAggregates(counted, q, classify, 80);
    expect(rows.map((r) => [r.tags.commune, r.rounds])).toEqual([['21040', 60]]);
    expect(reads).toBe(1);
    reads = 0;
    expect(await readLinks(counted, { from: H0, to: H0 + H, groupBy: ['commune'], where: { commune: '21040' } }, classify, 80)).toHaveLength(1);
    expect(reads).toBe(LINK_KINDS.length);
  });

  it('a write racing a rollup is never lost: the hour is covered with it, or left stale and rolled again', async () => {
    const s = await fresh();
    const H0 = Date.UTC(2026, 9, 6, 3);
    await s.write(minutes(H0, 60, '21034'));
    const late = minutes(H0, 60, '21040');
    const now = H0 + 5 * H;
    const [, first] = await Promise.all([s.write(late), runRollup(s, classify, { from: H0, to: H0 + H, now })]);
    expect(first.hours).toBe(1);
    await runRollup(s, classify, { from: H0, to: H0 + H, now });
    expect(await s.rollupCoverage(H0, H0 + H)).toEqual([H0]);
    const figs = await s.queryRollups({ measurement: 'icmp', from: H0, to: H0 + H, groupBy: ['commune'] });
    expect(figs.map((f) => [f.tags.commune, f.rounds])).toEqual([
      ['21034', 60],
      ['21040', 60],
    ]);
  });
});
