// The one storage contract. Two implementations (duckdb.ts, influx.ts) pass test/stores/contract.test.ts unchanged.
import type { Cause, Incident } from '../incidents/types.ts';
import type { Kind } from '../kinds/types.ts';
import { KIND_NAMES } from '../kinds/index.ts';
import type { MeasurementName } from './measurements.ts';

/** Tag keys, in this order everywhere (Influx tags, DuckDB columns). Values are free text: spaces, commas, `=`, diacritics. */
export const TAG_KEYS = ['province', 'commune', 'carrier', 'agent', 'target', 'uplink'] as const;
export type TagKey = (typeof TAG_KEYS)[number];
export type Tags = Record<TagKey, string>;

export type { FieldValue } from '../kinds/types.ts';
import type { FieldValue } from '../kinds/types.ts';

export interface Point {
  measurement: MeasurementName;
  /** epoch milliseconds */
  ts: number;
  tags: Tags;
  /** only fields declared for the measurement in measurements.ts; null = not measured */
  fields: Record<string, FieldValue>;
}

export interface RawQuery {
  measurement: MeasurementName;
  /** inclusive, epoch ms */
  from: number;
  /** exclusive, epoch ms */
  to: number;
  where?: Partial<Tags>;
  limit?: number;
}

export interface SeriesQuery {
  measurement: MeasurementName;
  /** numeric fields to aggregate (mean per bucket) */
  fields: string[];
  from: number;
  to: number;
  /** bucket width, ms; buckets are aligned to multiples of bucketMs since the epoch */
  bucketMs: number;
  where?: Partial<Tags>;
}

/** One bucket: `t` is the bucket start (epoch ms); each requested field is its mean or null when the bucket is empty. */
export interface SeriesRow {
  t: number;
  values: Record<string, number | null>;
}

/**
 * Incidents overlapping [from, to): opened before `to` and not resolved by `from` (resolvedAt null or > from).
 * Newest first (openedAt descending, then id descending). Filters combine with AND; `commune`/`target` match when the
 * incident lists it; `carrier` matches the incident's carrier.
 */
export interface IncidentQuery {
  from: number;
  to: number;
  cause?: Cause;
  commune?: string;
  carrier?: string;
  target?: string;
  /** only incidents still open (resolvedAt null) */
  openOnly?: boolean;
  /** exactly this incident (GET /api/incidents/:id) */
  id?: string;
  limit?: number;
}

// ---- rollups (server/stores/rollup.ts: schema, histogram, builder; README "Rollups and raw retention") ----------

/** Measurements that are rolled up: the probe results, one per kind. */
export const ROLLUP_MEASUREMENTS: readonly Kind[] = KIND_NAMES;
export type RollupMeasurement = Kind;
/** A rollup bucket is one clock hour (an hour of Asia/Ho_Chi_Minh too: UTC+7 is a whole number of hours). */
export const ROLLUP_BUCKET_MS = 3_600_000;

/**
 * Figures of a set of rounds. Every field merges by sum (latMin/latMax by min/max), so hourly rows merge into a
 * month or a year exactly, and a quantile comes from the merged histogram (approximate: see rollup.ts HIST_BINS).
 */
export interface RollupFigures {
  /** rounds that could be classified */
  rounds: number;
  /** rounds that failed (status.ts classify: nothing answered) */
  failed: number;
  /** rounds that answered past a threshold (classify `slow`, with the thresholds in force when rolled up) */
  slow: number;
  /** sum and count of the rounds' loss % (failed rounds count 100) */
  lossSum: number;
  lossN: number;
  /** latency of rounds that answered (icmp rtt_median, http/dns total_ms, tcp connect_ms): sum, count, min, max */
  latSum: number;
  latN: number;
  latMin: number | null;
  latMax: number | null;
  /** latency histogram, HIST_BINS counts ([] when a query did not ask for it) */
  hist: number[];
}

/** One rolled-up hour of one series. */
export interface RollupRow extends RollupFigures {
  measurement: RollupMeasurement;
  /** hour start, epoch ms (a multiple of ROLLUP_BUCKET_MS) */
  hour: number;
  tags: Tags;
}

/**
 * One carrier's link in one commune for one hour: the ICMP rounds over all of that carrier's uplinks there (every
 * agent, every ICMP target) pooled into one row, with the hour's verdict. Carrier reports read these: a year is
 * 8 760 rows per commune, merged by the store, instead of a row per hour shipped to the server.
 */
export interface LinkRow extends RollupFigures {
  hour: number;
  province: string;
  commune: string;
  carrier: string;
  /** hour of the day in Asia/Ho_Chi_Minh (0-23), to find the worst hours of the day by grouping */
  hod: number;
  /** more than half of the pooled rounds failed (failed × 2 > rounds) */
  down: boolean;
  /** not down, and more than half failed or were slow ((failed + slow) × 2 > rounds) */
  degraded: boolean;
}

/** What a rollup step writes for a chunk of hours. */
export interface RollupRows {
  series: RollupRow[];
  links: LinkRow[];
}

/**
 * Turns the raw points of a chunk of hours into rollup rows (server/stores/rollup.ts rollupBuilder). A store may call
 * it once per disjoint group of (province, commune, carrier) and concatenate the rows: a series or link row never
 * pools points of two such groups.
 */
export type RollupBuild = (points: Point[]) => RollupRows;

export const LINK_KEYS = ['province', 'commune', 'carrier', 'hod'] as const;
export type LinkKey = (typeof LINK_KEYS)[number];

export interface LinkQuery {
  /** hour-aligned, inclusive */
  from: number;
  /** hour-aligned, exclusive */
  to: number;
  where?: Partial<Record<'province' | 'commune' | 'carrier', string>>;
  groupBy: LinkKey[];
  histogram?: boolean;
}

/** Merged link rows: figures plus how many hours were down / degraded / had rounds. */
export interface LinkAgg extends RollupFigures {
  tags: Partial<Record<LinkKey, string>>;
  hours: number;
  hoursDown: number;
  hoursDegraded: number;
}

export interface RollupQuery {
  measurement: RollupMeasurement;
  /** hour-aligned, inclusive; read only rows whose hour is in [from, to) */
  from: number;
  /** hour-aligned, exclusive */
  to: number;
  where?: Partial<Tags>;
  /** tags kept in the result; rows differing only in other tags are merged */
  groupBy: TagKey[];
  /** merge into buckets of this width (a multiple of ROLLUP_BUCKET_MS, aligned to the epoch); omitted = whole range */
  bucketMs?: number;
  /** also merge the latency histograms (costs one column per bin) */
  histogram?: boolean;
  /** 'counts': only rounds, failed, slow, lossSum, lossN are read (latency figures come back 0/null); default 'all' */
  figures?: 'all' | 'counts';
}

/** A merged group: `t` is the bucket start (null without bucketMs), `tags` the groupBy tags. */
export interface RollupAgg extends RollupFigures {
  t: number | null;
  tags: Partial<Tags>;
}

/** How many raw points of a rolled-up measurement an hour holds. */
export interface RawHourCount {
  measurement: RollupMeasurement;
  hour: number;
  points: number;
}

export interface RollupResult {
  hours: number;
  points: number;
  rows: number;
}

export interface PruneResult {
  /** raw points older than this were (or will be, by a retention policy) removed */
  before: number;
  /** raw points deleted, when the store knows */
  deleted: number | null;
  detail: string;
}

// ---- audit trail (server/audit/log.ts) ----------------------------------------------------------------------------

/** One change made by a person or an integration: who, from where, when, what (details: before/after). */
export interface AuditRecord {
  /** unique and increasing in the order entries were recorded (epoch ms, bumped past the previous one) */
  seq: number;
  /** epoch ms */
  ts: number;
  who: string;
  action: string;
  subject: string;
  /** the client's address, when a request made the change */
  source: string | null;
  details?: Record<string, unknown>;
}

/** Newest first (seq descending). Filters combine with AND; `action` also matches a prefix ending in `.` (`auth.`). */
export interface AuditQuery {
  /** inclusive, epoch ms */
  from?: number;
  /** exclusive, epoch ms */
  to?: number;
  who?: string;
  action?: string;
  subject?: string;
  limit: number;
}

export interface StoreHealth {
  ok: boolean;
  kind: string;
  detail?: string;
  /** memory the store holds in this process (an embedded store's buffer pool), when it can tell */
  memoryBytes?: number;
}

export interface Store {
  readonly kind: string;
  /** create tables / database; throws when unreachable */
  init(): Promise<void>;
  /**
   * Durably write points. Idempotent: a point with the same measurement, agent, target, uplink and ts
   * overwrites the earlier one (a replayed batch never doubles a count). Throws StoreUnavailableError when down.
   */
  write(points: Point[]): Promise<void>;
  /**
   * How many write() calls may run at once (server/ingest/writer.ts keeps that many flushes in flight); absent = 1.
   * Only a store where concurrent writes of overlapping batches end as if they ran one after the other says more.
   */
  readonly writeConcurrency?: number;
  /** raw points ordered by ts ascending */
  queryRaw(q: RawQuery): Promise<Point[]>;
  /** bucketed means, only non-empty buckets, ordered by t */
  querySeries(q: SeriesQuery): Promise<SeriesRow[]>;
  health(): Promise<StoreHealth>;
  /** Upsert by id: the whole incident replaces the stored one. Throws StoreUnavailableError when down. */
  writeIncident(incident: Incident): Promise<void>;
  queryIncidents(q: IncidentQuery): Promise<Incident[]>;

  // ---- rollups: the stores keep hourly rows and which hours they cover; what a row holds is decided by the
  // builder (server/stores/rollup.ts), the same for both stores. Orchestration: server/reports/data/rollups.ts.

  /**
   * Raw points per hour of the rolled-up measurements in [from, to) (hours with none are absent), only those matching
   * `where` when given; to plan rollups and the slices of report reads.
   */
  rawCounts(from: number, to: number, where?: Partial<Tags>): Promise<RawHourCount[]>;
  /**
   * Roll up the hours [from, to) (hour-aligned): read their raw points of ROLLUP_MEASUREMENTS, `build` series and link
   * rows, replace the rows those hours had, and mark every hour of the range covered (hours without raw points too).
   * Idempotent.
   * A write that lands in a covered hour afterwards makes it uncovered again (stale) until it is rolled up anew;
   * a write racing with the rollup leaves the hour stale, never silently missing from it.
   */
  rollup(from: number, to: number, build: RollupBuild): Promise<RollupResult>;
  /** Hour starts in [from, to) whose rollup is current, ascending. */
  rollupCoverage(from: number, to: number): Promise<number[]>;
  /** Merged rollup rows of [from, to). Reads every row there: callers pass covered ranges (rollupCoverage). */
  queryRollups(q: RollupQuery): Promise<RollupAgg[]>;
  /** Merged link rows of [from, to) (covered ranges, as queryRollups); `hod` comes back as '0'..'23'. */
  queryLinks(q: LinkQuery): Promise<LinkAgg[]>;
  /**
   * Remove raw points older than `before` (every measurement) whose hour is covered by a rollup; uncovered raw is kept
   * until rolled up. Stores that expire raw data by a retention policy say so in `detail`.
   */
  pruneRaw(before: number): Promise<PruneResult>;
  /** Append audit entries (never changed afterwards; a seq written twice keeps one entry). Throws StoreUnavailableError when down. */
  writeAudit(entries: AuditRecord[]): Promise<void>;
  queryAudit(q: AuditQuery): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
