// The rollup schema, shared by both stores (README "Rollups and raw retention"): what an hourly row holds, the latency
// histogram, and the pure builder that turns raw points into rows. Stores only keep rows and coverage; the same
// builder makes the rows of both, and reports fold raw points of not-yet-rolled hours with it too, so figures are the
// same whichever side of the raw/rolled-up boundary an hour is on.
//
// Two kinds of rows per hour: series rows (`icmp_1h`, `http_1h`, `dns_1h`, `tcp_1h`: one per measurement and six tags)
// and link rows (`link_1h`: one per commune and carrier, that carrier's ICMP series pooled, with the hour's verdict
// and its local hour of the day), which carrier reports merge over a year without one row per hour leaving the store.
//
// Histogram: HIST_BINS log-spaced latency bins, three per octave (each bin spans a ratio of 2^(1/3) ≈ 1.26):
//   bin 0 = [0, 1) ms, bin k = [2^((k-1)/3), 2^(k/3)) ms for k = 1..46, bin 47 = [2^(46/3) ≈ 40.3 s, ∞).
// Counts merge by addition across hours, agents and targets. A quantile is found in the bin holding its rank and
// interpolated geometrically inside it, clamped to the group's min/max: it is off by at most one bin's ratio (26 %)
// from the exact value and exact when every value is equal. Why not a t-digest: counts in fixed bins are plain
// integer columns that DuckDB's sum() and InfluxQL's sum() merge on the server, so a year merges without shipping rows.
import { VN_OFFSET_MS } from '../../config/schema.ts';
import { KINDS } from '../kinds/index.ts';
import type { FieldValue, LinkRow, Point, RollupAgg, RollupFigures, RollupMeasurement, RollupRow, RollupRows, Tags, TagKey } from './types.ts';
import { ROLLUP_BUCKET_MS, ROLLUP_MEASUREMENTS, TAG_KEYS } from './types.ts';

export const HIST_BINS = 48;
const PER_OCTAVE = 3;
/** Upper bound ratio of a bin to its lower bound: the worst-case relative error of a quantile. */
export const HIST_BIN_RATIO = 2 ** (1 / PER_OCTAVE);
/** Column / field names of the bins: h00 .. h47 */
export const HIST_COLS = Array.from({ length: HIST_BINS }, (_, i) => `h${String(i).padStart(2, '0')}`);

/** Scalar figures as store columns / fields, in this order. */
export const FIGURE_COLS = ['rounds', 'failed', 'slow', 'loss_sum', 'loss_n', 'lat_sum', 'lat_n', 'lat_min', 'lat_max'] as const;
/** The columns of RollupQuery figures: 'counts'. */
export const COUNT_COLS = ['rounds', 'failed', 'slow', 'loss_sum', 'loss_n'] as const;

/** Scalar columns a query reads. */
export function figureCols(figures: 'all' | 'counts' | undefined): readonly (typeof FIGURE_COLS)[number][] {
  return figures === 'counts' ? COUNT_COLS : FIGURE_COLS;
}

/** How each scalar column merges. */
export const FIGURE_MERGE: Record<(typeof FIGURE_COLS)[number], 'sum' | 'min' | 'max'> = {
  rounds: 'sum',
  failed: 'sum',
  slow: 'sum',
  loss_sum: 'sum',
  loss_n: 'sum',
  lat_sum: 'sum',
  lat_n: 'sum',
  lat_min: 'min',
  lat_max: 'max',
};
/** Integer-valued columns (the rest are floats). */
export const INT_COLS = new Set<string>(['rounds', 'failed', 'slow', 'loss_n', 'lat_n', ...HIST_COLS]);

/** Rollup measurement name in both stores: `icmp_1h` etc. */
export const rollupName = (m: RollupMeasurement) => `${m}_1h`;

export const isRollupMeasurement = (m: string): m is RollupMeasurement => (ROLLUP_MEASUREMENTS as readonly string[]).includes(m);

export const hourOf = (ts: number) => ts - (((ts % ROLLUP_BUCKET_MS) + ROLLUP_BUCKET_MS) % ROLLUP_BUCKET_MS);

/**
 * Raw points a store folds at once in a rollup (about 25 MB of JS objects). An hour of a province with thousands of
 * sites is millions of points: read and folded whole, it held gigabytes and stalled the event loop for seconds. Rolling
 * two hours of 3,000 sites (bench:soak, SITES=3000 DAYS=1 MINUTES=6), groups of 200,000 peaked at 1,401 MB resident
 * with a 3.38 s stall; groups of 50,000 at 1,137 MB with 1.55 s.
 */
export const ROLLUP_GROUP_POINTS = 50_000;

/**
 * Communes packed into groups of at most `max` points each, in the order given (a commune larger than `max` is a group
 * of its own). Groups of whole communes share no series row and no link row, so each is folded on its own.
 */
export function communeGroups(pointsPerCommune: Iterable<[string, number]>, max: number): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const [commune, n] of pointsPerCommune) {
    if (current.length > 0 && size + n > max) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(commune);
    size += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export function binOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(HIST_BINS - 1, 1 + Math.floor(PER_OCTAVE * Math.log2(ms)));
}

/** [lower, upper) bound of a bin in ms (upper Infinity for the last). */
export function binBounds(bin: number): [number, number] {
  if (bin <= 0) return [0, 1];
  const lo = 2 ** ((bin - 1) / PER_OCTAVE);
  return [lo, bin >= HIST_BINS - 1 ? Infinity : 2 ** (bin / PER_OCTAVE)];
}

/**
 * q-quantile (0..1) of the values counted in `hist`: the value of rank q·n, interpolated geometrically inside its bin,
 * clamped to [min, max]. Null when the histogram is empty.
 */
export function histQuantile(hist: readonly number[], q: number, min: number | null, max: number | null): number | null {
  const n = hist.reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  const rank = Math.min(Math.max(q, 0), 1) * n;
  let before = 0;
  for (let i = 0; i < hist.length; i++) {
    const c = hist[i] ?? 0;
    if (c === 0) continue;
    if (before + c >= rank || i === hist.length - 1) {
      let [lo, hi] = binBounds(i);
      if (min !== null) lo = Math.max(lo, min);
      if (max !== null) hi = Math.min(hi, max);
      if (!Number.isFinite(hi)) hi = lo;
      if (hi <= lo) return lo;
      const frac = Math.min(Math.max((rank - before) / c, 0), 1);
      return lo > 0 ? lo * (hi / lo) ** frac : lo + (hi - lo) * frac;
    }
    before += c;
  }
  return null;
}

export function emptyFigures(withHist = true): RollupFigures {
  return {
    rounds: 0,
    failed: 0,
    slow: 0,
    lossSum: 0,
    lossN: 0,
    latSum: 0,
    latN: 0,
    latMin: null,
    latMax: null,
    hist: withHist ? new Array<number>(HIST_BINS).fill(0) : [],
  };
}

const minN = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxN = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** into += from (histograms merge when both have one). */
export function mergeFigures(into: RollupFigures, from: RollupFigures): RollupFigures {
  into.rounds += from.rounds;
  into.failed += from.failed;
  into.slow += from.slow;
  into.lossSum += from.lossSum;
  into.lossN += from.lossN;
  into.latSum += from.latSum;
  into.latN += from.latN;
  into.latMin = minN(into.latMin, from.latMin);
  into.latMax = maxN(into.latMax, from.latMax);
  if (into.hist.length && from.hist.length) for (let i = 0; i < HIST_BINS; i++) into.hist[i]! += from.hist[i] ?? 0;
  return into;
}

/** The verdict of one round, as its kind's descriptor gives it (server/kinds/). */
export interface RoundOutcome {
  verdict: 'good' | 'slow' | 'fail';
  lossPct: number | null;
  latencyMs: number | null;
}

/** Classifies a raw point; null = not a round that counts (e.g. a point without the fields a verdict needs). */
export type RoundClassifier = (measurement: RollupMeasurement, tags: Tags, fields: Record<string, FieldValue>) => RoundOutcome | null;

/** Adds one classified round to figures. Latency counts only for rounds that answered. */
export function addRound(f: RollupFigures, o: RoundOutcome): void {
  f.rounds++;
  if (o.verdict === 'fail') f.failed++;
  else if (o.verdict === 'slow') f.slow++;
  if (o.lossPct !== null && Number.isFinite(o.lossPct)) {
    f.lossSum += o.lossPct;
    f.lossN++;
  }
  const lat = o.latencyMs;
  if (o.verdict !== 'fail' && lat !== null && Number.isFinite(lat) && lat >= 0) {
    f.latSum += lat;
    f.latN++;
    f.latMin = minN(f.latMin, lat);
    f.latMax = maxN(f.latMax, lat);
    if (f.hist.length) f.hist[binOf(lat)]!++;
  }
}

/** Folds raw points into hourly rows per (measurement, six tags, hour). */
export class RollupAccumulator {
  private readonly rows = new Map<string, RollupRow>();
  points = 0;
  constructor(private readonly classify: RoundClassifier) {}

  add(p: Point): void {
    if (!isRollupMeasurement(p.measurement)) return;
    const o = this.classify(p.measurement, p.tags, p.fields);
    if (!o) return;
    this.points++;
    const hour = hourOf(p.ts);
    const key = `${p.measurement}\u0000${hour}\u0000${TAG_KEYS.map((k) => p.tags[k]).join('\u0000')}`;
    let row = this.rows.get(key);
    if (!row) {
      row = { measurement: p.measurement, hour, tags: { ...p.tags }, ...emptyFigures() };
      this.rows.set(key, row);
    }
    addRound(row, o);
  }

  result(): RollupRow[] {
    return [...this.rows.values()];
  }
}

/** Local (Asia/Ho_Chi_Minh) hour of the day of an hour start. */
export const hourOfDay = (hour: number) => Math.floor((((hour + VN_OFFSET_MS) % 86_400_000) + 86_400_000) % 86_400_000 / ROLLUP_BUCKET_MS);

/**
 * Link rows from the series rows of whole hours of the kinds that describe the link (ICMP): per (hour, province,
 * commune, carrier), every such series of that carrier pooled (rows without a carrier have no link). The verdict rule is the carrier report's (carrier.ts).
 */
export function linkRows(series: readonly RollupRow[]): LinkRow[] {
  const links = new Map<string, LinkRow>();
  for (const r of series) {
    if (!KINDS[r.measurement].describesLink || r.tags.carrier === '') continue;
    const key = `${r.hour}\u0000${r.tags.province}\u0000${r.tags.commune}\u0000${r.tags.carrier}`;
    let l = links.get(key);
    if (!l) {
      l = { hour: r.hour, province: r.tags.province, commune: r.tags.commune, carrier: r.tags.carrier, hod: hourOfDay(r.hour), down: false, degraded: false, ...emptyFigures() };
      links.set(key, l);
    }
    mergeFigures(l, r);
  }
  for (const l of links.values()) {
    l.down = l.rounds > 0 && l.failed * 2 > l.rounds;
    l.degraded = !l.down && l.rounds > 0 && (l.failed + l.slow) * 2 > l.rounds;
  }
  return [...links.values()];
}

/** A RollupBuild for Store.rollup from a classifier: series rows, and link rows pooled from them. */
export function rollupBuilder(classify: RoundClassifier): (points: Point[]) => RollupRows {
  return (points) => {
    const acc = new RollupAccumulator(classify);
    for (const p of points) acc.add(p);
    const series = acc.result();
    return { series, links: linkRows(series) };
  };
}

/** Validates a link row for storage. */
export function checkLink(l: LinkRow, from: number, to: number): void {
  if (!Number.isSafeInteger(l.hour) || l.hour % ROLLUP_BUCKET_MS !== 0 || l.hour < from || l.hour >= to)
    throw new TypeError(`rollup: link hour ${l.hour} is not an hour start inside [${from}, ${to})`);
  if (!Number.isInteger(l.hod) || l.hod < 0 || l.hod > 23) throw new TypeError('rollup: link hod must be 0-23');
  if (l.hist.length !== HIST_BINS) throw new TypeError(`rollup: histogram must have ${HIST_BINS} bins`);
  if (!l.carrier) throw new TypeError('rollup: a link needs a carrier');
}

/** Group key of a rollup aggregate (bucket + grouped tag values). */
export function aggKey(t: number | null, tags: Partial<Tags>, groupBy: readonly TagKey[]): string {
  return `${t ?? ''}\u0000${groupBy.map((k) => tags[k] ?? '').join('\u0000')}`;
}

/** Validates a rollup row for storage: hour aligned and inside [from, to), finite figures, full histogram. */
export function checkRow(r: RollupRow, from: number, to: number): void {
  if (!isRollupMeasurement(r.measurement)) throw new TypeError(`rollup: unknown measurement ${r.measurement}`);
  if (!Number.isSafeInteger(r.hour) || r.hour % ROLLUP_BUCKET_MS !== 0 || r.hour < from || r.hour >= to)
    throw new TypeError(`rollup: row hour ${r.hour} is not an hour start inside [${from}, ${to})`);
  if (r.hist.length !== HIST_BINS) throw new TypeError(`rollup: histogram must have ${HIST_BINS} bins`);
  for (const v of [r.rounds, r.failed, r.slow, r.lossN, r.latN, ...r.hist])
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`rollup: counts must be non-negative integers`);
  for (const v of [r.lossSum, r.latSum]) if (!Number.isFinite(v)) throw new TypeError('rollup: sums must be finite');
}

/** Row figures -> column values in FIGURE_COLS then HIST_COLS order. */
export function figureValues(r: RollupFigures): (number | null)[] {
  return [r.rounds, r.failed, r.slow, r.lossSum, r.lossN, r.latSum, r.latN, r.latMin, r.latMax, ...r.hist];
}

/** Column values (FIGURE_COLS, then HIST_COLS when withHist) -> figures. */
export function figuresFrom(get: (col: string) => unknown, withHist: boolean): RollupFigures {
  const n = (c: string) => {
    const v = get(c);
    return v === null || v === undefined ? 0 : Number(v);
  };
  const nn = (c: string) => {
    const v = get(c);
    return v === null || v === undefined ? null : Number(v);
  };
  return {
    rounds: n('rounds'),
    failed: n('failed'),
    slow: n('slow'),
    lossSum: n('loss_sum'),
    lossN: n('loss_n'),
    latSum: n('lat_sum'),
    latN: n('lat_n'),
    latMin: nn('lat_min'),
    latMax: nn('lat_max'),
    hist: withHist ? HIST_COLS.map(n) : [],
  };
}

export type { RollupAgg };
