// Embedded default store: one DuckDB file under the data directory, one table per measurement.
//
// Table layout (documented in README "Measurements"): `ts BIGINT` (epoch ms; `epoch_ms(ts)` gives a TIMESTAMP),
// the six TAG_KEYS as VARCHAR ('' when absent), then the measurement's fields typed from MEASUREMENTS
// (float DOUBLE, int BIGINT, bool BOOLEAN, string VARCHAR). No key: a DuckDB PRIMARY KEY is an ART index held
// in memory that grows with every row kept (10 M rows: 701 MB resident with it, 282 MB without).
//
// Write path: row-by-row INSERTs are slow, so each batch is appended as data chunks into a per-measurement TEMP
// staging table; then, in one transaction, the rows with the same (agent, target, uplink, ts) are deleted and the
// staged rows inserted (last write wins, a replayed batch never doubles a count). The delete joins the staging table
// with the raw table restricted to literal time spans (the batch's timestamps grouped by hour), so DuckDB's
// per-row-group min/max skips everything else: a live batch reads the newest row groups only, a replay of old rounds
// the hours it covers. Writes are serialized (one writer connection, this process alone holds the file), so no
// two writes can both miss each other's rows. A file written with the old key is rebuilt without it once at open.
//
// Incidents: table `incidents`, one row per incident id (PRIMARY KEY; writeIncident is INSERT OR REPLACE), scalar
// columns for what queries filter and sort on, JSON columns for the lists (communes, targets, notes), the evidence,
// and `extra` (optional fields added to the model later round-trip without a schema change).
// Audit: table `audit`, one row per entry (seq PRIMARY KEY, INSERT OR IGNORE: entries are never changed).
//
// Rollups (README "Rollups and raw retention"): one table per rolled-up measurement, `icmp_1h` etc., with `hour`
// (BIGINT epoch ms), the six tags and the figures of server/stores/rollup.ts as columns (h00..h47 the histogram); no
// key, rows of an hour are replaced as a whole. `rollup_hours(hour, rolled_at, points)` lists the covered hours.
// Consistency without a clock: every write() deletes the coverage of the hours it touches in its own transaction,
// and rollup() writes rows + coverage in the write queue after checking that no write committed since it read the
// raw points (outside the queue, so ingest does not wait) touched those hours (else it reads again in the queue):
// a covered hour is always exactly the rollup of the raw data it has. DuckDB locks its file: this process is the
// only writer, so an in-memory write sequence is enough. pruneRaw() deletes raw points only in covered hours, and remembers the
// horizon (`store_meta.raw_pruned_before`): a late point below it cannot uncover an hour whose raw data is gone.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  INTEGER,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { Incident } from '../incidents/types.ts';
import { fieldDefs, MEASUREMENTS, type FieldType, type MeasurementName } from './measurements.ts';
import { FIGURE_COLS, FIGURE_MERGE, figureCols, figuresFrom, figureValues, HIST_COLS, hourOf, INT_COLS, isRollupMeasurement, ROLLUP_GROUP_POINTS, rollupName } from './rollup.ts';
import {
  ROLLUP_BUCKET_MS,
  ROLLUP_MEASUREMENTS,
  StoreUnavailableError,
  TAG_KEYS,
  type AuditQuery,
  type AuditRecord,
  type FieldValue,
  type IncidentQuery,
  type LinkAgg,
  type LinkQuery,
  type Point,
  type PruneResult,
  type RawHourCount,
  type RawQuery,
  type RollupAgg,
  type RollupBuild,
  type RollupQuery,
  type RollupResult,
  type SeriesQuery,
  type SeriesRow,
  type StoreHealth,
  type TagKey,
  type Tags,
} from './types.ts';
import { CheckedStore } from './validate.ts';

const SQL_TYPE: Record<FieldType, string> = { float: 'DOUBLE', int: 'BIGINT', bool: 'BOOLEAN', string: 'VARCHAR' };
const DUCK_TYPE: Record<FieldType, DuckDBType> = { float: DOUBLE, int: BIGINT, bool: BOOLEAN, string: VARCHAR };
/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

const q = (ident: string) => `"${ident.replaceAll('"', '""')}"`;

/** A checked field value (validate.ts) -> DuckDB value. */
function toDuck(type: FieldType, v: FieldValue | undefined): DuckDBValue {
  if (v === null || v === undefined) return null;
  return type === 'int' ? BigInt(v as number) : v;
}

/** Runs async jobs one at a time: a DuckDB connection must not interleave statements of two transactions. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

interface Staging {
  table: string;
  appender: DuckDBAppender;
  types: DuckDBType[];
  fields: readonly [string, FieldType][];
  /** deletes the rows the staged ones replace, for ts in [$1, $2] */
  deleteSql: string;
  insertSql: string;
}

/** DuckDB settings applied at open (config `store.memoryLimit`, `store.threads`). */
export interface DuckDbOptions {
  /** DuckDB `memory_limit` (buffer pool: caches, sorts, joins; spills to `<file>.tmp/` beyond it) */
  memoryLimit?: string;
  /** DuckDB worker threads; absent = one per core */
  threads?: number;
  /** raw points a rollup folds at once (default ROLLUP_GROUP_POINTS) */
  rollupGroupPoints?: number;
}
export const DEFAULT_MEMORY_LIMIT = '512MB';

/** Spans [lo, hi] covering sorted timestamps, one per hour they fall in: literal bounds DuckDB prunes row groups with. */
export function hourSpans(sorted: readonly number[]): [number, number][] {
  const spans: [number, number][] = [];
  for (const ts of sorted) {
    const last = spans[spans.length - 1];
    if (last && hourOf(last[0]) === hourOf(ts)) last[1] = ts;
    else spans.push([ts, ts]);
  }
  return spans;
}

export class DuckDbStore extends CheckedStore {
  override readonly kind = 'duckdb';
  /** one connection, delete-then-insert per batch hour: two overlapping writes at once could interleave */
  readonly writeConcurrency = 1;
  private instance: DuckDBInstance | null = null;
  private writeConn: DuckDBConnection | null = null;
  private readConn: DuckDBConnection | null = null;
  private staging = new Map<MeasurementName, Staging>();
  private readonly writes = new Serial();
  private readonly reads = new Serial();
  private initPromise: Promise<void> | null = null;
  /** raw points below this were pruned: a late write there must not uncover an hour (store_meta.raw_pruned_before) */
  private prunedBefore = -Infinity;
  /** committed writes, and the last one that touched each hour: a rollup that read outside the write queue checks it */
  private writeSeq = 0;
  private readonly lastWrite = new Map<number, number>();
  private rollupsInFlight = 0;

  /** @param file absolute path of the database file; its directory is created when missing */
  constructor(
    readonly file: string,
    private readonly options: DuckDbOptions = {},
  ) {
    super();
  }

  override init(): Promise<void> {
    this.initPromise ??= this.open().catch((err: unknown) => {
      this.initPromise = null;
      this.release();
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`duckdb: cannot open ${this.file}: ${msg(err)}`, { cause: err });
    });
    return this.initPromise;
  }

  private async open(): Promise<void> {
    mkdirSync(dirname(this.file), { recursive: true });
    this.instance = await DuckDBInstance.create(this.file, {
      memory_limit: this.options.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
      ...(this.options.threads ? { threads: String(this.options.threads) } : {}),
    });
    this.writeConn = await this.instance.connect();
    this.readConn = await this.instance.connect();
    const c = this.writeConn;
    for (const m of Object.keys(MEASUREMENTS) as MeasurementName[]) {
      const fields = fieldDefs(m);
      const cols = [
        'ts BIGINT NOT NULL',
        ...TAG_KEYS.map((k) => `${q(k)} VARCHAR NOT NULL`),
        ...fields.map(([f, t]) => `${q(f)} ${SQL_TYPE[t]}`),
      ].join(', ');
      await c.run(`CREATE TABLE IF NOT EXISTS ${q(m)} (${cols})`);
      // A field added to MEASUREMENTS after the file was created becomes a new nullable column.
      for (const [f, t] of fields) await c.run(`ALTER TABLE ${q(m)} ADD COLUMN IF NOT EXISTS ${q(f)} ${SQL_TYPE[t]}`);
      const colNames = ['ts', ...TAG_KEYS, ...fields.map(([f]) => f)].map(q).join(', ');
      await dropOldKey(c, m, cols, colNames);
      const table = `stage_${m}`;
      await c.run(`CREATE OR REPLACE TEMP TABLE ${q(table)} AS SELECT ${colNames} FROM ${q(m)} LIMIT 0`);
      this.staging.set(m, {
        table,
        appender: await c.createAppender(table),
        types: [BIGINT, ...TAG_KEYS.map(() => VARCHAR), ...fields.map(([, t]) => DUCK_TYPE[t])],
        fields,
        deleteSql:
          `DELETE FROM ${q(m)} AS r USING ${q(table)} AS s WHERE r.ts >= $1 AND r.ts <= $2 ` +
          `AND r.ts = s.ts AND r.agent = s.agent AND r.target = s.target AND r.uplink = s.uplink`,
        insertSql: `INSERT INTO ${q(m)} (${colNames}) SELECT ${colNames} FROM ${q(table)}`,
      });
    }
    await c.run(
      `CREATE TABLE IF NOT EXISTS incidents (id VARCHAR PRIMARY KEY, cause VARCHAR NOT NULL, subject VARCHAR NOT NULL, ` +
        `opened_at BIGINT NOT NULL, resolved_at BIGINT, carrier VARCHAR, severity VARCHAR NOT NULL, maintenance BOOLEAN NOT NULL, ` +
        `acknowledged_by VARCHAR, acknowledged_at BIGINT, communes JSON NOT NULL, targets JSON NOT NULL, evidence JSON NOT NULL, ` +
        `notes JSON NOT NULL, extra JSON NOT NULL)`,
    );
    const figCols = [...FIGURE_COLS, ...HIST_COLS].map((f) => `${q(f)} ${INT_COLS.has(f) ? 'INTEGER' : 'DOUBLE'}`);
    for (const m of ROLLUP_MEASUREMENTS) {
      await c.run(
        `CREATE TABLE IF NOT EXISTS ${q(rollupName(m))} (hour BIGINT NOT NULL, ${TAG_KEYS.map((k) => `${q(k)} VARCHAR NOT NULL`).join(', ')}, ${figCols.join(', ')})`,
      );
    }
    await c.run(
      `CREATE TABLE IF NOT EXISTS link_1h (hour BIGINT NOT NULL, province VARCHAR NOT NULL, commune VARCHAR NOT NULL, carrier VARCHAR NOT NULL, ` +
        `hod INTEGER NOT NULL, down BOOLEAN NOT NULL, degraded BOOLEAN NOT NULL, ${figCols.join(', ')})`,
    );
    await c.run('CREATE TABLE IF NOT EXISTS rollup_hours (hour BIGINT PRIMARY KEY, rolled_at BIGINT NOT NULL, points BIGINT NOT NULL)');
    await c.run('CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)');
    await c.run(
      'CREATE TABLE IF NOT EXISTS audit (seq BIGINT PRIMARY KEY, ts BIGINT NOT NULL, who VARCHAR NOT NULL, action VARCHAR NOT NULL, ' +
        'subject VARCHAR NOT NULL, source VARCHAR, details JSON)',
    );
    const meta = (await c.runAndReadAll(`SELECT value FROM store_meta WHERE key = 'raw_pruned_before'`)).getRowsJS();
    if (meta[0]) this.prunedBefore = Number(meta[0][0]);
  }

  private ready(): Promise<void> {
    if (!this.initPromise) return Promise.reject(new StoreUnavailableError('duckdb: store is not open (init() not called or closed)'));
    return this.initPromise;
  }

  protected override async writeChecked(points: Point[]): Promise<void> {
    await this.ready();
    if (points.length === 0) return;
    const byMeasurement = new Map<MeasurementName, Map<string, Point>>();
    for (const p of points) {
      let m = byMeasurement.get(p.measurement);
      if (!m) byMeasurement.set(p.measurement, (m = new Map()));
      // Last write wins inside a batch too, like in InfluxDB.
      m.set(JSON.stringify([p.tags.agent, p.tags.target, p.tags.uplink, p.ts]), p);
    }
    // Hours this batch touches: their rollup (if any) no longer matches the raw data.
    const touched = new Set<number>();
    for (const p of points) if (isRollupMeasurement(p.measurement)) touched.add(hourOf(p.ts));
    const chunks: [Staging, DuckDBDataChunk[], [number, number][]][] = [];
    for (const [m, keyed] of byMeasurement) {
      const st = this.staging.get(m)!;
      const rows = [...keyed.values()].sort((a, b) => a.ts - b.ts);
      const list: DuckDBDataChunk[] = [];
      for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
        const slice = rows.slice(start, start + CHUNK_ROWS);
        const cols: DuckDBValue[][] = st.types.map(() => new Array<DuckDBValue>(slice.length));
        slice.forEach((p, r) => {
          cols[0]![r] = BigInt(p.ts);
          TAG_KEYS.forEach((k, i) => (cols[1 + i]![r] = p.tags[k] ?? ''));
          st.fields.forEach(([f, t], i) => (cols[1 + TAG_KEYS.length + i]![r] = toDuck(t, p.fields[f])));
        });
        const chunk = DuckDBDataChunk.create(st.types, slice.length);
        chunk.setColumns(cols);
        list.push(chunk);
      }
      chunks.push([st, list, hourSpans(rows.map((p) => p.ts))]);
    }

    await this.writes.run(async () => {
      const c = this.writeConn;
      if (!c) throw new StoreUnavailableError('duckdb: store is closed');
      try {
        await c.run('BEGIN TRANSACTION');
        for (const [st, list, spans] of chunks) {
          for (const chunk of list) st.appender.appendDataChunk(chunk);
          st.appender.flushSync();
          for (const [lo, hi] of spans) await c.run(st.deleteSql, [BigInt(lo), BigInt(hi)], [BIGINT, BIGINT]);
          await c.run(st.insertSql);
          await c.run(`DELETE FROM ${q(st.table)}`);
        }
        const stale = [...touched].filter((h) => h >= this.prunedBefore);
        if (stale.length) await c.run(`DELETE FROM rollup_hours WHERE hour IN (${stale.join(', ')})`);
        await c.run('COMMIT');
        this.writeSeq++;
        for (const h of touched) this.lastWrite.set(h, this.writeSeq);
      } catch (err) {
        for (const [st] of chunks) st.appender.clear();
        await c.run('ROLLBACK').catch(() => undefined);
        throw new StoreUnavailableError(`duckdb: write failed: ${msg(err)}`, { cause: err });
      }
    });
  }

  protected override async queryRawChecked(rq: RawQuery): Promise<Point[]> {
    await this.ready();
    return this.rawOn(null, rq);
  }

  /**
   * Raw points through the read queue (conn null) or on a connection the caller holds (rollup, in the write queue);
   * `part` keeps one of `n` disjoint groups of (province, commune, carrier).
   */
  private async rawOn(conn: DuckDBConnection | null, rq: RawQuery, ordered = true, part?: { n: number; i: number }): Promise<Point[]> {
    const fields = fieldDefs(rq.measurement);
    const { sql: where, values, types } = whereSql(rq.from, rq.to, rq.where);
    const inPart = part && part.n > 1 ? ` AND hash(province, commune, carrier) % ${part.n} = ${part.i}` : '';
    let sql =
      `SELECT ts, ${TAG_KEYS.map(q).join(', ')}${fields.map(([f]) => `, ${q(f)}`).join('')} FROM ${q(rq.measurement)}` +
      ` WHERE ${where}${inPart}${ordered ? ' ORDER BY ts, agent, target, uplink' : ''}`;
    if (rq.limit !== undefined) sql += ` LIMIT ${rq.limit}`;
    const points: Point[] = [];
    await this.eachRow(conn, sql, values, types, (row) => {
      const tags = {} as Tags;
      TAG_KEYS.forEach((k, i) => (tags[k] = row[1 + i] as string));
      const out: Record<string, FieldValue> = {};
      fields.forEach(([f], i) => {
        const v = row[1 + TAG_KEYS.length + i];
        out[f] = typeof v === 'bigint' ? Number(v) : (v as FieldValue);
      });
      points.push({ measurement: rq.measurement, ts: Number(row[0]), tags, fields: out });
    });
    return points;
  }

  /**
   * The rows of a query, on `conn` (held by the caller) or through the read queue. The query runs to the end on DuckDB's
   * threads, then its rows are converted to JS a chunk (2,048 rows) at a time, the event loop turning between chunks.
   * Raw reads are up to 100,000 points (a report's slice) or 50,000 (a rollup's group): converted in one go, each held
   * acks and live frames back for a second or more at province scale. (A streamed query instead ran single-threaded
   * and made an hourly rollup of 3,000 sites several times slower.)
   */
  private async eachRow(conn: DuckDBConnection | null, sql: string, values: DuckDBValue[], types: DuckDBType[], each: (row: unknown[]) => void): Promise<void> {
    const go = async (c: DuckDBConnection) => {
      const result = await c.run(sql, values, types);
      for await (const rows of result.yieldRowsJs()) for (const row of rows) each(row as unknown[]);
    };
    if (conn) return go(conn);
    return this.reads.run(async () => {
      const c = this.readConn;
      if (!c) throw new StoreUnavailableError('duckdb: store is closed');
      await go(c);
    });
  }

  protected override async querySeriesChecked(sq: SeriesQuery): Promise<SeriesRow[]> {
    await this.ready();
    if (sq.fields.length === 0) return [];
    const { sql: where, values, types } = whereSql(sq.from, sq.to, sq.where);
    const b = sq.bucketMs;
    // Floor (not truncation) so buckets stay aligned to multiples of bucketMs for any sign of ts.
    const bucket = `(ts - (((ts % ${b}) + ${b}) % ${b}))`;
    const sql =
      `SELECT ${bucket} AS t${sq.fields.map((f) => `, avg(${q(f)})`).join('')} FROM ${q(sq.measurement)}` +
      ` WHERE ${where} GROUP BY t HAVING ${sq.fields.map((f) => `count(${q(f)}) > 0`).join(' OR ')} ORDER BY t`;
    const rows = await this.read(sql, values, types);
    return rows.map((row) => {
      const out: Record<string, number | null> = {};
      sq.fields.forEach((f, i) => {
        const v = row[1 + i];
        out[f] = v === null || v === undefined ? null : Number(v);
      });
      return { t: Number(row[0]), values: out };
    });
  }

  protected override async writeIncidentChecked(inc: Incident): Promise<void> {
    await this.ready();
    const values = incidentRow(inc);
    await this.writes.run(async () => {
      const c = this.writeConn;
      if (!c) throw new StoreUnavailableError('duckdb: store is closed');
      try {
        await c.run(`INSERT OR REPLACE INTO incidents (${INCIDENT_COLS.join(', ')}) VALUES (${INCIDENT_COLS.map((_, i) => `$${i + 1}`).join(', ')})`, values, INCIDENT_TYPES);
      } catch (err) {
        throw new StoreUnavailableError(`duckdb: incident write failed: ${msg(err)}`, { cause: err });
      }
    });
  }

  protected override async queryIncidentsChecked(iq: IncidentQuery): Promise<Incident[]> {
    await this.ready();
    const values: DuckDBValue[] = [BigInt(iq.to), BigInt(iq.from)];
    const types: DuckDBType[] = [BIGINT, BIGINT];
    const parts = ['opened_at < $1', '(resolved_at IS NULL OR resolved_at > $2)'];
    const bind = (v: string) => {
      values.push(v);
      types.push(VARCHAR);
      return `$${values.length}`;
    };
    if (iq.openOnly) parts.push('resolved_at IS NULL');
    if (iq.id !== undefined) parts.push(`id = ${bind(iq.id)}`);
    if (iq.cause !== undefined) parts.push(`cause = ${bind(iq.cause)}`);
    if (iq.carrier !== undefined) parts.push(`carrier = ${bind(iq.carrier)}`);
    if (iq.commune !== undefined) parts.push(`json_contains(communes, to_json(${bind(iq.commune)}::VARCHAR))`);
    if (iq.target !== undefined) parts.push(`json_contains(targets, to_json(${bind(iq.target)}::VARCHAR))`);
    let sql = `SELECT ${INCIDENT_COLS.join(', ')} FROM incidents WHERE ${parts.join(' AND ')} ORDER BY opened_at DESC, id DESC`;
    if (iq.limit !== undefined) sql += ` LIMIT ${iq.limit}`;
    const rows = await this.read(sql, values, types);
    return rows.map(incidentFromRow);
  }

  // ---- audit ----

  protected override async writeAuditChecked(entries: AuditRecord[]): Promise<void> {
    await this.ready();
    await this.writes.run(async () => {
      const c = this.writeConn;
      if (!c) throw new StoreUnavailableError('duckdb: store is closed');
      try {
        for (const e of entries) {
          await c.run(
            'INSERT OR IGNORE INTO audit (seq, ts, who, action, subject, source, details) VALUES ($1, $2, $3, $4, $5, $6, $7)',
            [BigInt(e.seq), BigInt(e.ts), e.who, e.action, e.subject, e.source, e.details === undefined ? null : JSON.stringify(e.details)],
            [BIGINT, BIGINT, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR],
          );
        }
      } catch (err) {
        throw new StoreUnavailableError(`duckdb: audit write failed: ${msg(err)}`, { cause: err });
      }
    });
  }

  protected override async queryAuditChecked(aq: AuditQuery): Promise<AuditRecord[]> {
    await this.ready();
    const values: DuckDBValue[] = [];
    const types: DuckDBType[] = [];
    const bind = (v: string | bigint, t: DuckDBType) => {
      values.push(v);
      types.push(t);
      return `$${values.length}`;
    };
    const parts = ['TRUE'];
    if (aq.from !== undefined) parts.push(`ts >= ${bind(BigInt(aq.from), BIGINT)}`);
    if (aq.to !== undefined) parts.push(`ts < ${bind(BigInt(aq.to), BIGINT)}`);
    if (aq.who !== undefined) parts.push(`who = ${bind(aq.who, VARCHAR)}`);
    if (aq.subject !== undefined) parts.push(`subject = ${bind(aq.subject, VARCHAR)}`);
    if (aq.action !== undefined)
      parts.push(aq.action.endsWith('.') ? `starts_with(action, ${bind(aq.action, VARCHAR)})` : `action = ${bind(aq.action, VARCHAR)}`);
    const sql = `SELECT seq, ts, who, action, subject, source, details FROM audit WHERE ${parts.join(' AND ')} ORDER BY seq DESC LIMIT ${aq.limit}`;
    const rows = await this.read(sql, values, types);
    return rows.map((r) => ({
      seq: Number(r[0]), ts: Number(r[1]), who: String(r[2]), action: String(r[3]), subject: String(r[4]),
      source: r[5] === null ? null : String(r[5]),
      ...(r[6] === null ? {} : { details: JSON.parse(String(r[6])) as Record<string, unknown> }),
    }));
  }

  // ---- rollups ----

  protected override async rawCountsChecked(from: number, to: number, where?: Partial<Tags>): Promise<RawHourCount[]> {
    await this.ready();
    const H = ROLLUP_BUCKET_MS;
    const { sql: cond, values, types } = whereSql(from, to, where);
    const sql = ROLLUP_MEASUREMENTS.map(
      (m) => `SELECT '${m}' AS m, ts - (((ts % ${H}) + ${H}) % ${H}) AS hour, count(*) AS n FROM ${q(m)} WHERE ${cond} GROUP BY hour`,
    ).join(' UNION ALL ');
    const rows = await this.read(`${sql} ORDER BY hour, m`, values, types);
    return rows.map((r) => ({ measurement: r[0] as RawHourCount['measurement'], hour: Number(r[1]), points: Number(r[2]) }));
  }

  protected override async rollupChecked(from: number, to: number, build: RollupBuild): Promise<RollupResult> {
    await this.ready();
    // Read and build outside the write queue (ingest goes on meanwhile); then, in the queue, check that no write
    // touched these hours since the read began (this process is the file's only writer), else read again in the queue.
    if (this.rollupsInFlight === 0) this.lastWrite.clear();
    this.rollupsInFlight++;
    const seen = this.writeSeq;
    // An hour of a province with thousands of sites is millions of points: read and fold them in disjoint groups
    // of (province, commune, carrier), which share no series row and no link row, so only one group's points are
    // in memory at a time.
    const readAll = async (conn: DuckDBConnection | null) => {
      const counted = ROLLUP_MEASUREMENTS.map((m) => `SELECT count(*) AS n FROM ${q(m)} WHERE ts >= $1 AND ts < $2`).join(' UNION ALL ');
      const countSql = `SELECT sum(n) FROM (${counted})`;
      const args: [DuckDBValue[], DuckDBType[]] = [[BigInt(from), BigInt(to)], [BIGINT, BIGINT]];
      const total = Number((conn ? (await conn.runAndReadAll(countSql, ...args)).getRowsJS() : await this.read(countSql, ...args))[0]?.[0] ?? 0);
      const n = Math.max(1, Math.ceil(total / (this.options.rollupGroupPoints ?? ROLLUP_GROUP_POINTS)));
      const out: ReturnType<RollupBuild> = { series: [], links: [] };
      const perHour = new Map<number, number>();
      let count = 0;
      for (let i = 0; i < n; i++) {
        const points: Point[] = [];
        for (const m of ROLLUP_MEASUREMENTS) for (const p of await this.rawOn(conn, { measurement: m, from, to }, false, { n, i })) points.push(p);
        for (const p of points) perHour.set(hourOf(p.ts), (perHour.get(hourOf(p.ts)) ?? 0) + 1);
        count += points.length;
        const b = build(points);
        for (const r of b.series) out.series.push(r);
        for (const l of b.links) out.links.push(l);
      }
      return { built: out, perHour, count };
    };
    let read: Awaited<ReturnType<typeof readAll>>;
    try {
      read = await readAll(null);
    } catch (err) {
      this.rollupsInFlight--;
      throw err;
    }
    return this.writes.run(async () => {
      const c = this.writeConn;
      if (!c) throw new StoreUnavailableError('duckdb: store is closed');
      let touchedSince = false;
      for (const [h, seq] of this.lastWrite) if (h >= from && h < to && seq > seen) touchedSince = true;
      if (touchedSince) read = await readAll(c);
      const { built: { series, links }, perHour } = read;
      const figTypes = [...FIGURE_COLS, ...HIST_COLS].map((f) => (INT_COLS.has(f) ? INTEGER : DOUBLE));
      const seriesTypes: DuckDBType[] = [BIGINT, ...TAG_KEYS.map(() => VARCHAR), ...figTypes];
      const linkTypes: DuckDBType[] = [BIGINT, VARCHAR, VARCHAR, VARCHAR, INTEGER, BOOLEAN, BOOLEAN, ...figTypes];
      try {
        await c.run('BEGIN TRANSACTION');
        for (const table of [...ROLLUP_MEASUREMENTS.map(rollupName), 'link_1h']) {
          await c.run(`DELETE FROM ${q(table)} WHERE hour >= $1 AND hour < $2`, [BigInt(from), BigInt(to)], [BIGINT, BIGINT]);
        }
        for (const m of ROLLUP_MEASUREMENTS) {
          const mine = series.filter((r) => r.measurement === m);
          await appendRows(c, rollupName(m), seriesTypes, mine, (r) => [BigInt(r.hour), ...TAG_KEYS.map((k) => r.tags[k] ?? ''), ...figureValues(r)]);
        }
        await appendRows(c, 'link_1h', linkTypes, links, (l) => [BigInt(l.hour), l.province, l.commune, l.carrier, l.hod, l.down, l.degraded, ...figureValues(l)]);
        const counts = [...perHour].map(([h, n]) => `(${h}, ${n})`).join(', ');
        await c.run(
          `INSERT OR REPLACE INTO rollup_hours SELECT r.range, $3, ${counts ? 'coalesce(v.n, 0)' : '0'} FROM range($1, $2, ${ROLLUP_BUCKET_MS}) r` +
            (counts ? ` LEFT JOIN (VALUES ${counts}) v(h, n) ON v.h = r.range` : ''),
          [BigInt(from), BigInt(to), BigInt(Date.now())],
          [BIGINT, BIGINT, BIGINT],
        );
        await c.run('COMMIT');
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw new StoreUnavailableError(`duckdb: rollup failed: ${msg(err)}`, { cause: err });
      }
      return { hours: (to - from) / ROLLUP_BUCKET_MS, points: read.count, rows: series.length };
    }).finally(() => this.rollupsInFlight--);
  }

  protected override async rollupCoverageChecked(from: number, to: number): Promise<number[]> {
    await this.ready();
    const rows = await this.read('SELECT hour FROM rollup_hours WHERE hour >= $1 AND hour < $2 ORDER BY hour', [BigInt(from), BigInt(to)], [BIGINT, BIGINT]);
    return rows.map((r) => Number(r[0]));
  }

  protected override async queryRollupsChecked(rq: RollupQuery): Promise<RollupAgg[]> {
    await this.ready();
    const b = rq.bucketMs;
    const groupBy = [...new Set(rq.groupBy)];
    const { sql: where, values, types } = whereSql(rq.from, rq.to, rq.where, 'hour');
    const cols = [...figureCols(rq.figures), ...(rq.histogram ? HIST_COLS : [])];
    const keys = [...(b ? [`(hour - (((hour % ${b}) + ${b}) % ${b}))`] : []), ...groupBy.map(q)];
    const sql =
      `SELECT ${b ? `${keys[0]} AS t, ` : ''}${groupBy.map(q).map((k) => `${k}, `).join('')}` +
      cols.map((c) => `${FIGURE_MERGE[c as keyof typeof FIGURE_MERGE] ?? 'sum'}(${q(c)})::DOUBLE`).join(', ') +
      ` FROM ${q(rollupName(rq.measurement))} WHERE ${where}` +
      (keys.length ? ` GROUP BY ${keys.map((_, i) => i + 1).join(', ')} ORDER BY ${keys.map((_, i) => i + 1).join(', ')}` : '');
    const rows = await this.read(sql, values, types);
    const off = (b ? 1 : 0) + groupBy.length;
    const out: RollupAgg[] = [];
    const colIndex = new Map(cols.map((c, i) => [c, off + i]));
    for (const r of rows) {
      const get = (c: string) => r[colIndex.get(c)!];
      if (!keys.length && (get('rounds') === null || get('rounds') === undefined)) continue; // no rows at all
      const tags: Partial<Tags> = {};
      groupBy.forEach((k, i) => (tags[k] = r[(b ? 1 : 0) + i] as string));
      out.push({ t: b ? Number(r[0]) : null, tags, ...figuresFrom(get, !!rq.histogram) });
    }
    return out;
  }

  protected override async queryLinksChecked(lq: LinkQuery): Promise<LinkAgg[]> {
    await this.ready();
    const groupBy = [...new Set(lq.groupBy)];
    const { sql: where, values, types } = whereSql(lq.from, lq.to, lq.where, 'hour', LINK_TAGS);
    const cols = [...FIGURE_COLS, ...(lq.histogram ? HIST_COLS : [])];
    const sql =
      `SELECT ${groupBy.map((k) => `${q(k)}, `).join('')}count(*)::DOUBLE, sum(down::INTEGER)::DOUBLE, sum(degraded::INTEGER)::DOUBLE, ` +
      cols.map((c) => `${FIGURE_MERGE[c as keyof typeof FIGURE_MERGE] ?? 'sum'}(${q(c)})::DOUBLE`).join(', ') +
      ` FROM link_1h WHERE ${where}` +
      (groupBy.length ? ` GROUP BY ${groupBy.map((_, i) => i + 1).join(', ')} ORDER BY ${groupBy.map((_, i) => i + 1).join(', ')}` : '');
    const rows = await this.read(sql, values, types);
    const off = groupBy.length + 3;
    const colIndex = new Map(cols.map((c, i) => [c, off + i]));
    const out: LinkAgg[] = [];
    for (const r of rows) {
      if (!r[groupBy.length]) continue; // no rows at all (an aggregate without GROUP BY still answers one row)
      const tags: LinkAgg['tags'] = {};
      groupBy.forEach((k, i) => (tags[k] = String(r[i])));
      out.push({
        tags,
        hours: Number(r[groupBy.length]),
        hoursDown: Number(r[groupBy.length + 1]),
        hoursDegraded: Number(r[groupBy.length + 2]),
        ...figuresFrom((c) => r[colIndex.get(c)!], !!lq.histogram),
      });
    }
    return out;
  }

  protected override async pruneRawChecked(before: number): Promise<PruneResult> {
    await this.ready();
    const cut = hourOf(before);
    return this.writes.run(async () => {
      const c = this.writeConn;
      if (!c) throw new StoreUnavailableError('duckdb: store is closed');
      let deleted = 0;
      const H = ROLLUP_BUCKET_MS;
      try {
        await c.run('BEGIN TRANSACTION');
        for (const m of Object.keys(MEASUREMENTS) as MeasurementName[]) {
          const covered = isRollupMeasurement(m)
            ? ` AND (ts - (((ts % ${H}) + ${H}) % ${H})) IN (SELECT hour FROM rollup_hours WHERE hour < $1)`
            : '';
          const res = await c.run(`DELETE FROM ${q(m)} WHERE ts < $1${covered}`, [BigInt(cut)], [BIGINT]);
          deleted += res.rowsChanged;
        }
        if (cut > this.prunedBefore) {
          await c.run(`INSERT OR REPLACE INTO store_meta VALUES ('raw_pruned_before', $1)`, [BigInt(cut)], [BIGINT]);
        }
        await c.run('COMMIT');
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw new StoreUnavailableError(`duckdb: prune failed: ${msg(err)}`, { cause: err });
      }
      this.prunedBefore = Math.max(this.prunedBefore, cut);
      return { before: cut, deleted, detail: `deleted raw points before ${new Date(cut).toISOString()} in rolled-up hours` };
    });
  }

  private read(sql: string, values: DuckDBValue[], types: DuckDBType[]): Promise<unknown[][]> {
    return this.reads.run(async () => {
      const c = this.readConn;
      if (!c) throw new StoreUnavailableError('duckdb: store is closed');
      const reader = await c.runAndReadAll(sql, values, types);
      return reader.getRowsJS() as unknown[][];
    });
  }

  /** DuckDB's effective memory limit and thread count, as it reports them. */
  async settings(): Promise<{ memoryLimit: string; threads: number }> {
    await this.ready();
    const [row] = await this.read(`SELECT current_setting('memory_limit'), current_setting('threads')`, [], []);
    return { memoryLimit: String(row![0]), threads: Number(row![1]) };
  }

  override async health(): Promise<StoreHealth> {
    try {
      await this.ready();
      // the buffer pool's use, for /metrics: with the V8 heap it is most of the server's resident memory
      const [row] = await this.read('SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()', [], []);
      return { ok: true, kind: this.kind, detail: this.file, memoryBytes: Number(row?.[0] ?? 0) };
    } catch (err) {
      return { ok: false, kind: this.kind, detail: msg(err) };
    }
  }

  override async close(): Promise<void> {
    if (!this.initPromise) return;
    const opened = this.initPromise.catch(() => undefined);
    this.initPromise = null;
    await opened;
    // Release from inside both queues: statements already queued finish first, later ones find no connection.
    // Closing the instance releases the file so another store can open it.
    await this.writes.run(() => this.reads.run(async () => this.release()));
  }

  /**
   * A consistent copy of the database while the server runs (README "Backup and restore"): inside both queues, so
   * no write or read is between statements, CHECKPOINT moves the WAL into the file, then the file is copied. Ingest
   * waits meanwhile (the writer buffers and agents keep their spools), for about the time a copy of the file takes.
   */
  async backupTo(dest: string): Promise<void> {
    await this.ready();
    await this.writes.run(() =>
      this.reads.run(async () => {
        if (!this.writeConn) throw new StoreUnavailableError('duckdb: store is closed');
        await this.writeConn.run('CHECKPOINT');
        await copyFile(this.file, dest);
        // normally absent or empty after the checkpoint; copied when not, DuckDB replays it on open
        if (existsSync(`${this.file}.wal`) && statSync(`${this.file}.wal`).size > 0) await copyFile(`${this.file}.wal`, `${dest}.wal`);
      }),
    );
  }

  private release(): void {
    for (const st of this.staging.values()) {
      try {
        st.appender.closeSync();
      } catch {
        /* already closed */
      }
    }
    this.staging.clear();
    this.writeConn?.closeSync();
    this.readConn?.closeSync();
    this.instance?.closeSync();
    this.writeConn = this.readConn = null;
    this.instance = null;
  }
}

const INCIDENT_COLS = [
  'id', 'cause', 'subject', 'opened_at', 'resolved_at', 'carrier', 'severity', 'maintenance',
  'acknowledged_by', 'acknowledged_at', 'communes', 'targets', 'evidence', 'notes', 'extra',
] as const;
const INCIDENT_TYPES: DuckDBType[] = [VARCHAR, VARCHAR, VARCHAR, BIGINT, BIGINT, VARCHAR, VARCHAR, BOOLEAN, VARCHAR, BIGINT, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR];
/** Model fields that have their own column; anything else goes to `extra`. */
const INCIDENT_KEYS = new Set(['id', 'cause', 'subject', 'openedAt', 'resolvedAt', 'carrier', 'severity', 'maintenance', 'acknowledgedBy', 'acknowledgedAt', 'communes', 'targets', 'evidence', 'notes']);

const big = (n: number | null) => (n === null ? null : BigInt(n));

function incidentRow(i: Incident): DuckDBValue[] {
  const extra = Object.fromEntries(Object.entries(i).filter(([k, v]) => !INCIDENT_KEYS.has(k) && v !== undefined));
  return [
    i.id, i.cause, i.subject, big(i.openedAt), big(i.resolvedAt), i.carrier, i.severity, i.maintenance,
    i.acknowledgedBy, big(i.acknowledgedAt), JSON.stringify(i.communes), JSON.stringify(i.targets),
    JSON.stringify(i.evidence), JSON.stringify(i.notes), JSON.stringify(extra),
  ];
}

function incidentFromRow(r: unknown[]): Incident {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const json = (v: unknown) => JSON.parse(String(v)) as unknown;
  return {
    ...(json(r[14]) as object),
    id: r[0] as string,
    cause: r[1] as Incident['cause'],
    subject: r[2] as string,
    openedAt: Number(r[3]),
    resolvedAt: num(r[4]),
    carrier: (r[5] as string | null) ?? null,
    severity: r[6] as Incident['severity'],
    maintenance: r[7] as boolean,
    acknowledgedBy: (r[8] as string | null) ?? null,
    acknowledgedAt: num(r[9]),
    communes: json(r[10]) as string[],
    targets: json(r[11]) as string[],
    evidence: json(r[12]) as Incident['evidence'],
    notes: json(r[13]) as Incident['notes'],
  };
}

/** The tags a link row has (the other keys of a where are not columns of link_1h). */
const LINK_TAGS = ['province', 'commune', 'carrier'] as const;

/** `time` in [from, to) and each given tag (of `keys`) equal, as bound parameters. */
function whereSql(from: number, to: number, where: Partial<Tags> | undefined, time: 'ts' | 'hour' = 'ts', keys: readonly TagKey[] = TAG_KEYS) {
  const parts = [`${time} >= $1`, `${time} < $2`];
  const values: DuckDBValue[] = [BigInt(from), BigInt(to)];
  const types: DuckDBType[] = [BIGINT, BIGINT];
  for (const k of keys) {
    const v = where?.[k];
    if (v === undefined) continue;
    values.push(v);
    types.push(VARCHAR);
    parts.push(`${q(k)} = $${values.length}`);
  }
  return { sql: parts.join(' AND '), values, types };
}

/**
 * Rebuilds a raw table created with the old PRIMARY KEY (agent, target, uplink, ts) without it: DuckDB cannot drop
 * a key, so the rows are copied (ordered by ts, which keeps the per-row-group min/max tight) into a new table that
 * replaces the old one, in one transaction. Runs once per table; a crash midway leaves the old table as it was.
 */
async function dropOldKey(c: DuckDBConnection, m: string, cols: string, colNames: string): Promise<void> {
  const keyed = await c.runAndReadAll(
    `SELECT 1 FROM duckdb_constraints() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1 AND constraint_type = 'PRIMARY KEY'`,
    [m],
    [VARCHAR],
  );
  if (keyed.currentRowCount === 0) return;
  const tmp = q(`${m}__rebuild`);
  try {
    await c.run('BEGIN TRANSACTION');
    await c.run(`CREATE OR REPLACE TABLE ${tmp} (${cols})`);
    await c.run(`INSERT INTO ${tmp} (${colNames}) SELECT ${colNames} FROM ${q(m)} ORDER BY ts`);
    await c.run(`DROP TABLE ${q(m)}`);
    await c.run(`ALTER TABLE ${tmp} RENAME TO ${q(m)}`);
    await c.run('COMMIT');
  } catch (err) {
    await c.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Appends rows to a table through a data-chunk appender (inside the caller's transaction). */
async function appendRows<T>(c: DuckDBConnection, table: string, types: DuckDBType[], rows: readonly T[], values: (r: T) => DuckDBValue[]): Promise<void> {
  if (!rows.length) return;
  const appender = await c.createAppender(table);
  try {
    for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
      const slice = rows.slice(start, start + CHUNK_ROWS);
      const cols: DuckDBValue[][] = types.map(() => new Array<DuckDBValue>(slice.length));
      slice.forEach((r, i) => values(r).forEach((v, j) => (cols[j]![i] = v)));
      const chunk = DuckDBDataChunk.create(types, slice.length);
      chunk.setColumns(cols);
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
