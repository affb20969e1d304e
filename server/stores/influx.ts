// InfluxDB store over the v1 HTTP API: `/write` line protocol built here and POSTed over a keep-alive agent (a
// 5,000-line request does not open a TCP connection, nor build objects a package serialises again); `/query`
// InfluxQL, /ping and CREATE DATABASE through the `influx` package.
// Served by InfluxDB 1.x and by the v1-compatible endpoints of 2.x and 3.x; only the optional
// CREATE DATABASE (config `createDatabase`) is 1.x-only.
//
// Schema (README "Measurements"): measurement = MEASUREMENTS key, tags = TAG_KEYS, fields typed per MEASUREMENTS
// (int written as integers `1i`, float as floats, bool, string); null fields are omitted. Timestamps in ms.
//
// Round-tripping tag values exactly:
// - Empty strings: line protocol cannot hold an empty tag value, so the tag is omitted. InfluxQL returns a missing
//   tag as null (mapped back to '') and `"tag" = ''` matches series without it, so '' round-trips with no sentinel.
// - Escaping: tags and string fields are escaped here (escapeTag, fieldText; influx 5.12's escaper would rewrite
//   the first `\'` of a value into `\\'`).
//   In tag values only `,` ` ` `=` are escaped (1.x/2.x do not unescape `\\`, other backslashes are literal).
// - Not representable, so refused with a TypeError: a tag value ending in a backslash (it would escape the
//   following separator) and tag values containing a line break.
//
// Known differences from the DuckDB store (documented in README):
// - Idempotency key is the whole series (all six tags) + time, so a replay whose province/commune/carrier changed
//   (config edited between the two writes) lands in a new series instead of overwriting.
// - An overwrite merges fields: a field that is null in the rewrite keeps its earlier value.
// - A point whose fields are all null cannot be stored (line protocol needs one field) and is skipped.
//
// Incidents: measurement `incident`, tags `id` and `cause` (both fixed for an incident's life), timestamp = openedAt,
// fields `doc` (the whole incident as JSON), `open` (bool), `resolved_at` (int ms, 0 while open), `severity`,
// `maintenance`, `affected` (commune count). Upsert: InfluxDB overwrites a point with the same series (measurement +
// tag set) and timestamp, and id/cause/openedAt never change, so rewriting an incident replaces it. Every field is
// written every time (an overwrite keeps fields the rewrite omits). Overlap and open filters run in InfluxQL on
// `time`, `open` and `resolved_at`; commune/target/carrier filters on the parsed doc. A string field holds at most
// 64 KiB: the engine refuses notes that would make an incident larger (INCIDENT_MAX_BYTES). Incidents are history:
// when the raw data expires by retention policy they are written to the rollup policy instead (incidentRps), and
// reads look in both.
//
// Audit: measurement `audit`, no tags (one series), timestamp = the entry's seq (unique ms, so entries never overwrite
// each other), fields `doc` (the entry as JSON), `action`, `who`; kept where incidents are (history, not raw data).
// Time and who/action filters run in InfluxQL, the rest on the parsed doc.
//
// Rollups (README "Rollups and raw retention"): maintained by the server, not by continuous queries, because CQs
// exist only in 1.x (2.x has tasks in Flux, 3.x neither) and cannot apply the status thresholds per target and commune;
// the same builder as DuckDB's makes the rows, so both stores report the same figures. Measurements `icmp_1h` etc.
// (the six tags) and `link_1h` (tags province, commune, carrier, hod; down/degraded as 0/1 integers): timestamp =
// hour start, fields of server/stores/rollup.ts, histogram bins h00..h47 written only when non-zero (all of them when
// an hour is rolled up again, since an overwrite keeps omitted fields); and `rollup_hour` (one point per covered
// hour: rolled_at, points); all in the retention policy `rollupPolicy` (default "rollups", infinite, 520-week shards;
// '' = the default policy). Staleness: every raw write also writes `rollup_dirty` (default policy, one point
// per hour touched, field written_at = when the write started) in the same request, before the points; an hour is
// covered while its rollup_hour.rolled_at > rollup_dirty.written_at. rollup() takes rolled_at before waiting for
// the writes in flight, so a racing write leaves the hour stale (rolled again), never silently missing.
// Raw retention: with createDatabase (1.x) the default policy gets DURATION rawRetentionDays (SHARD DURATION 1d) and
// the rollup policy is created with DURATION INF; otherwise pruneRaw() runs DELETE (1.x) below the first hour not yet
// rolled up, and on 2.x/3.x the raw bucket's retention does it (README).
import * as http from 'node:http';
import * as https from 'node:https';
import { InfluxDB, ResultError, type IPoolOptions, type IResponse } from 'influx';
import type { Incident } from '../incidents/types.ts';
import { KINDS } from '../kinds/index.ts';
import { fieldDefs, MEASUREMENTS, type FieldType, type MeasurementName } from './measurements.ts';
import { communeGroups, FIGURE_COLS, FIGURE_MERGE, figureCols, figuresFrom, HIST_COLS, hourOf, isRollupMeasurement, ROLLUP_GROUP_POINTS, rollupName } from './rollup.ts';
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
  type RollupFigures,
  type RollupQuery,
  type RollupResult,
  type SeriesQuery,
  type SeriesRow,
  type StoreHealth,
  type Tags,
} from './types.ts';
import { auditMatches, CheckedStore } from './validate.ts';

export interface InfluxStoreConfig {
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** CREATE DATABASE on init (1.x only) */
  createDatabase: boolean;
  /** raw data kept this many days: a retention policy when createDatabase, else pruneRaw() (0/undefined: forever) */
  rawRetentionDays?: number;
  /** retention policy holding the rollups (default "rollups"); '' = the database's default policy */
  rollupPolicy?: string;
}

export interface InfluxStoreOptions {
  /** writes, pings, CREATE DATABASE: give up after this long without a response (default 5000) */
  timeoutMs?: number;
  /** queries may scan long ranges (default 60000) */
  queryTimeoutMs?: number;
  /** lines per /write request (default 5000) */
  maxLinesPerRequest?: number;
  /** write() calls the ingest writer keeps in flight at once (default 3) */
  writeConcurrency?: number;
  /** raw points a rollup folds at once, in groups of whole communes (default ROLLUP_GROUP_POINTS) */
  rollupGroupPoints?: number;
}

/** A non-2xx answer to /write. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(`HTTP ${status}: ${text.trim()}`);
  }
}

// No backoff and no retries: a failed request must surface at once as StoreUnavailableError (the agent keeps the
// batch in its spool and resends); the package's default would disable the host for up to 10 s after influxd is back.
type Backoff = NonNullable<IPoolOptions['backoff']>;
const NO_BACKOFF: Backoff = { getDelay: () => 0, next: () => NO_BACKOFF, reset: () => NO_BACKOFF };

/** Status codes that mean "not now" rather than "bad data": the batch must be kept and retried. */
const RETRYABLE_4XX = new Set([401, 403, 404, 408, 429]);

export class InfluxStore extends CheckedStore {
  override readonly kind = 'influx';
  /**
   * InfluxDB overwrites an identical point, so overlapping writes end the same in any order. Rollup staleness holds
   * too: each write marks its hours with its own start time and registers in `inflight` before its request.
   */
  readonly writeConcurrency: number;
  private readonly client: InfluxDB;
  /** keep-alive connections for /write */
  private readonly agent: http.Agent;
  private readonly writeBase: { url: URL; request: typeof http.request; auth: string | undefined };
  private readonly queryClient: InfluxDB;
  private readonly maxLines: number;
  private readonly rollupGroupPoints: number;
  private readonly timeoutMs: number;
  private closed = false;
  private readonly rollupRp: string;
  /** the raw data's retention policy was set by us (createDatabase): pruneRaw() leaves it to influxd */
  private retention: { policy: string; days: number } | null = null;
  /** writes in flight: rollup() waits for those that started before it */
  private readonly inflight = new Set<Promise<unknown>>();
  /** raw points below this were deleted by pruneRaw (rollup_meta): a late write there cannot uncover an hour */
  private prunedBefore: number | null = null;

  constructor(
    private readonly cfg: InfluxStoreConfig,
    opts: InfluxStoreOptions = {},
  ) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxLines = opts.maxLinesPerRequest ?? 5000;
    this.rollupGroupPoints = opts.rollupGroupPoints ?? ROLLUP_GROUP_POINTS;
    this.writeConcurrency = opts.writeConcurrency ?? 3;
    this.client = makeClient(cfg, this.timeoutMs);
    const u = new URL(cfg.url);
    const tls = u.protocol === 'https:';
    this.agent = tls ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.writeBase = {
      url: new URL(`${u.origin}${u.pathname.replace(/\/+$/, '')}/write`),
      request: tls ? https.request : http.request,
      // as the package sends it: Basic auth whenever a username is configured
      auth: typeof cfg.username === 'string' ? `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}` : undefined,
    };
    this.queryClient = makeClient(cfg, opts.queryTimeoutMs ?? 60_000);
    this.rollupRp = cfg.rollupPolicy ?? 'rollups';
  }

  override async init(): Promise<void> {
    this.closed = false;
    if (this.cfg.createDatabase) {
      try {
        await this.client.createDatabase(this.cfg.database);
        await this.setupRetention();
        return;
      } catch (err) {
        // Unreachable or bad credentials: fail now. Any other refusal (2.x/3.x have no CREATE DATABASE, a 1.x
        // user without admin rights) means the database must already exist: carry on if /ping answers.
        const status = statusOf(err);
        const refused = err instanceof ResultError || (status !== undefined && status < 500 && status !== 401);
        if (!refused) throw this.classify('create database', err);
      }
    }
    const [host] = await this.client.ping(this.timeoutMs);
    if (!host?.online) throw new StoreUnavailableError(`influx: ${this.cfg.url} does not answer /ping`);
  }

  /** 1.x with createDatabase: rollups in an infinite policy, raw data expiring after rawRetentionDays. */
  private async setupRetention(): Promise<void> {
    const db = this.cfg.database;
    const policies = await this.client.showRetentionPolicies(db);
    if (this.rollupRp && !policies.some((p) => p.name === this.rollupRp)) {
      // Long shards: InfluxQL opens an iterator per series, field and shard; a year of link rows took 28 s over the
      // default 7-day shards and 1.7 s in one shard (measured on influxd 1.6, test/bench/reports.bench.ts).
      await this.query(`CREATE RETENTION POLICY ${ident(this.rollupRp)} ON ${ident(db)} DURATION INF REPLICATION 1 SHARD DURATION 520w`, 'POST');
    }
    const days = this.cfg.rawRetentionDays;
    const def = policies.find((p) => p.default)?.name;
    if (days && def && this.rollupRp && def !== this.rollupRp) {
      await this.query(`ALTER RETENTION POLICY ${ident(def)} ON ${ident(db)} DURATION ${days}d SHARD DURATION 1d`, 'POST');
      this.retention = { policy: def, days };
    }
  }

  protected override async writeChecked(points: Point[]): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('influx: store is closed');
    const writtenAt = Date.now();
    const lines: string[] = [];
    // Staleness markers first: a batch that fails half way has marked its hours before any point landed.
    const hours = new Set<number>();
    for (const p of points) if (isRollupMeasurement(p.measurement)) hours.add(hourOf(p.ts));
    for (const h of hours) lines.push(`rollup_dirty written_at=${writtenAt}i ${h}`);
    const markers = lines.length;
    for (const p of points) {
      const line = toLine(p);
      if (line !== null) lines.push(line);
    }
    if (lines.length === markers) return;
    const job = this.writeLines('write', lines, '');
    this.inflight.add(job);
    try {
      await job;
    } finally {
      this.inflight.delete(job);
    }
  }

  /** Lines in requests of maxLines, to a retention policy ('' = default); a vanished database is recreated once. */
  private async writeLines(what: string, lines: string[], rp: string): Promise<void> {
    for (let i = 0; i < lines.length; i += this.maxLines) {
      const body = Buffer.from(lines.slice(i, i + this.maxLines).join('\n'));
      const send = () => this.post(body, rp);
      try {
        await this.call(what, send);
      } catch (err) {
        // The database vanished (dropped, or influxd came back with an empty data dir): recreate once.
        if (!(err instanceof StoreUnavailableError) || statusOf(err.cause) !== 404 || !this.cfg.createDatabase) throw err;
        await this.call('create database', () => this.client.createDatabase(this.cfg.database));
        await this.setupRetention().catch(() => undefined);
        await this.call(what, send);
      }
    }
  }

  /** One /write request (precision ms); a network error, a timeout or a non-2xx status rejects. */
  private post(body: Buffer, rp: string, retried = false): Promise<void> {
    const { url, request, auth } = this.writeBase;
    const q = new URLSearchParams({ db: this.cfg.database, precision: 'ms' });
    if (rp) q.set('rp', rp);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length };
    if (auth) headers.authorization = auth;
    let settled = false;
    return new Promise<void>((resolve, reject) => {
      const req = request(`${url.href}?${q}`, { method: 'POST', agent: this.agent, headers }, (res) => {
        const status = res.statusCode ?? 0;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (status >= 300 && text.length < 4096) text += chunk;
        });
        res.on('error', reject);
        res.on('end', () => {
          settled = true;
          if (status >= 200 && status < 300) resolve();
          else reject(new HttpStatusError(status, text || res.statusMessage || ''));
        });
      });
      // No answer for timeoutMs (a hung influxd): give up, the agent resends. Decided after this turn's I/O: when the
      // event loop was busy longer than that (a burst of agent frames), timers run before the answer waiting on the
      // socket is read, and that answer is no timeout.
      req.setTimeout(this.timeoutMs, () =>
        setImmediate(() => {
          if (!settled) req.destroy(Object.assign(new Error(`request timed out after ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
        }),
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive connection influxd closed as we reused it: the write never arrived, send it again once
        // (writes are idempotent, so even a duplicate would be harmless).
        if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) this.post(body, rp, true).then(resolve, reject);
        else reject(err);
      });
      req.end(body);
    });
  }

  // ---- rollups ----

  private rollupFrom(m: string): string {
    return this.rollupRp ? `${ident(this.rollupRp)}.${ident(m)}` : ident(m);
  }

  protected override async rawCountsChecked(from: number, to: number, where?: Partial<Tags>): Promise<RawHourCount[]> {
    const cond = whereSql(from, to, where);
    const out: RawHourCount[] = [];
    await Promise.all(
      ROLLUP_MEASUREMENTS.map(async (m) => {
        const sql = `SELECT count(${ident(KINDS[m].primaryField)}) FROM ${ident(m)} WHERE ${cond} GROUP BY time(${ROLLUP_BUCKET_MS}ms) fill(none)`;
        for (const s of await this.query(sql)) {
          for (const row of s.values ?? []) {
            const n = Number(row[1]);
            if (n > 0) out.push({ measurement: m, hour: Number(row[0]), points: n });
          }
        }
      }),
    );
    return out.sort((a, b) => a.hour - b.hour || cmp(a.measurement, b.measurement));
  }

  protected override async rollupChecked(from: number, to: number, build: RollupBuild): Promise<RollupResult> {
    if (this.closed) throw new StoreUnavailableError('influx: store is closed');
    // Taken before waiting: a write that starts later marks its hour with written_at >= rolledAt (stale).
    const rolledAt = Date.now();
    await Promise.allSettled([...this.inflight]);
    // A re-rolled hour gets every bin written, zeros included: an overwrite keeps the fields it omits.
    const before = new Set(await this.coverageMarks(from, to).then((m) => [...m.keys()]));
    // Read, folded and written in groups of whole communes: an hour of 3,000 sites is about 3 million points, and read
    // at once they were gigabytes of JS objects. A group written before a later one fails is overwritten by the retry.
    const groups = communeGroups(await this.pointsPerCommune(from, to), this.rollupGroupPoints);
    const perHour = new Map<number, number>();
    let points = 0;
    let rows = 0;
    for (const communes of groups) {
      const only = `(${communes.map((c) => `${ident('commune')} = ${influxString(c)}`).join(' OR ')})`;
      const got = (await Promise.all(ROLLUP_MEASUREMENTS.map((m) => this.rawPoints(m, `${timeRange(from, to)} AND ${only}`)))).flat();
      for (const p of got) perHour.set(hourOf(p.ts), (perHour.get(hourOf(p.ts)) ?? 0) + 1);
      points += got.length;
      const { series, links } = build(got);
      rows += series.length;
      const lines: string[] = [
        ...series.map((r) => {
          const m = rollupName(r.measurement);
          return `${m}${tagText(m, TAG_KEYS.map((k) => [k, r.tags[k] ?? '']))} ${figureFields(r, before.has(r.hour))} ${r.hour}`;
        }),
        ...links.map((l) => {
          const tags = tagText('link_1h', [['province', l.province], ['commune', l.commune], ['carrier', l.carrier], ['hod', String(l.hod)]]);
          return `link_1h${tags} ${figureFields(l, before.has(l.hour))},down=${l.down ? 1 : 0}i,degraded=${l.degraded ? 1 : 0}i ${l.hour}`;
        }),
      ];
      await this.writeLines('write rollup', lines, this.rollupRp);
    }
    const marks: string[] = [];
    for (let h = from; h < to; h += ROLLUP_BUCKET_MS) marks.push(`rollup_hour rolled_at=${rolledAt}i,points=${perHour.get(h) ?? 0}i ${h}`);
    await this.writeLines('write rollup coverage', marks, this.rollupRp);
    return { hours: (to - from) / ROLLUP_BUCKET_MS, points, rows };
  }

  /** Raw points per commune over [from, to), all rolled-up measurements together, communes in order. */
  private async pointsPerCommune(from: number, to: number): Promise<[string, number][]> {
    const out = new Map<string, number>();
    await Promise.all(
      ROLLUP_MEASUREMENTS.map(async (m) => {
        const sql = `SELECT count(${ident(KINDS[m].primaryField)}) FROM ${ident(m)} WHERE ${timeRange(from, to)} GROUP BY ${ident('commune')}`;
        for (const s of await this.query(sql)) {
          const commune = s.tags?.commune ?? '';
          out.set(commune, (out.get(commune) ?? 0) + Number(s.values?.[0]?.[1] ?? 0));
        }
      }),
    );
    return [...out].sort((a, b) => cmp(a[0], b[0]));
  }

  /** hour -> rolled_at of the coverage marks in [from, to) */
  private async coverageMarks(from: number, to: number): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const s of await this.query(`SELECT "rolled_at" FROM ${this.rollupFrom('rollup_hour')} WHERE ${timeRange(from, to)}`)) {
      for (const row of s.values ?? []) out.set(Number(row[0]), Number(row[1]));
    }
    return out;
  }

  private async loadPrunedBefore(): Promise<number> {
    if (this.prunedBefore === null) {
      const series = await this.query(`SELECT last("raw_pruned_before") FROM ${this.rollupFrom('rollup_meta')}`);
      const v = series[0]?.values?.[0]?.[1];
      this.prunedBefore = typeof v === 'number' ? v : -Infinity;
    }
    return this.prunedBefore;
  }

  protected override async rollupCoverageChecked(from: number, to: number): Promise<number[]> {
    const [marks, dirty, pruned] = await Promise.all([
      this.coverageMarks(from, to),
      this.query(`SELECT "written_at" FROM "rollup_dirty" WHERE ${timeRange(from, to)}`),
      this.loadPrunedBefore(),
    ]);
    for (const s of dirty) {
      for (const row of s.values ?? []) {
        const h = Number(row[0]);
        if (h < pruned) continue; // its raw data is gone: the rollup is all there is
        const rolledAt = marks.get(h);
        if (rolledAt !== undefined && Number(row[1]) >= rolledAt) marks.delete(h);
      }
    }
    return [...marks.keys()].sort((a, b) => a - b);
  }

  protected override async queryRollupsChecked(rq: RollupQuery): Promise<RollupAgg[]> {
    const b = rq.bucketMs;
    const groupBy = [...new Set(rq.groupBy)];
    const cols = [...figureCols(rq.figures), ...(rq.histogram ? HIST_COLS : [])];
    const select = cols.map((c) => `${FIGURE_MERGE[c as keyof typeof FIGURE_MERGE] ?? 'sum'}(${ident(c)}) AS ${ident(c)}`).join(', ');
    const group = [...(b ? [`time(${b}ms)`] : []), ...groupBy.map(ident)];
    const sql =
      `SELECT ${select} FROM ${this.rollupFrom(rollupName(rq.measurement))} WHERE ${whereSql(rq.from, rq.to, rq.where)}` +
      (group.length ? ` GROUP BY ${group.join(', ')}` : '') +
      (b ? ' fill(none)' : '');
    const out: RollupAgg[] = [];
    for (const { tags, get } of groupedRows(await this.query(sql), groupBy)) {
      if (get('rounds') === null) continue;
      out.push({ t: b ? Number(get('time')) : null, tags, ...figuresFrom(get, !!rq.histogram) });
    }
    return out.sort((x, y) => (x.t ?? 0) - (y.t ?? 0) || groupBy.reduce((acc, k) => acc || cmp(x.tags[k] ?? '', y.tags[k] ?? ''), 0));
  }

  protected override async queryLinksChecked(lq: LinkQuery): Promise<LinkAgg[]> {
    const groupBy = [...new Set(lq.groupBy)];
    const cols = [...FIGURE_COLS, ...(lq.histogram ? HIST_COLS : [])];
    const select = [
      'count("rounds") AS "hours"',
      'sum("down") AS "down"',
      'sum("degraded") AS "degraded"',
      ...cols.map((c) => `${FIGURE_MERGE[c as keyof typeof FIGURE_MERGE] ?? 'sum'}(${ident(c)}) AS ${ident(c)}`),
    ].join(', ');
    const parts = [timeRange(lq.from, lq.to)];
    for (const k of ['province', 'commune', 'carrier'] as const) {
      const v = lq.where?.[k];
      if (v !== undefined) parts.push(`${ident(k)} = ${influxString(v)}`);
    }
    const sql = `SELECT ${select} FROM ${this.rollupFrom('link_1h')} WHERE ${parts.join(' AND ')}${groupBy.length ? ` GROUP BY ${groupBy.map(ident).join(', ')}` : ''}`;
    const out: LinkAgg[] = [];
    for (const { tags, get } of groupedRows(await this.query(sql), groupBy)) {
      if (!get('hours')) continue;
      out.push({ tags, hours: Number(get('hours')), hoursDown: Number(get('down') ?? 0), hoursDegraded: Number(get('degraded') ?? 0), ...figuresFrom(get, !!lq.histogram) });
    }
    return out.sort((x, y) => groupBy.reduce((acc, k) => acc || cmpTag(k, x.tags[k] ?? '', y.tags[k] ?? ''), 0));
  }

  protected override async pruneRawChecked(before: number): Promise<PruneResult> {
    let cut = hourOf(before);
    if (this.retention) {
      return {
        before: cut,
        deleted: null,
        detail: `raw data expires by retention policy "${this.retention.policy}" (${this.retention.days} d); rollups are in "${this.rollupRp}"`,
      };
    }
    // Never delete what is not rolled up yet: stop at the first uncovered hour with raw data (looking back 31 days).
    const since = cut - 31 * 86_400_000;
    const [counts, covered] = await Promise.all([this.rawCounts(since, cut), this.rollupCoverage(since, cut)]);
    const cov = new Set(covered);
    for (const c of counts) if (!cov.has(c.hour)) cut = Math.min(cut, c.hour);
    const time = BigInt(cut) * 1_000_000n;
    try {
      for (const m of Object.keys(MEASUREMENTS)) await this.query(`DELETE FROM ${ident(m)} WHERE time < ${time}`, 'POST');
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      return {
        before: cut,
        deleted: null,
        detail: `DELETE refused (${err instanceof Error ? err.message : String(err)}): set the raw bucket's retention to the configured days instead`,
      };
    }
    const pruned = Math.max(await this.loadPrunedBefore(), cut);
    await this.writeLines('write rollup meta', [`rollup_meta raw_pruned_before=${pruned}i 0`], this.rollupRp);
    this.prunedBefore = pruned;
    return { before: cut, deleted: null, detail: `DELETE of raw points before ${new Date(cut).toISOString()}` };
  }

  protected override async queryRawChecked(rq: RawQuery): Promise<Point[]> {
    let where = whereSql(rq.from, rq.to, rq.where);
    if (rq.limit !== undefined) {
      if (rq.limit === 0) return [];
      where += ` LIMIT ${rq.limit}`;
    }
    const out = await this.rawPoints(rq.measurement, where);
    // Same order as the DuckDB store, ties included.
    return out.sort(
      (a, b) =>
        a.ts - b.ts ||
        cmp(a.tags.agent, b.tags.agent) ||
        cmp(a.tags.target, b.tags.target) ||
        cmp(a.tags.uplink, b.tags.uplink),
    );
  }

  /** The points of one measurement matching an InfluxQL WHERE clause (what follows WHERE), in no particular order. */
  private async rawPoints(measurement: MeasurementName, where: string): Promise<Point[]> {
    const fields = fieldDefs(measurement);
    const series = await this.query(`SELECT * FROM ${ident(measurement)} WHERE ${where}`);
    const out: Point[] = [];
    for (const s of series) {
      const col = new Map(s.columns.map((c, i) => [c, i]));
      const ti = col.get('time')!;
      for (const row of s.values ?? []) {
        const tags = {} as Tags;
        for (const k of TAG_KEYS) {
          const i = col.get(k);
          const v = i === undefined ? null : row[i];
          tags[k] = typeof v === 'string' ? v : '';
        }
        const f: Record<string, FieldValue> = {};
        for (const [name] of fields) {
          const i = col.get(name);
          const v: unknown = i === undefined ? null : row[i];
          f[name] = v === undefined ? null : (v as FieldValue);
        }
        out.push({ measurement, ts: Number(row[ti]), tags, fields: f });
      }
    }
    return out;
  }

  protected override async querySeriesChecked(sq: SeriesQuery): Promise<SeriesRow[]> {
    if (sq.fields.length === 0) return [];
    // GROUP BY time() buckets start at multiples of the interval since the epoch (no offset given).
    const sql =
      `SELECT ${sq.fields.map((f) => `mean(${ident(f)}) AS ${ident(f)}`).join(', ')} FROM ${ident(sq.measurement)}` +
      ` WHERE ${whereSql(sq.from, sq.to, sq.where)} GROUP BY time(${sq.bucketMs}ms) fill(none)`;
    const series = await this.query(sql);
    const rows: SeriesRow[] = [];
    for (const s of series) {
      const col = new Map(s.columns.map((c, i) => [c, i]));
      const ti = col.get('time')!;
      for (const row of s.values ?? []) {
        const values: Record<string, number | null> = {};
        for (const f of sq.fields) {
          const i = col.get(f);
          const v: unknown = i === undefined ? null : row[i];
          values[f] = typeof v === 'number' ? v : null;
        }
        rows.push({ t: Number(row[ti]), values });
      }
    }
    return rows.sort((a, b) => a.t - b.t);
  }

  protected override async writeIncidentChecked(inc: Incident): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('influx: store is closed');
    const tags = tagText('incident', [['id', inc.id], ['cause', inc.cause]]);
    const fields =
      `doc=${strField(JSON.stringify(inc))},open=${inc.resolvedAt === null},resolved_at=${inc.resolvedAt ?? 0}i,` +
      `severity=${strField(inc.severity)},maintenance=${inc.maintenance},affected=${inc.communes.length}i`;
    await this.writeLines('write incident', [`incident${tags} ${fields} ${inc.openedAt}`], this.incidentRps()[0]);
  }

  protected override async writeAuditChecked(entries: AuditRecord[]): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('influx: store is closed');
    const lines = entries.map((e) => `audit doc=${strField(JSON.stringify(e))},action=${strField(e.action)},who=${strField(e.who)} ${e.seq}`);
    await this.writeLines('write audit', lines, this.incidentRps()[0]);
  }

  protected override async queryAuditChecked(aq: AuditQuery): Promise<AuditRecord[]> {
    const where: string[] = [];
    // seq is ts bumped by a few ms at most: a margin keeps the time filter exact after the doc check below
    if (aq.from !== undefined) where.push(`time >= ${BigInt(aq.from) * 1_000_000n}`);
    if (aq.to !== undefined) where.push(`time < ${BigInt(aq.to + 60_000) * 1_000_000n}`);
    if (aq.who !== undefined) where.push(`"who" = ${influxString(aq.who)}`);
    if (aq.action !== undefined && !aq.action.endsWith('.')) where.push(`"action" = ${influxString(aq.action)}`);
    const rp = this.incidentRps()[0];
    const from = rp ? `${ident(rp)}."audit"` : '"audit"';
    const out: AuditRecord[] = [];
    const exact = aq.subject === undefined && aq.to === undefined && !aq.action?.endsWith('.');
    const sql = `SELECT "doc" FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC${exact ? ` LIMIT ${aq.limit}` : ''}`;
    for (const s of await this.query(sql)) {
      const di = s.columns.indexOf('doc');
      for (const row of s.values ?? []) {
        const doc = row[di];
        if (typeof doc !== 'string') continue;
        const e = JSON.parse(doc) as AuditRecord;
        if (auditMatches(e, aq)) out.push(e);
        if (out.length >= aq.limit) return out;
      }
    }
    return out;
  }

  /**
   * [where incidents are written, where older ones may still be]. Raw data expiring by retention policy must not take
   * the incident history with it, so then incidents live in the rollup policy; reads look in both (an incident written
   * before the switch and updated after exists twice: the copy in the first wins).
   */
  private incidentRps(): [string, string | null] {
    if (this.retention && this.rollupRp) return [this.rollupRp, ''];
    return ['', this.rollupRp || null];
  }

  protected override async queryIncidentsChecked(iq: IncidentQuery): Promise<Incident[]> {
    // id, cause and openedAt (the time) never change: safe to filter in InfluxQL in every policy.
    const fixed = [`time < ${BigInt(iq.to) * 1_000_000n}`];
    if (iq.cause !== undefined) fixed.push(`"cause" = ${influxString(iq.cause)}`);
    if (iq.id !== undefined) fixed.push(`"id" = ${influxString(iq.id)}`);
    const live = [...fixed, `("open" = true OR "resolved_at" > ${iq.from})`];
    if (iq.openOnly) live.push(`"open" = true`);
    const [primary, secondary] = this.incidentRps();
    const from = (rp: string) => (rp ? `${ident(rp)}."incident"` : '"incident"');
    const [main, older] = await Promise.all([
      this.query(`SELECT "doc" FROM ${from(primary)} WHERE ${live.join(' AND ')}`),
      secondary === null
        ? Promise.resolve([])
        : // a copy there may be stale (state filters would pick the wrong one), and the policy may not exist
          this.query(`SELECT "doc" FROM ${from(secondary)} WHERE ${fixed.join(' AND ')}`).catch((err: unknown) => {
            if (err instanceof StoreUnavailableError) throw err;
            return [];
          }),
    ]);
    // Copies in the older place: the newer place decides, whatever state its copy is in.
    const newest = older.some((x) => x.values?.length)
      ? await this.query(`SELECT "doc" FROM ${from(primary)} WHERE ${fixed.join(' AND ')}`)
      : main;
    const byId = new Map<string, Incident>();
    for (const series of [older, newest]) {
      for (const s of series) {
        const di = s.columns.indexOf('doc');
        for (const row of s.values ?? []) {
          const doc = row[di];
          if (typeof doc !== 'string') continue;
          const inc = JSON.parse(doc) as Incident;
          byId.set(inc.id, inc);
        }
      }
    }
    const out: Incident[] = [];
    for (const inc of byId.values()) {
      if (!(inc.openedAt < iq.to && (inc.resolvedAt === null || inc.resolvedAt > iq.from))) continue;
      if (iq.openOnly && inc.resolvedAt !== null) continue;
      if (iq.commune !== undefined && !inc.communes.includes(iq.commune)) continue;
      if (iq.target !== undefined && !inc.targets.includes(iq.target)) continue;
      if (iq.carrier !== undefined && inc.carrier !== iq.carrier) continue;
      out.push(inc);
    }
    out.sort((a, b) => b.openedAt - a.openedAt || cmp(b.id, a.id));
    return iq.limit === undefined ? out : out.slice(0, iq.limit);
  }

  override async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, kind: this.kind, detail: 'closed' };
    const [host] = await this.client.ping(this.timeoutMs);
    if (!host?.online) return { ok: false, kind: this.kind, detail: `${this.cfg.url} does not answer /ping` };
    return { ok: true, kind: this.kind, detail: `${this.cfg.url} db=${this.cfg.database} version=${host.version}` };
  }

  override async close(): Promise<void> {
    // Refuse further writes and drop the idle /write connections (the agent opens new ones after init()).
    this.closed = true;
    this.agent.destroy();
  }

  private async query(sql: string, method: 'GET' | 'POST' = 'GET') {
    if (this.closed) throw new StoreUnavailableError('influx: store is closed');
    const res: IResponse = await this.call('query', () =>
      this.queryClient.queryRaw(sql, { database: this.cfg.database, precision: 'ms', method }),
    );
    const first = res.results?.[0];
    if (first?.error) throw new Error(`influx: query failed: ${first.error} (${sql})`);
    return first?.series ?? [];
  }

  /** Runs a request, turning "influxd not there / not answering" into StoreUnavailableError. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.classify(what, err);
    }
  }

  /** A 4xx that is the data's fault is a plain Error (retrying cannot help); anything else: try again later. */
  private classify(what: string, err: unknown): Error {
    const status = statusOf(err);
    const text = err instanceof Error ? err.message || (err as { code?: string }).code : String(err);
    if (status !== undefined && status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) {
      return new Error(`influx: ${what} rejected (${status}): ${text}`, { cause: err });
    }
    return new StoreUnavailableError(`influx: ${what} failed at ${this.cfg.url}: ${text}`, { cause: err });
  }
}

function makeClient(cfg: InfluxStoreConfig, requestTimeout: number): InfluxDB {
  const u = new URL(cfg.url);
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  return new InfluxDB({
    hosts: [
      {
        host: u.hostname,
        port: u.port ? Number(u.port) : protocol === 'https' ? 443 : 80,
        protocol,
        path: u.pathname.replace(/\/+$/, ''),
      },
    ],
    database: cfg.database,
    username: cfg.username,
    password: cfg.password,
    pool: { backoff: NO_BACKOFF, maxRetries: 0, requestTimeout },
  });
}


function timeRange(from: number, to: number): string {
  return `time >= ${BigInt(from) * 1_000_000n} AND time < ${BigInt(to) * 1_000_000n}`;
}

/** Rollup figures as line-protocol fields; histogram bins only when non-zero unless `dense`. */
function figureFields(r: RollupFigures, dense: boolean): string {
  let s = `rounds=${r.rounds}i,failed=${r.failed}i,slow=${r.slow}i,loss_sum=${r.lossSum},loss_n=${r.lossN}i,lat_sum=${r.latSum},lat_n=${r.latN}i`;
  if (r.latMin !== null) s += `,lat_min=${r.latMin}`;
  if (r.latMax !== null) s += `,lat_max=${r.latMax}`;
  r.hist.forEach((c, i) => {
    if (c > 0 || dense) s += `,${HIST_COLS[i]!}=${c}i`;
  });
  return s;
}

/** Every row of a GROUP BY query: its group's tags ('' for a missing tag) and a reader of its columns (null if absent). */
function* groupedRows<K extends string>(series: Awaited<ReturnType<InfluxStore['query']>>, groupBy: readonly K[]) {
  for (const s of series) {
    const col = new Map(s.columns.map((c, i) => [c, i]));
    const tags: Partial<Record<K, string>> = {};
    for (const k of groupBy) {
      const v = (s.tags as Record<string, string | undefined> | undefined)?.[k];
      tags[k] = typeof v === 'string' ? v : '';
    }
    for (const row of s.values ?? []) {
      const get = (c: string): unknown => {
        const i = col.get(c);
        return i === undefined ? null : row[i];
      };
      yield { tags: { ...tags }, get };
    }
  }
}

/** Link tags sort like DuckDB's: hod numerically, the others as text. */
function cmpTag(k: string, a: string, b: string): number {
  return k === 'hod' ? Number(a) - Number(b) : cmp(a, b);
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof HttpStatusError) return err.status;
  const s = (err as { res?: { statusCode?: unknown } } | null)?.res?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

function escapeTag(m: string, k: string, v: string): string {
  if (!/[\r\n, =\\]/.test(v)) return v; // most values: nothing to escape or refuse
  if (/[\r\n]/.test(v)) throw new TypeError(`${m}: tag ${k} contains a line break, which InfluxDB cannot store`);
  if (v.endsWith('\\')) throw new TypeError(`${m}: tag ${k} ends with a backslash, which InfluxDB line protocol cannot store`);
  return v.replace(/[, =]/g, '\\$&');
}

/** `,k=v` for each pair with a non-empty value, escaped. */
function tagText(m: string, pairs: readonly (readonly [string, string])[]): string {
  let s = '';
  for (const [k, v] of pairs) if (v !== '') s += `,${k}=${escapeTag(m, k, v)}`;
  return s;
}

/** A string field value: backslash and double quote are escaped. */
function strField(v: string): string {
  return `"${v.replace(/[\\"]/g, '\\$&')}"`;
}

/** A checked field value (validate.ts) in line protocol. */
function fieldText(type: FieldType, v: FieldValue): string {
  if (type === 'int') return `${v as number}i`;
  if (type === 'string') return strField(v as string);
  return String(v);
}


/** Point -> one line of line protocol; null when the point has no non-null field. */
function toLine(p: Point): string | null {
  let tags = '';
  for (const k of TAG_KEYS) {
    const v = p.tags[k] ?? '';
    if (v !== '') tags += `,${k}=${escapeTag(p.measurement, k, v)}`;
  }
  let fields = '';
  for (const [name, type] of fieldDefs(p.measurement)) {
    const v = p.fields[name];
    if (v === null || v === undefined) continue;
    fields += `${fields === '' ? '' : ','}${name}=${fieldText(type, v)}`;
  }
  return fields === '' ? null : `${p.measurement}${tags} ${fields} ${p.ts}`;
}

/** InfluxQL identifier. */
function ident(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

/** InfluxQL string literal: backslash and single quote are the characters that need escaping. */
export function influxString(s: string): string {
  return `'${s.replace(/[\\']/g, '\\$&').replace(/\n/g, '\\n')}'`;
}

function whereSql(from: number, to: number, where: Partial<Tags> | undefined): string {
  // Integer time literals are nanoseconds since the epoch.
  const parts = [`time >= ${BigInt(from) * 1_000_000n}`, `time < ${BigInt(to) * 1_000_000n}`];
  for (const k of TAG_KEYS) {
    const v = where?.[k];
    if (v !== undefined) parts.push(`${ident(k)} = ${influxString(v)}`);
  }
  return parts.join(' AND ');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
