// Composition root: config -> directory -> store -> writer -> live state -> hub -> app -> HTTP server
// (+ the demo simulator). `startServer` is also what tests use, on port 0 with a temp data dir.
import { serve, type ServerType } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { ConfigError } from '../config/errors.ts';
import { DEFAULT_CONFIG_PATH, loadConfig, loadProvince } from '../config/load.ts';
import type { AgentConfig, Config } from '../config/schema.ts';
import { startFleet, type Fleet, type VirtualAgent } from '../agent/simulator/fleet.ts';
import { mulberry32, profileFor } from '../agent/simulator/model.ts';
import { createApp } from './app.ts';
import { hashSecret } from './auth/password.ts';
import { Sessions } from './auth/sessions.ts';
import { Accounts, resolveUsers } from './auth/users.ts';
import { buildDirectory, type LiveDirectory } from './directory.ts';
import { AuditLog } from './audit/log.ts';
import { checkSecrets } from './auth/secrets.ts';
import { AuthThrottle } from './auth/throttle.ts';
import { makeNet } from './http/net.ts';
import { agentConfigOf, FleetBook } from './fleet/book.ts';
import { FleetControl } from './fleet/control.ts';
import { FailureThrottle } from './fleet/throttle.ts';
import { forgetRemovedAgents } from './ingest/agent-ws.ts';
import { AgentRegistry } from './ingest/agents.ts';
import { BatchWriter } from './ingest/writer.ts';
import { LiveHub } from './live.ts';
import { controlRoutes, writeControlToken } from './backup.ts';
import { DataDirError, prepareDataDir } from './data-dir.ts';
import { createLogger } from './log.ts';
import { ServerMetrics } from './metrics.ts';
import { LiveState } from './state/live-state.ts';
import { createStore } from './stores/index.ts';
import { IncidentEngine } from './incidents/engine.ts';
import { MaintenanceBook } from './incidents/maintenance.ts';
import { SLICED_MIN_AGENTS, SnapshotBuilder } from './incidents/snapshot.ts';
import { createNotifications, type Dispatcher } from './notifiers/index.ts';
import { attributionThresholds } from './state/attribution.ts';
import { AttributionThread } from './state/attribution-thread.ts';
import { provinceWideRule } from './state/province-wide.ts';
import { createReports, type Reports } from './reports/index.ts';
import { roundClassifier, startRollupJob } from './reports/data/rollups.ts';
import type { Store } from './stores/types.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface StartOptions {
  /** an already-validated config (tests); otherwise read from configPath / IOC_CONFIG / config/default.yaml */
  config?: Config;
  configPath?: string;
  /** overrides config.server.port (0 = any free port) */
  port?: number;
  host?: string;
  dataDir?: string;
  adminPassword?: string;
  logger?: Logger;
  /** serve the built UI from here; default dist/ui; null = API only */
  uiDir?: string | null;
}

export interface RunningServer {
  url: string;
  port: number;
  config: Config;
  dir: LiveDirectory;
  /** enrolments and admin actions on agents; `control.reload(by)` re-reads the YAML (SIGHUP does it) */
  control: FleetControl;
  /** agents enrolled at run time (data/fleet.json); not the demo simulator's `fleet` */
  enrolled: FleetBook;
  audit: AuditLog;
  store: Store;
  live: LiveState;
  registry: AgentRegistry;
  writer: BatchWriter;
  hub: LiveHub;
  incidents: IncidentEngine;
  notify: Dispatcher;
  reports: Reports;
  fleet: Fleet | null;
  /** the Hono app (its `routes` are checked against config/api.ts) */
  app: ReturnType<typeof createApp>;
  /** set on the first start when the admin password was generated */
  generatedAdmin?: { username: string; password: string };
  close(): Promise<void>;
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const cfg = structuredClone(opts.config ?? loadConfig(opts.configPath));
  // the file a reload re-reads; none when the caller handed over a config object
  const configPath = opts.config ? null : (opts.configPath ?? process.env.IOC_CONFIG ?? DEFAULT_CONFIG_PATH);
  if (opts.dataDir) cfg.server.dataDir = opts.dataDir;
  const log = opts.logger ?? createLogger(cfg.log);
  const province = loadProvince(cfg);
  mkdirSync(cfg.server.dataDir, { recursive: true });
  // before anything opens a file there: stamp a new directory, migrate an older one, refuse a newer one
  await prepareDataDir(cfg.server.dataDir, VERSION, log);

  // The simulator's virtual agents are registered like real ones, with fresh random tokens for this process.
  const { virtual, simulated } = cfg.simulator.enabled ? await addVirtualAgents(cfg, province.communes) : { virtual: [], simulated: [] };

  // Agents: the YAML's, the simulator's and those enrolled at run time (data/fleet.json). Changes at run time
  // replace the directory's tables; live state, the registry and each connected agent's plan follow (below).
  const enrolled = new FleetBook(join(cfg.server.dataDir, 'fleet.json'));
  const store = createStore(cfg.store, { dataDir: cfg.server.dataDir });
  const audit = new AuditLog(store, log);
  const dir = buildDirectory({ ...cfg, agents: [...cfg.agents, ...simulated, ...enrolled.activeAgents().map(agentConfigOf)] }, province);
  const sessions = new Sessions(cfg.server.sessionHours * 3_600_000);
  const { users, generated } = await resolveUsers(cfg.users, cfg.server.dataDir, opts.adminPassword ?? process.env.IOC_ADMIN_PASSWORD);
  // users and API tokens in force; a reload replaces them and ends the sessions of accounts it changed
  const accounts = new Accounts(users, cfg.apiTokens, sessions, audit);
  const control = new FleetControl({
    dir, province, config: cfg, simulated, book: enrolled, audit, configPath, log, accounts, defaultUsers: cfg.users.length ? [] : users,
  });
  const enrolThrottle = new FailureThrottle({
    perAddress: cfg.enrolment.maxFailuresPerAddress, total: cfg.enrolment.maxFailuresTotal, windowMs: cfg.enrolment.failureWindowSec * 1000,
  });
  await initStore(store, log);
  // one audit trail: an older data directory's audit.jsonl moves into the store
  await audit.importJsonl(join(cfg.server.dataDir, 'audit.jsonl')).catch((err: unknown) => log.warn({ err: String(err) }, 'audit.jsonl not imported yet; kept'));
  const metrics = new ServerMetrics();
  // the writer's store writes are timed and its waiting points counted for /metrics, from outside
  const writer = metrics.counted(new BatchWriter(metrics.timed(store), { maxRows: 5000, maxDelayMs: 100, maxWaiting: cfg.server.limits.writerQueueResults }));
  // One province-wide rule for the map and for attribution (config attribution.serviceShare/serviceMinCommunes).
  const live = new LiveState(dir, cfg.server.agentTimeoutSec * 1000, Date.now, provinceWideRule(cfg.attribution));
  const hub = new LiveHub(live, cfg.server.liveCoalesceMs);
  const registry = new AgentRegistry(dir.agents.values());
  dir.onChange(() => {
    live.reconcile();
    forgetRemovedAgents(registry, dir.agents);
    registry.sync(dir.agents.values());
  });

  // Detection: attribution over the live state -> incidents (persisted through the store) -> screens and channels.
  const notify = createNotifications({ config: cfg, directory: dir, env: process.env, log });
  const maintenance = new MaintenanceBook(cfg.maintenance, join(cfg.server.dataDir, 'maintenance.json'));
  const snapshots = new SnapshotBuilder(dir, live, {
    agentTimeoutMs: cfg.server.agentTimeoutSec * 1000, startedAt: Date.now(), baselineTargets: cfg.attribution.baselineTargets,
  });
  // a large fleet's attribution pass runs in a worker thread, so acks and live frames never wait behind it
  const attributionThread = new AttributionThread(undefined, (err) => log.warn({ err: String(err) }, 'attribution worker unavailable; attribution runs on the main thread'));
  const incidents = new IncidentEngine({
    store, source: (now) => snapshots.build(now), thresholds: attributionThresholds(cfg.attribution),
    offThread: (input, th) => attributionThread.run(input, th),
    // ... and its input is read in slices between batches
    sourceSliced: (now) => (dir.agents.size >= SLICED_MIN_AGENTS ? snapshots.buildSliced(now) : null),
    maintenance: () => maintenance.all(), onError: (err, what) => log.warn({ err: String(err) }, `incidents: ${what}`),
  });
  await incidents.start();
  notify.prime(incidents.openIncidents());
  incidents.on((e) => {
    hub.incident(e);
    notify.dispatch(e);
  });
  hub.incidentSource = () => incidents.openIncidents();
  incidents.startLoop(2000);
  const reports = createReports({ config: cfg, dir, store, log, env: process.env });
  // Hourly rollups of closed hours, then raw data past store.rawRetentionDays pruned: every 10 min, first after 1 min.
  const rollups = startRollupJob({
    store, classify: roundClassifier(dir), rawRetentionDays: cfg.store.rawRetentionDays,
    onRun: (r) => {
      metrics.rollupRan(r.ms / 1000);
      log.info({ rollup: r.rollup, prune: r.prune, ms: r.ms }, 'rollup step');
    },
    onError: (err) => {
      metrics.rollupFailed();
      log.warn({ err: String(err) }, 'rollup step failed; retried at the next run');
    },
  });
  const firstRollup = setTimeout(() => void rollups.runOnce().catch(() => {}), 60_000);
  firstRollup.unref();
  metrics.collectFrom({ registry, writer, hub, live, store, incidents, notify, reports, version: VERSION });

  const app = createApp({
    dir, live, hub, store, writer, registry, accounts, log, incidents, maintenance, notify, reports,
    control, audit, enrolThrottle, publicUrl: cfg.server.publicUrl,
    sessions,
    authThrottle: new AuthThrottle(cfg.security, log),
    net: makeNet({ trustProxy: cfg.server.trustProxy, tls: !!cfg.server.tls }),
    allowedOrigins: cfg.security.allowedOrigins,
    maxBodyBytes: cfg.security.maxBodyBytes,
    maxReportRequests: cfg.security.maxReportRequests,
    limits: cfg.server.limits,
    heartbeatSec: cfg.server.heartbeatSec,
    clockToleranceMs: cfg.server.clockToleranceMs,
    sessionHours: cfg.server.sessionHours,
    uiDir: opts.uiDir === undefined ? join(ROOT, 'dist', 'ui') : opts.uiDir,
    startedAt: Date.now(),
    version: VERSION,
    metrics: cfg.metrics.enabled ? metrics.routes(cfg.metrics) : null,
    backupControl: controlRoutes({ dataDir: cfg.server.dataDir, store, token: writeControlToken(cfg.server.dataDir), serverVersion: VERSION }),
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: cfg.server.maxFrameBytes });
  metrics.observeSockets(wss);
  const port = opts.port ?? cfg.server.port;
  const host = opts.host ?? cfg.server.host;
  const server: ServerType = await new Promise((resolve, reject) => {
    const tls = cfg.server.tls ? { createServer: createHttpsServer, serverOptions: { cert: readFileSync(cfg.server.tls.cert), key: readFileSync(cfg.server.tls.key) } } : {};
    const s = serve({ fetch: app.fetch, port, hostname: host, websocket: { server: wss }, ...tls }, () => resolve(s));
    s.once('error', reject);
  });
  const actual = (server.address() as AddressInfo).port;
  const url = `${cfg.server.tls ? 'https' : 'http'}://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${actual}`;

  const sweep = setInterval(() => live.sweep(), 1000);
  const fleet = virtual.length
    ? startFleet({
        url, agents: virtual, roundSec: cfg.simulator.roundSec, outageChance: cfg.simulator.outageChance, seed: cfg.simulator.seed,
        onError: (id, err) => log.debug({ agent: id, err }, 'simulator'),
      })
    : null;

  let closed = false;
  return {
    url, port: actual, config: cfg, dir, control, enrolled, audit, store, live, registry, writer, hub, incidents, notify, reports, fleet, app, generatedAdmin: generated,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      clearTimeout(firstRollup);
      rollups.stop();
      await fleet?.stop();
      hub.close();
      sessions.close();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => server.close(() => r()));
      await incidents.close();
      await attributionThread.close();
      await reports.close();
      await notify.close();
      await writer.close();
      await audit.flush().catch(() => {});
      await store.close();
    },
  };
}

/** A store that is down at start does not stop the server: live view works, agents keep their data, init retries. */
async function initStore(store: Store, log: Logger) {
  try {
    await store.init();
  } catch (e) {
    log.error({ err: String(e) }, `store ${store.kind} not available at start; retrying every 5 s (agents keep their data until it is back)`);
    const retry = setInterval(() => {
      store.init().then(
        () => { clearInterval(retry); log.info(`store ${store.kind} is back`); },
        () => {},
      );
    }, 5000);
    retry.unref();
  }
}

async function addVirtualAgents(cfg: Config, communes: { code: string; type: string }[]): Promise<{ virtual: VirtualAgent[]; simulated: AgentConfig[] }> {
  const rnd = mulberry32(cfg.simulator.seed);
  const carriers = cfg.carriers.map((c) => c.id);
  const out: VirtualAgent[] = [];
  const simulated: AgentConfig[] = [];
  for (const c of communes) {
    const carrier = cfg.communes[c.code]?.carrier ?? profileFor(c.code, c.type, carriers, rnd).carrier;
    const token = randomBytes(18).toString('base64url');
    // Low scrypt cost: these tokens live for one process and never leave it.
    const tokenHash = await hashSecret(token, { N: 1024, r: 8, p: 1 });
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): a gateway address that routes nowhere; the simulator never probes it.
    simulated.push({ id: `sim-${c.code}`, commune: c.code, tokenHash, uplinks: [{ name: 'wan1', carrier, gateway: '192.0.2.1' }] });
    out.push({ id: `sim-${c.code}`, token, commune: c.code, communeType: c.type, carrier });
  }
  return { virtual: out, simulated };
}

// ---- CLI ------------------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const i = args.indexOf('--config');
  const configPath = i >= 0 ? args[i + 1] : undefined;
  let s: RunningServer;
  try {
    // the config operators run must not carry example or weak secrets
    const cfg = loadConfig(configPath);
    await checkSecrets(cfg, { adminPassword: process.env.IOC_ADMIN_PASSWORD, host: cfg.server.host, log: createLogger(cfg.log) });
    s = await startServer({ configPath });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof DataDirError) {
      console.error(`\n${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const shown = s.config.server.host === '0.0.0.0' ? `http://localhost:${s.port}` : s.url;
  console.log(`\nIOC uptime monitor ${VERSION} — ${s.dir.province.fullName} (${s.dir.communes.size} communes), store: ${s.store.kind}`);
  console.log(`  Bản đồ / map:  ${shown}`);
  if (s.generatedAdmin) console.log(`  First start: log in as "${s.generatedAdmin.username}" with password "${s.generatedAdmin.password}" (stored hashed in ${s.config.server.dataDir}/admin.json; set IOC_ADMIN_PASSWORD to choose it)`);
  else if (!s.config.users.length) console.log(`  Log in as "admin" (password set on first start or by IOC_ADMIN_PASSWORD)`);
  if (s.fleet) console.log(`  Simulator: ${s.fleet ? s.dir.agents.size : 0} virtual agents (IOC_SIMULATOR=0 to switch off)`);
  const stop = async () => {
    await s.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // `systemctl reload` / `kill -HUP`: re-read the YAML; a broken file is refused and the running config stays
  process.on('SIGHUP', () => {
    try {
      const r = s.control.reload('SIGHUP');
      console.log(`Config reloaded from ${r.file}: changed ${r.changed.join(', ') || 'nothing'}${r.restartNeeded.length ? `; restart needed for ${r.restartNeeded.join(', ')}` : ''}`);
    } catch (e) {
      console.error(`\nConfig NOT reloaded, the running one stays:\n${e instanceof Error ? e.message : String(e)}\n`);
    }
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void main();
