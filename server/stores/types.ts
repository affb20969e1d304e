// The one storage contract. Two implementations (duckdb.ts, influx.ts) pass test/stores/contract.test.ts unchanged.
import type { Cause, Incident } from '../incidents/types.ts';
import type { MeasurementName } from './measurements.ts';

/** Tag keys, in this order everywhere (Influx tags, DuckDB columns). Values are free text: spaces, commas, `=`, diacritics. */
export const TAG_KEYS = ['province', 'commune', 'carrier', 'agent', 'target', 'uplink'] as const;
export type TagKey = (typeof TAG_KEYS)[number];
export type Tags = Record<TagKey, string>;

export type FieldValue = number | string | boolean | null;

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

export interface StoreHealth {
  ok: boolean;
  kind: string;
  detail?: string;
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
  /** raw points ordered by ts ascending */
  queryRaw(q: RawQuery): Promise<Point[]>;
  /** bucketed means, only non-empty buckets, ordered by t */
  querySeries(q: SeriesQuery): Promise<SeriesRow[]>;
  health(): Promise<StoreHealth>;
  /** Upsert by id: the whole incident replaces the stored one. Throws StoreUnavailableError when down. */
  writeIncident(incident: Incident): Promise<void>;
  queryIncidents(q: IncidentQuery): Promise<Incident[]>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
