// Rollup orchestration and the read path of reports (README "Rollups and raw retention").
//
// - roundClassifier: a raw point -> the verdict its kind's descriptor (server/kinds/) gives a live round, with the
//   thresholds of its target and commune, so a report's failed/slow rounds are the ones the live map saw.
// - runRollup: rolls up the closed hours of a range that are not covered (never rolled, or stale after a late write),
//   in chunks of at most maxPoints raw points. An hour is closed graceMs after it ends (writes in flight finish first).
//   Idempotent: covered hours are skipped, a chunk rolled twice gives the same rows.
// - startRollupJob: every intervalMs, runRollup over the raw retention window (+7 days), then pruneRaw.
// - readAggregates: figures of a period = rollup rows of its covered whole hours + raw points of the rest (edges of a
//   period not on an hour, hours not rolled up yet), folded by the same builder, so both sides of the boundary agree;
//   the raw points are read in slices of at most RAW_SLICE_POINTS (readLinks too), so a report's memory does not grow
//   with the province's unrolled hours.
import { classifyFields, LINK_KINDS } from '../../kinds/index.ts';
import type { Directory } from '../../directory.ts';
import { addRound, aggKey, emptyFigures, hourOf, linkRows, mergeFigures, RollupAccumulator, rollupBuilder, type RoundClassifier } from '../../stores/rollup.ts';
import {
  ROLLUP_BUCKET_MS,
  type LinkAgg,
  type LinkQuery,
  type Point,
  type RawQuery,
  type RollupAgg,
  type RollupQuery,
  type Store,
  type Tags,
} from '../../stores/types.ts';
import type { Thresholds } from '../../../config/schema.ts';

const H = ROLLUP_BUCKET_MS;
const DAY = 86_400_000;

// ---- classification ----

/** Classifies raw points like the live status machine, with the thresholds of each target and commune. */
export function roundClassifier(dir: Pick<Directory, 'thresholdsFor'>): RoundClassifier {
  // thresholdsFor merges four objects: once per (target, commune), not once per point.
  const cache = new Map<string, Thresholds>();
  const thresholds = (target: string, commune: string) => {
    const key = `${target}\u0000${commune}`;
    let th = cache.get(key);
    if (!th) cache.set(key, (th = dir.thresholdsFor(target, commune)));
    return th;
  };
  return (m, tags, fields) => {
    const c = classifyFields(m, fields, thresholds(tags.target, tags.commune));
    if (!c) return null;
    return { verdict: c.verdict, lossPct: c.lossPct, latencyMs: c.latencyMs };
  };
}

// ---- rolling up ----

export interface RollupRunOptions {
  /** epoch ms; hours in [hourOf(from), to) are considered */
  from: number;
  to: number;
  now: number;
  /** an hour is rolled up only this long after it ends (default 2 min) */
  graceMs?: number;
  /** raw points per rollup chunk (default 50 000) */
  maxPoints?: number;
}

export interface RollupRunStats {
  hours: number;
  points: number;
  rows: number;
  chunks: number;
}

/** Contiguous runs [from, to) of sorted hour starts. */
export function hourRuns(hours: readonly number[]): { from: number; to: number }[] {
  const runs: { from: number; to: number }[] = [];
  for (const h of hours) {
    const last = runs[runs.length - 1];
    if (last && last.to === h) last.to = h + H;
    else runs.push({ from: h, to: h + H });
  }
  return runs;
}

/** The parts of [from, to) outside the sorted runs. */
function gapsBetween(runs: readonly { from: number; to: number }[], from: number, to: number): { from: number; to: number }[] {
  const gaps: { from: number; to: number }[] = [];
  let at = from;
  for (const run of runs) {
    if (run.from > at) gaps.push({ from: at, to: run.from });
    at = Math.max(at, run.to);
  }
  if (at < to) gaps.push({ from: at, to });
  return gaps;
}

/** Rolls up the closed, uncovered hours of [from, to). */
export async function runRollup(store: Store, classifyRound: RoundClassifier, o: RollupRunOptions): Promise<RollupRunStats> {
  const closedEnd = hourOf(o.now - (o.graceMs ?? 120_000));
  const start = hourOf(o.from);
  const end = Math.min(hourOf(o.to + H - 1), closedEnd);
  const stats: RollupRunStats = { hours: 0, points: 0, rows: 0, chunks: 0 };
  if (end <= start) return stats;
  const covered = new Set(await store.rollupCoverage(start, end));
  const todo: number[] = [];
  for (let h = start; h < end; h += H) if (!covered.has(h)) todo.push(h);
  if (!todo.length) return stats;
  const build = rollupBuilder(classifyRound);
  const maxPoints = o.maxPoints ?? 50_000;
  for (const run of hourRuns(todo)) {
    const perHour = new Map<number, number>();
    for (const c of await store.rawCounts(run.from, run.to)) perHour.set(c.hour, (perHour.get(c.hour) ?? 0) + c.points);
    // Chunks of whole hours holding at most maxPoints raw points (an hour alone may hold more).
    let chunkFrom = run.from;
    let inChunk = 0;
    const flush = async (to: number) => {
      if (to <= chunkFrom) return;
      const r = await store.rollup(chunkFrom, to, build);
      stats.hours += r.hours;
      stats.points += r.points;
      stats.rows += r.rows;
      stats.chunks++;
      chunkFrom = to;
      inChunk = 0;
    };
    for (let h = run.from; h < run.to; h += H) {
      const n = perHour.get(h) ?? 0;
      if (inChunk > 0 && inChunk + n > maxPoints) await flush(h);
      inChunk += n;
    }
    await flush(run.to);
  }
  return stats;
}

export interface RollupJobOptions {
  store: Store;
  classify: RoundClassifier;
  /** raw data kept this many days (0: forever, no pruning) */
  rawRetentionDays: number;
  /** default 10 min */
  intervalMs?: number;
  now?: () => number;
  onRun?: (r: { rollup: RollupRunStats; prune: Awaited<ReturnType<Store['pruneRaw']>> | null; ms: number }) => void;
  onError?: (err: unknown) => void;
}

/**
 * The server's rollup step: rolls up every closed hour of the raw window (retention + 7 days, or the last 7 days when
 * raw data is kept forever) that is not covered, then prunes raw data past the retention. Start it from the
 * composition root; `runOnce` is the step itself (tests, on demand), never overlapping a run in progress.
 */
export function startRollupJob(o: RollupJobOptions): { runOnce(): Promise<void>; stop(): void } {
  const now = o.now ?? Date.now;
  let running: Promise<void> | null = null;
  const step = async () => {
    const t = now();
    const t0 = Date.now();
    const window = (o.rawRetentionDays > 0 ? o.rawRetentionDays + 7 : 7) * DAY;
    const rollup = await runRollup(o.store, o.classify, { from: t - window, to: t, now: t });
    const prune = o.rawRetentionDays > 0 ? await o.store.pruneRaw(t - o.rawRetentionDays * DAY) : null;
    o.onRun?.({ rollup, prune, ms: Date.now() - t0 });
  };
  const runOnce = () => {
    running ??= step().finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => o.onError?.(err));
  }, o.intervalMs ?? 600_000);
  timer.unref();
  return {
    runOnce,
    stop: () => clearInterval(timer),
  };
}

// ---- reading ----

/** Raw points a report read holds in memory at once (one queryRaw answer). */
export const RAW_SLICE_POINTS = 100_000;
/** readAggregates folds the raw points of a gap per window of this length, each into rows of its own. */
const RAW_WINDOW_MS = 6 * H;

/**
 * Cuts a gap [from, to) into consecutive slices holding at most maxPoints raw points of `measurements` by the store's
 * hourly counts: whole hours grouped while their counts fit, an hour with more cut into equal sub-hour slices (rounds
 * come evenly over an hour; foldRaw pages a slice that holds more). The slices cover every hour with counted points,
 * in time order, and cross an hour boundary only when whole hours are grouped.
 */
async function rawSlices(store: Store, measurements: readonly string[], gap: { from: number; to: number }, where: Partial<Tags> | undefined, maxPoints: number) {
  const perHour = new Map<number, number>();
  // counted with the read's own filter: a carrier's report plans slices by its own points, not the province's
  for (const c of await store.rawCounts(hourOf(gap.from), gap.to, where))
    if (measurements.includes(c.measurement)) perHour.set(c.hour, (perHour.get(c.hour) ?? 0) + c.points);
  const slices: { from: number; to: number }[] = [];
  let open: { from: number; to: number } | null = null;
  let inOpen = 0;
  for (let h = hourOf(gap.from); h < gap.to; h += H) {
    const from = Math.max(h, gap.from);
    const to = Math.min(h + H, gap.to);
    const n = perHour.get(h) ?? 0;
    // an hour without points starts no slice (a status page's 90 days of a young server would be 360 reads of
    // nothing); inside a slice it costs nothing. A point written after the counts is read by the next report.
    if (n === 0 && !open) continue;
    if (n <= maxPoints) {
      if (open && inOpen + n <= maxPoints) {
        open.to = to;
        inOpen += n;
      } else {
        slices.push((open = { from, to }));
        inOpen = n;
      }
      continue;
    }
    open = null;
    const parts = Math.ceil(n / maxPoints);
    for (let i = 0; i < parts; i++) {
      const a = Math.max(from, h + Math.floor((i * H) / parts));
      const b = Math.min(to, h + Math.floor(((i + 1) * H) / parts));
      if (a < b) slices.push({ from: a, to: b });
    }
  }
  return slices;
}

/**
 * Folds the raw points of rq in ts order, at most maxPoints per answer: a slice holding more than its hour's share
 * (rounds bunched in time) is read on in pages from the last point's ms, which the next page reads again whole.
 */
async function foldRaw(store: Store, rq: RawQuery, maxPoints: number, fold: (p: Point) => void): Promise<void> {
  if (!Number.isFinite(maxPoints)) {
    for (const p of await store.queryRaw(rq)) fold(p);
    return;
  }
  for (let from = rq.from; from < rq.to; ) {
    const points = await store.queryRaw({ ...rq, from, limit: maxPoints });
    const last = points.length < maxPoints ? rq.to : points[points.length - 1]!.ts;
    if (last === from) {
      // maxPoints rounds or more in one ms: that ms is read whole
      for (const p of await store.queryRaw({ ...rq, from, to: from + 1 })) fold(p);
      from++;
      continue;
    }
    for (const p of points) if (p.ts < last) fold(p);
    from = last;
  }
}

export type AggregateQuery = Omit<RollupQuery, 'from' | 'to'> & { from: number; to: number };

/**
 * Merged figures of [from, to) (any ms, not only hours): rollup rows for the whole hours that are covered, raw points
 * folded with the same classifier for everything else, read in slices of at most maxPoints points (rawSlices). Sorted
 * by t then by the groupBy tags.
 */
export async function readAggregates(store: Store, q: AggregateQuery, classifyRound: RoundClassifier, maxPoints = RAW_SLICE_POINTS): Promise<RollupAgg[]> {
  if (q.bucketMs !== undefined && (q.bucketMs <= 0 || q.bucketMs % H !== 0)) throw new TypeError(`bad bucketMs ${q.bucketMs}`);
  const hStart = hourOf(q.from + H - 1);
  const hEnd = hourOf(q.to);
  const covered = hEnd > hStart ? await store.rollupCoverage(hStart, hEnd) : [];
  const runs = hourRuns(covered);
  // One list per source: rollup rows per covered run (sorted by the store), raw points folded per window.
  const sources: { rows: RollupAgg[]; sorted: boolean }[] = [];
  for (const run of runs) sources.push({ rows: await store.queryRollups({ ...q, from: run.from, to: run.to }), sorted: true });

  // Raw for the rest (the gaps between covered runs). Each RAW_WINDOW_MS window of a gap is folded into rows of its
  // own, in ts order, and merged after the rollup rows: the sums are added in one order whatever the slicing, so the
  // figures agree to the last bit.
  const b = q.bucketMs;
  for (const g of gapsBetween(runs, q.from, q.to)) {
    // window start -> its rows; slices come in time order, so windows are met (and pushed) in time order
    const windows = new Map<number, Map<string, RollupAgg>>();
    for (const { from, to } of await rawSlices(store, [q.measurement], g, q.where, maxPoints)) {
      await foldRaw(store, { measurement: q.measurement, from, to, ...(q.where ? { where: q.where } : {}) }, maxPoints, (p) => {
        const o = classifyRound(q.measurement, p.tags, p.fields);
        if (!o) return;
        const w = g.from + Math.floor((p.ts - g.from) / RAW_WINDOW_MS) * RAW_WINDOW_MS;
        let local = windows.get(w);
        if (!local) windows.set(w, (local = new Map()));
        const t = b ? p.ts - (((p.ts % b) + b) % b) : null;
        const tags: Partial<Tags> = {};
        for (const k of q.groupBy) tags[k] = p.tags[k];
        const key = aggKey(t, tags, q.groupBy);
        let a = local.get(key);
        if (!a) local.set(key, (a = { t, tags, ...emptyFigures(!!q.histogram) }));
        addRound(a, o);
      });
    }
    for (const local of windows.values()) sources.push({ rows: [...local.values()], sorted: false });
  }

  let out: RollupAgg[];
  if (sources.length === 1 && sources[0]!.sorted) out = sources[0]!.rows;
  else {
    const merged = new Map<string, RollupAgg>();
    for (const src of sources) {
      for (const a of src.rows) {
        const key = aggKey(a.t, a.tags, q.groupBy);
        const have = merged.get(key);
        if (have) mergeFigures(have, a);
        else merged.set(key, { ...a, hist: a.hist.length || !q.histogram ? a.hist : emptyFigures(true).hist });
      }
    }
    const keys = q.groupBy;
    out = [...merged.values()].sort((x, y) => {
      const dt = (x.t ?? 0) - (y.t ?? 0);
      if (dt) return dt;
      for (const k of keys) {
        const a = x.tags[k] ?? '';
        const c = y.tags[k] ?? '';
        if (a !== c) return a < c ? -1 : 1;
      }
      return 0;
    });
  }
  if (q.figures === 'counts') for (const a of out) Object.assign(a, { latSum: 0, latN: 0, latMin: null, latMax: null });
  return out;
}

/**
 * Merged link rows (one carrier's pooled ICMP rounds per commune and hour, see LinkRow) of [from, to): the store's
 * rows for covered whole hours, link rows built from raw points by the same builder for the rest, read in slices of
 * at most maxPoints points (rawSlices). Each hour keeps one accumulator that all its slices add to, so an hour is
 * never pooled in two halves; an hour cut by the range's edge is pooled on the rounds inside the range. Sorted by the
 * groupBy keys (hod numerically).
 */
export async function readLinks(store: Store, q: LinkQuery & { from: number; to: number }, classifyRound: RoundClassifier, maxPoints = RAW_SLICE_POINTS): Promise<LinkAgg[]> {
  const hStart = hourOf(q.from + H - 1);
  const hEnd = hourOf(q.to);
  const runs = hourRuns(hEnd > hStart ? await store.rollupCoverage(hStart, hEnd) : []);
  const merged = new Map<string, LinkAgg>();
  const keyOf = (tags: LinkAgg['tags']) => q.groupBy.map((k) => tags[k] ?? '').join('\u0000');
  const add = (a: LinkAgg) => {
    const key = keyOf(a.tags);
    const have = merged.get(key);
    if (!have) merged.set(key, { ...a, hist: a.hist.length || !q.histogram ? a.hist : emptyFigures(true).hist });
    else {
      mergeFigures(have, a);
      have.hours += a.hours;
      have.hoursDown += a.hoursDown;
      have.hoursDegraded += a.hoursDegraded;
    }
  };
  for (const run of runs) for (const a of await store.queryLinks({ ...q, from: run.from, to: run.to })) add(a);

  // Hours being read, ascending; an hour's link rows are added once its last slice is in.
  const open = new Map<number, RollupAccumulator>();
  const pool = (hour: number) => {
    const acc = open.get(hour)!;
    open.delete(hour);
    // Series rows in the order of LINK_KINDS, as when the measurements were read one after the other.
    const series = acc.result().sort((x, y) => LINK_KINDS.indexOf(x.measurement) - LINK_KINDS.indexOf(y.measurement));
    for (const l of linkRows(series)) {
      const tags: LinkAgg['tags'] = {};
      for (const k of q.groupBy) tags[k] = String(l[k]);
      add({
        tags,
        hours: 1,
        hoursDown: l.down ? 1 : 0,
        hoursDegraded: l.degraded ? 1 : 0,
        rounds: l.rounds,
        failed: l.failed,
        slow: l.slow,
        lossSum: l.lossSum,
        lossN: l.lossN,
        latSum: l.latSum,
        latN: l.latN,
        latMin: l.latMin,
        latMax: l.latMax,
        hist: q.histogram ? l.hist : [],
      });
    }
  };
  for (const g of gapsBetween(runs, q.from, q.to)) {
    for (const { from, to } of await rawSlices(store, LINK_KINDS, g, q.where, maxPoints)) {
      for (let h = hourOf(from); h < to; h += H) if (!open.has(h)) open.set(h, new RollupAccumulator(classifyRound));
      for (const measurement of LINK_KINDS)
        await foldRaw(store, { measurement, from, to, ...(q.where ? { where: q.where } : {}) }, maxPoints, (p) => open.get(hourOf(p.ts))!.add(p));
      for (const h of [...open.keys()]) if (h + H <= to || to === g.to) pool(h);
    }
  }
  const num = (k: string) => k === 'hod';
  return [...merged.values()].sort((x, y) => {
    for (const k of q.groupBy) {
      const a = x.tags[k] ?? '';
      const b = y.tags[k] ?? '';
      if (a !== b) return num(k) ? Number(a) - Number(b) : a < b ? -1 : 1;
    }
    return 0;
  });
}
