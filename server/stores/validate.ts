// What the Store contract refuses, checked once for every store: the public methods here validate their arguments
// (TypeError, before anything is read or written) and hand them to the store's `…Checked` method. A store then only
// turns valid input into its own queries, so both stores refuse exactly the same things. Refusals that depend on a
// store's format (tag values InfluxDB line protocol cannot carry) stay in that store.
import type { Incident } from '../incidents/types.ts';
import { fieldDefs, type FieldType } from './measurements.ts';
import { checkLink, checkRow, isRollupMeasurement } from './rollup.ts';
import { LINK_KEYS, ROLLUP_BUCKET_MS, TAG_KEYS } from './types.ts';
import type * as S from './types.ts';

// ---- the checks ----

export function checkEpoch(ms: number, what = 'from/to'): void {
  if (!Number.isSafeInteger(ms)) throw new TypeError(`${what} must be integer epoch ms`);
}

export function checkRange(from: number, to: number): void {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw new TypeError('from/to must be integer epoch ms');
}

/** A rollup range: whole hours, from <= to. */
export function checkHours(from: number, to: number): void {
  checkRange(from, to);
  if (from % ROLLUP_BUCKET_MS !== 0 || to % ROLLUP_BUCKET_MS !== 0 || to < from) throw new TypeError(`rollup range must be whole hours: ${from}..${to}`);
}

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new TypeError(`bad limit ${limit}`);
}

/** A value both stores can hold for a field of this type (null/undefined: not measured). */
export function checkField(m: string, name: string, type: FieldType, v: S.FieldValue | undefined): void {
  if (v === null || v === undefined) return;
  const ok =
    type === 'float' ? typeof v === 'number' && Number.isFinite(v)
    : type === 'int' ? typeof v === 'number' && Number.isSafeInteger(v)
    : type === 'bool' ? typeof v === 'boolean'
    : typeof v === 'string';
  if (!ok) throw new TypeError(`${m}.${name}: expected ${type}, got ${JSON.stringify(v)}`);
}

/** Every point of a batch: a bad one rejects the whole batch. */
export function checkPoints(points: readonly S.Point[]): void {
  for (const p of points) {
    const fields = fieldDefs(p.measurement);
    const m = p.measurement;
    if (!Number.isSafeInteger(p.ts)) throw new TypeError(`${m}: ts must be integer epoch ms, got ${p.ts}`);
    for (const k of TAG_KEYS) if (typeof (p.tags[k] ?? '') !== 'string') throw new TypeError(`${m}: tag ${k} must be a string`);
    for (const [f, t] of fields) checkField(m, f, t, p.fields[f]);
  }
}

export function checkRawQuery(q: S.RawQuery): void {
  fieldDefs(q.measurement);
  checkRange(q.from, q.to);
  checkLimit(q.limit);
}

export function checkSeriesQuery(q: S.SeriesQuery): void {
  const defs = new Map(fieldDefs(q.measurement));
  for (const f of q.fields) {
    const t = defs.get(f);
    if (t !== 'float' && t !== 'int') throw new TypeError(`${q.measurement}.${f} is not a numeric field`);
  }
  if (!Number.isSafeInteger(q.bucketMs) || q.bucketMs <= 0) throw new TypeError(`bad bucketMs ${q.bucketMs}`);
  checkRange(q.from, q.to);
}

export function checkIncident(i: Incident): void {
  for (const [what, v] of [['openedAt', i.openedAt], ['resolvedAt', i.resolvedAt], ['acknowledgedAt', i.acknowledgedAt]] as const)
    if (v !== null && !Number.isSafeInteger(v)) throw new TypeError(`incident: ${what} must be integer epoch ms, got ${v}`);
}

export function checkIncidentQuery(q: S.IncidentQuery): void {
  checkRange(q.from, q.to);
  checkLimit(q.limit);
}

export function checkAudit(entries: readonly S.AuditRecord[]): void {
  for (const e of entries) {
    if (!Number.isSafeInteger(e.seq) || !Number.isSafeInteger(e.ts)) throw new TypeError(`audit: seq and ts must be integer epoch ms, got ${e.seq}, ${e.ts}`);
    for (const k of ['who', 'action', 'subject'] as const) if (typeof e[k] !== 'string') throw new TypeError(`audit: ${k} must be a string`);
    if (e.source !== null && typeof e.source !== 'string') throw new TypeError('audit: source must be a string or null');
  }
}

export function checkAuditQuery(q: S.AuditQuery): void {
  if (q.from !== undefined) checkEpoch(q.from);
  if (q.to !== undefined) checkEpoch(q.to);
  checkLimit(q.limit);
}

export function checkRollupQuery(q: S.RollupQuery): void {
  if (!isRollupMeasurement(q.measurement)) throw new TypeError(`not a rolled-up measurement: ${q.measurement}`);
  checkRange(q.from, q.to);
  const b = q.bucketMs;
  if (b !== undefined && (!Number.isSafeInteger(b) || b <= 0 || b % ROLLUP_BUCKET_MS !== 0)) throw new TypeError(`bad bucketMs ${b}`);
  for (const k of q.groupBy) if (!(TAG_KEYS as readonly string[]).includes(k)) throw new TypeError(`unknown tag ${k}`);
}

export function checkLinkQuery(q: S.LinkQuery): void {
  checkRange(q.from, q.to);
  for (const k of q.groupBy) if (!(LINK_KEYS as readonly string[]).includes(k)) throw new TypeError(`unknown link key ${k}`);
}

/** The builder's rows checked before a store keeps them: hours inside the range, full histograms, sane counts. */
export function checkedBuild(build: S.RollupBuild, from: number, to: number): S.RollupBuild {
  return (points) => {
    const rows = build(points);
    for (const r of rows.series) checkRow(r, from, to);
    for (const l of rows.links) checkLink(l, from, to);
    return rows;
  };
}

// ---- the base of every store ----

/**
 * The Store contract with its arguments checked. Async methods, so a refusal is a rejected promise like any other
 * store error. A store's own `…Checked` methods may call each other or the public ones freely.
 */
export abstract class CheckedStore implements S.Store {
  abstract readonly kind: string;
  abstract init(): Promise<void>;
  abstract health(): Promise<S.StoreHealth>;
  abstract close(): Promise<void>;

  protected abstract writeChecked(points: S.Point[]): Promise<void>;
  protected abstract queryRawChecked(q: S.RawQuery): Promise<S.Point[]>;
  protected abstract querySeriesChecked(q: S.SeriesQuery): Promise<S.SeriesRow[]>;
  protected abstract writeIncidentChecked(incident: Incident): Promise<void>;
  protected abstract queryIncidentsChecked(q: S.IncidentQuery): Promise<Incident[]>;
  protected abstract rawCountsChecked(from: number, to: number, where?: Partial<S.Tags>): Promise<S.RawHourCount[]>;
  /** `from < to`, whole hours; `build` checks the rows it makes */
  protected abstract rollupChecked(from: number, to: number, build: S.RollupBuild): Promise<S.RollupResult>;
  protected abstract rollupCoverageChecked(from: number, to: number): Promise<number[]>;
  /** `groupBy` may still repeat a tag */
  protected abstract queryRollupsChecked(q: S.RollupQuery): Promise<S.RollupAgg[]>;
  protected abstract queryLinksChecked(q: S.LinkQuery): Promise<S.LinkAgg[]>;
  protected abstract pruneRawChecked(before: number): Promise<S.PruneResult>;
  protected abstract writeAuditChecked(entries: S.AuditRecord[]): Promise<void>;
  protected abstract queryAuditChecked(q: S.AuditQuery): Promise<S.AuditRecord[]>;

  async write(points: S.Point[]): Promise<void> {
    checkPoints(points);
    return this.writeChecked(points);
  }

  async queryRaw(q: S.RawQuery): Promise<S.Point[]> {
    checkRawQuery(q);
    return this.queryRawChecked(q);
  }

  async querySeries(q: S.SeriesQuery): Promise<S.SeriesRow[]> {
    checkSeriesQuery(q);
    return this.querySeriesChecked(q);
  }

  async writeIncident(incident: Incident): Promise<void> {
    checkIncident(incident);
    return this.writeIncidentChecked(incident);
  }

  async queryIncidents(q: S.IncidentQuery): Promise<Incident[]> {
    checkIncidentQuery(q);
    return this.queryIncidentsChecked(q);
  }

  async rawCounts(from: number, to: number, where?: Partial<S.Tags>): Promise<S.RawHourCount[]> {
    checkRange(from, to);
    return this.rawCountsChecked(from, to, where);
  }

  async rollup(from: number, to: number, build: S.RollupBuild): Promise<S.RollupResult> {
    checkHours(from, to);
    if (from === to) return { hours: 0, points: 0, rows: 0 };
    return this.rollupChecked(from, to, checkedBuild(build, from, to));
  }

  async rollupCoverage(from: number, to: number): Promise<number[]> {
    checkRange(from, to);
    return this.rollupCoverageChecked(from, to);
  }

  async queryRollups(q: S.RollupQuery): Promise<S.RollupAgg[]> {
    checkRollupQuery(q);
    return this.queryRollupsChecked(q);
  }

  async queryLinks(q: S.LinkQuery): Promise<S.LinkAgg[]> {
    checkLinkQuery(q);
    return this.queryLinksChecked(q);
  }

  async pruneRaw(before: number): Promise<S.PruneResult> {
    checkEpoch(before, 'before');
    return this.pruneRawChecked(before);
  }

  async writeAudit(entries: S.AuditRecord[]): Promise<void> {
    checkAudit(entries);
    if (!entries.length) return;
    return this.writeAuditChecked(entries);
  }

  async queryAudit(q: S.AuditQuery): Promise<S.AuditRecord[]> {
    checkAuditQuery(q);
    return this.queryAuditChecked(q);
  }
}

/** the audit query's filters, for stores that filter parsed entries (the same semantics as in SQL) */
export function auditMatches(e: S.AuditRecord, q: S.AuditQuery): boolean {
  if (q.from !== undefined && e.ts < q.from) return false;
  if (q.to !== undefined && e.ts >= q.to) return false;
  if (q.who !== undefined && e.who !== q.who) return false;
  if (q.subject !== undefined && e.subject !== q.subject) return false;
  if (q.action !== undefined && !(e.action === q.action || (q.action.endsWith('.') && e.action.startsWith(q.action)))) return false;
  return true;
}
