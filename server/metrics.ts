// Prometheus metrics (GET /metrics, README "Metrics"). The modules that count keep counting their own way
// (registry counters, writer stats, hub stats, dispatcher and archive status); this file reads them when Prometheus
// scrapes (prom-client collect callbacks), so none of them knows about Prometheus. Only what nobody counts today is
// observed here from outside: the store write duration (a wrapped store for the writer), the writer's waiting points
// (a wrapped writer), socket bytes (the WebSocket server's connection event) and incident openings (an event
// listener). Labels stay low-cardinality: cause, reason, channel, state; never a commune or an agent.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { Hono } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WebSocketServer } from 'ws';
import { CAUSES, STATUSES } from '../config/vocabulary.ts';
import type { MetricsConfig } from '../config/schema.ts';
import type { AgentRegistry } from './ingest/agents.ts';
import { ingestRefusals, probeNowStats } from './ingest/agent-ws.ts';
import type { BatchWriter } from './ingest/writer.ts';
import type { IncidentEngine } from './incidents/engine.ts';
import type { LiveHub } from './live.ts';
import type { Dispatcher } from './notifiers/index.ts';
import type { Reports } from './reports/index.ts';
import { speedtestStats } from './routes/speedtest.ts';
import type { LiveState } from './state/live-state.ts';
import type { Store, StoreHealth } from './stores/types.ts';

const HOUR = 3_600_000;
/** registry.counters key -> reason label of ioc_ingest_refused_total */
const REFUSALS = {
  authFailures: 'auth',
  badFrames: 'bad_frame',
  oversized: 'oversized',
  storeFailures: 'store_unavailable',
} as const;
const REPORT_STATES = ['queued', 'running', 'retrying', 'done', 'failed'] as const;

export interface MetricSources {
  registry: AgentRegistry;
  writer: BatchWriter;
  hub: LiveHub;
  live: LiveState;
  store: Store;
  incidents: IncidentEngine;
  notify: Dispatcher;
  reports: Reports;
  version: string;
}

/** Per-agent figures summed into a counter that never goes back when an agent leaves the registry. */
class Monotonic {
  private last = new Map<string, number>();
  private total = 0;
  add(rows: Iterable<[string, number]>): number {
    for (const [id, v] of rows) {
      const prev = this.last.get(id) ?? 0;
      // a restarted count (same id, new lower value) is new work from zero
      this.total += v >= prev ? v - prev : v;
      this.last.set(id, v);
    }
    return this.total;
  }
}

/** Bytes one way over one kind of WebSocket: what closed sockets carried plus what the open ones have so far. */
class SocketBytes {
  closed = 0;
  readonly open = new Set<Socket>();
  constructor(readonly of: (sock: Socket) => number) {}
  total(): number {
    let n = this.closed;
    for (const sock of this.open) n += this.of(sock);
    return n;
  }
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly flush = new Histogram({
    name: 'ioc_store_write_duration_seconds',
    help: 'Time one store write (a writer flush) took',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly storeErrors = new Counter({
    name: 'ioc_store_errors_total',
    help: 'Store calls that failed, by operation',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  private readonly opened = new Counter({
    name: 'ioc_incidents_opened_total',
    help: 'Incidents opened, by cause',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  private readonly rollupRuns = new Counter({
    name: 'ioc_rollup_runs_total',
    help: 'Rollup steps run, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private writerWaiting = 0;
  private agentBytes = new SocketBytes((sock) => sock.bytesRead);
  private liveBytes = new SocketBytes((sock) => sock.bytesWritten);
  private lastRollup: { at: number; seconds: number } | null = null;
  private lagCache: { at: number; value: number | null } | null = null;

  constructor() {
    for (const c of CAUSES) this.opened.inc({ cause: c }, 0);
    for (const o of ['ok', 'failed']) this.rollupRuns.inc({ outcome: o }, 0);
    this.storeErrors.inc({ operation: 'write' }, 0);
  }

  /** The store as the writer should see it: each write timed, each failure counted. */
  timed(store: Store): Store {
    const flush = this.flush;
    const errors = this.storeErrors;
    return new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'write') return Reflect.get(target, prop, receiver) as unknown;
        return async (points: Parameters<Store['write']>[0]) => {
          const end = flush.startTimer();
          try {
            await target.write(points);
          } catch (e) {
            errors.inc({ operation: 'write' });
            throw e;
          } finally {
            end();
          }
        };
      },
    });
  }

  /** The writer as ingest should see it: points handed over and not yet settled are its queue depth. */
  counted(writer: BatchWriter): BatchWriter {
    const self = this;
    return new Proxy(writer, {
      get(target, prop, receiver) {
        if (prop !== 'write') return Reflect.get(target, prop, receiver) as unknown;
        return (points: Parameters<BatchWriter['write']>[0]) => {
          self.writerWaiting += points.length;
          return target.write(points).finally(() => (self.writerWaiting -= points.length));
        };
      },
    });
  }

  /** Bytes on the agent and live sockets, read from the sockets themselves (upgrade request included). */
  observeSockets(wss: WebSocketServer): void {
    wss.on('connection', (_ws: unknown, req: IncomingMessage) => {
      const path = (req.url ?? '').split('?')[0];
      const side = path === '/ws/agent' ? this.agentBytes : path === '/ws/live' ? this.liveBytes : null;
      if (!side) return;
      const sock = req.socket;
      side.open.add(sock);
      sock.once('close', () => {
        side.open.delete(sock);
        side.closed += side.of(sock);
      });
    });
  }

  rollupRan(seconds: number): void {
    this.lastRollup = { at: Date.now(), seconds };
    this.rollupRuns.inc({ outcome: 'ok' });
  }

  rollupFailed(): void {
    this.rollupRuns.inc({ outcome: 'failed' });
  }

  /** Everything read on scrape. Call once, when the sources exist. */
  collectFrom(s: MetricSources): void {
    const r = this.registry;
    const self = this;
    collectDefaultMetrics({ register: r, prefix: 'ioc_' });
    // gauges named like counters: promtool refuses them, and handle counts say little about this server's health
    for (const m of ['active_handles_total', 'active_requests_total', 'active_resources_total']) r.removeSingleMetric(`ioc_nodejs_${m}`);
    s.incidents.on((e) => {
      if (e.kind === 'opened') this.opened.inc({ cause: e.incident.cause });
    });
    // Unlabelled values the server keeps anyway, read at scrape: a running total, or a level now.
    const total = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(read()); } });
    /** the same split by one label: label value -> running total */
    const totals = (name: string, help: string, label: string, read: () => Record<string, number>) =>
      new Counter({
        name, help, labelNames: [label], registers: [r],
        collect() {
          this.reset();
          for (const [value, n] of Object.entries(read())) this.inc({ [label]: value }, n);
        },
      });
    const level = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [r], collect() { this.set(read()); } });

    new Gauge({ name: 'ioc_build_info', help: 'Server version (value 1)', labelNames: ['version'], registers: [r] }).set({ version: s.version }, 1);

    // ---- link speed tests (server/routes/speedtest.ts)
    totals('ioc_speedtest_transfers_total', 'Speed test transfers served, by direction (down, up)', 'direction', () => speedtestStats.transfers);
    totals('ioc_speedtest_bytes_total', 'Speed test payload bytes moved, by direction (down, up)', 'direction', () => speedtestStats.bytes);
    totals('ioc_speedtest_refused_total', 'Speed test requests refused: busy (every slot taken, 429) or too_large (413)', 'reason', () => speedtestStats.refused);
    level('ioc_speedtest_active', 'Speed test transfers running now', () => speedtestStats.active);

    // ---- agents
    new Gauge({
      name: 'ioc_agents',
      help: 'Agents by state: configured (every agent the server accepts: YAML, enrolled, simulated), connected now',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const list = s.registry.list();
        this.set({ state: 'configured' }, list.length);
        this.set({ state: 'connected' }, list.filter((a) => a.connected).length);
      },
    });
    level('ioc_agent_spool_pending_results', 'Results waiting in the agents\u2019 spools for an ack, as the agents last reported', () =>
      s.registry.list().reduce((n, a) => n + a.pending, 0));
    level('ioc_agent_spool_dropped_results', 'Results the agents had to drop (spool full or too old) since their spools were created, as last reported', () =>
      s.registry.list().reduce((n, a) => n + a.dropped, 0));

    // ---- ingest
    const batches = new Monotonic();
    const results = new Monotonic();
    const backfilled = new Monotonic();
    const rows = (k: 'batches' | 'results' | 'backfilled') => s.registry.list().map((a) => [a.id, a[k]] as [string, number]);
    total('ioc_ingest_batches_total', 'Result batches received from agents and stored', () => batches.add(rows('batches')));
    totals('ioc_ingest_results_total', 'Results received from agents and stored: live (fresh) or backfilled (replayed late from a spool: history only)', 'outcome', () => {
      const all = results.add(rows('results'));
      const late = backfilled.add(rows('backfilled'));
      return { live: all - late, backfilled: late };
    });
    totals('ioc_ingest_results_refused_total', 'Results received and not stored, by reason (timestamp: impossible time, check the agent clock)', 'reason', () => ({
      timestamp: s.registry.counters.rejectedTimestamps,
    }));
    total('ioc_ingest_unplanned_results_total', 'Results for targets the server does not plan (stored all the same)', () => s.registry.counters.unplannedResults);
    totals('ioc_ingest_refused_total', 'Agent connections and frames refused, by reason (connections_per_address, batches_in_flight, writer_busy: server.limits)', 'reason', () => {
      const limited = ingestRefusals(s.registry);
      return {
        ...Object.fromEntries(Object.entries(REFUSALS).map(([k, reason]) => [reason, s.registry.counters[k as keyof typeof REFUSALS]])),
        connections_per_address: limited.connectionsPerAddress,
        batches_in_flight: limited.batchesInFlight,
        writer_busy: limited.writerBusy,
      };
    });
    totals('ioc_probe_now_total', 'A service failing after a good round at one site: other sites asked to confirm now (requested), not asked because the target was asked about within server.limits.probeNowMinGapSec (within_gap) or the reporting site own link was failing (link_down), probe frames sent (frames)', 'outcome', () => {
      const p = probeNowStats(s.registry);
      return { requested: p.requested, within_gap: p.withinGap, link_down: p.linkDown, frames: p.frames };
    });
    total('ioc_agent_connections_replaced_total', 'Agent connections closed because a newer one of the same agent id opened', () => ingestRefusals(s.registry).replaced);
    totals('ioc_enrolments_total', 'Enrolment code exchanges by outcome (failed: unknown, used or expired code; throttled: refused with 429)', 'outcome', () => {
      const c = s.registry.counters;
      return { enrolled: c.enrolments, failed: c.enrolFailures, throttled: c.enrolThrottled };
    });
    total('ioc_ingest_received_bytes_total', 'Bytes received on agent WebSocket connections', () => self.agentBytes.total());

    // ---- writer and store
    level('ioc_writer_queue_points', 'Points handed to the writer and not yet stored (or refused)', () => self.writerWaiting);
    total('ioc_writer_points_total', 'Points the writer stored', () => s.writer.stats.points);
    total('ioc_writer_refused_points_total', 'Points the writer refused because server.limits.writerQueueResults were already waiting', () => s.writer.stats.refusedPoints);
    totals('ioc_writer_flushes_total', 'Writer flushes, by outcome', 'outcome', () => ({ ok: s.writer.stats.flushes, failed: s.writer.stats.failures }));
    // one health check per scrape feeds both gauges
    let health: Promise<StoreHealth> | null = null;
    const checkOnce = () => (health ??= s.store.health().catch((): StoreHealth => ({ ok: false, kind: s.store.kind })).finally(() => setTimeout(() => (health = null), 0)));
    new Gauge({
      name: 'ioc_store_up',
      help: 'Whether the store answers its health check (1) or not (0)',
      labelNames: ['kind'],
      registers: [r],
      async collect() {
        const h = await checkOnce();
        this.reset();
        this.set({ kind: s.store.kind }, h.ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ioc_store_memory_bytes',
      help: 'Memory the embedded store holds in this process (DuckDB buffer pool; absent for InfluxDB)',
      labelNames: ['kind'],
      registers: [r],
      async collect() {
        const h = await checkOnce();
        this.reset();
        if (h.memoryBytes !== undefined) this.set({ kind: s.store.kind }, h.memoryBytes);
      },
    });
    new Gauge({
      name: 'ioc_rollup_lag_seconds',
      help: 'Time since the end of the newest hour covered by rollups (rollups run every 10 min for closed hours)',
      registers: [r],
      async collect() {
        this.reset();
        const lag = await self.rollupLag(s.store);
        if (lag !== null) this.set(lag);
      },
    });
    new Gauge({
      name: 'ioc_rollup_last_run_duration_seconds',
      help: 'How long the last rollup step took',
      registers: [r],
      collect() {
        this.reset();
        if (self.lastRollup) this.set(self.lastRollup.seconds);
      },
    });

    // ---- live screens
    level('ioc_live_clients', 'Browsers connected to the live feed', () => s.hub.size);
    total('ioc_live_sent_bytes_total', 'Bytes sent on live feed WebSocket connections', () => self.liveBytes.total());
    totals('ioc_live_messages_total', 'Live feed messages sent, by type; slow_skip: deltas held back from a slow client', 'type', () => {
      const st = s.hub.stats;
      return { delta: st.deltas, snapshot: st.snapshots, incident: st.incidents, slow_skip: st.slowSkips };
    });
    new Gauge({
      name: 'ioc_communes',
      help: 'Communes by live status',
      labelNames: ['status'],
      registers: [r],
      collect() {
        const n = Object.fromEntries(STATUSES.map((st) => [st, 0])) as Record<string, number>;
        for (const c of s.live.all()) n[c.status] = (n[c.status] ?? 0) + 1;
        for (const [status, v] of Object.entries(n)) this.set({ status }, v);
      },
    });

    // ---- incidents, notifications, reports
    new Gauge({
      name: 'ioc_incidents_open',
      help: 'Open incidents, by cause',
      labelNames: ['cause'],
      registers: [r],
      collect() {
        const n = Object.fromEntries(CAUSES.map((c) => [c, 0])) as Record<string, number>;
        for (const i of s.incidents.openIncidents()) n[i.cause] = (n[i.cause] ?? 0) + 1;
        for (const [cause, v] of Object.entries(n)) this.set({ cause }, v);
      },
    });
    const channels = () => s.notify.status().channels;
    new Counter({
      name: 'ioc_notifications_total',
      help: 'Notifications by channel and outcome (sent, or failed after its retries)',
      labelNames: ['channel', 'kind', 'outcome'],
      registers: [r],
      collect() {
        this.reset();
        for (const c of channels()) {
          this.inc({ channel: c.id, kind: c.kind, outcome: 'sent' }, c.sent);
          this.inc({ channel: c.id, kind: c.kind, outcome: 'failed' }, c.failed);
        }
      },
    });
    new Gauge({
      name: 'ioc_notifications_queued',
      help: 'Notifications waiting to be sent, by channel',
      labelNames: ['channel', 'kind'],
      registers: [r],
      collect() {
        this.reset();
        for (const c of channels()) this.set({ channel: c.id, kind: c.kind }, c.queued);
      },
    });
    new Gauge({
      name: 'ioc_report_jobs',
      help: 'Archived report jobs by state',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const n = Object.fromEntries(REPORT_STATES.map((st) => [st, 0])) as Record<string, number>;
        for (const e of s.reports.archive.list()) n[e.status] = (n[e.status] ?? 0) + 1;
        for (const [state, v] of Object.entries(n)) this.set({ state }, v);
      },
    });
  }

  /** Seconds since the end of the newest covered hour of the last 8 days; cached: a scrape should not load the store. */
  private async rollupLag(store: Store): Promise<number | null> {
    const now = Date.now();
    if (this.lagCache && now - this.lagCache.at < 30_000) return this.lagCache.value;
    let value: number | null = null;
    try {
      const hours = await store.rollupCoverage(Math.floor(now / HOUR) * HOUR - 8 * 24 * HOUR, Math.floor(now / HOUR) * HOUR);
      if (hours.length) value = Math.max(0, (now - (Math.max(...hours) + HOUR)) / 1000);
    } catch {
      this.storeErrors.inc({ operation: 'rollup_coverage' });
    }
    this.lagCache = { at: now, value };
    return value;
  }

  /** GET /metrics, for the allowed addresses or with the token (the token from the config or the environment). */
  routes(cfg: MetricsConfig, env: NodeJS.ProcessEnv = process.env): Hono {
    const app = new Hono();
    const allow = new BlockList();
    for (const a of cfg.allow) {
      const [addr, bits] = a.split('/');
      const type = isIPv6(addr!) ? 'ipv6' : 'ipv4';
      if (bits !== undefined) allow.addSubnet(addr!, Number(bits), type);
      else allow.addAddress(addr!, type);
    }
    const token = cfg.token === undefined ? null : typeof cfg.token === 'string' ? cfg.token : (env[cfg.token.env] ?? null);
    const tokenOk = (header: string | undefined) => {
      if (!token || !header?.startsWith('Bearer ')) return false;
      const a = Buffer.from(header.slice(7));
      const b = Buffer.from(token);
      return a.length === b.length && timingSafeEqual(a, b);
    };
    const addressOk = (addr: string | undefined) => {
      if (!addr) return false;
      // an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d
      const v4 = addr.startsWith('::ffff:') && isIPv4(addr.slice(7)) ? addr.slice(7) : null;
      return v4 ? allow.check(v4, 'ipv4') || allow.check(addr, 'ipv6') : allow.check(addr, isIPv6(addr) ? 'ipv6' : 'ipv4');
    };
    app.get('/', async (c) => {
      if (!tokenOk(c.req.header('authorization')) && !addressOk(getConnInfo(c).remote.address)) {
        return c.json({ error: 'metrics: this address is not in metrics.allow and no valid token was given' }, 403);
      }
      return c.body(await this.registry.metrics(), 200, { 'content-type': this.registry.contentType });
    });
    return app;
  }
}
