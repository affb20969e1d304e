// The Hono app: routes mounted with app.route(), one onError. Dependencies come in from main.ts.
import { Hono, type MiddlewareHandler } from 'hono';
import { compress } from 'hono/compress';
import { upgradeWebSocket } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import { API, type ApiResponseIn } from '../config/api.ts';
import { authenticator, requireSession, type AuthEnv } from './auth/middleware.ts';
import type { Accounts } from './auth/users.ts';
import { getCookie } from 'hono/cookie';
import { auditActions } from './audit/actions.ts';
import { auditScope } from './audit/log.ts';
import { throttled, type AuthThrottle } from './auth/throttle.ts';
import { makeNet, type Net } from './http/net.ts';
import { allowedOrigins, limitBody, originAllowed, sameOriginWrites, securityHeaders } from './http/security.ts';
import { requireRole } from './auth/require-role.ts';
import { scopeOf } from './auth/scope.ts';
import { closeOnEnd, SESSION_COOKIE, type Sessions } from './auth/sessions.ts';
import type { Directory } from './directory.ts';
import { apiErrorHandler } from './http/errors.ts';
import { buildOpenApi, renderOpenApiHtml } from './openapi.ts';
import type { AgentRegistry } from './ingest/agents.ts';
import { agentAuth, agentEvents, type IngestLimits } from './ingest/agent-ws.ts';
import type { BatchWriter } from './ingest/writer.ts';
import type { LiveHub } from './live.ts';
import type { AuditLog } from './fleet/audit.ts';
import type { FleetControl } from './fleet/control.ts';
import { FailureThrottle } from './fleet/throttle.ts';
import { adminRoutes } from './routes/admin.ts';
import { auditRoutes } from './routes/audit.ts';
import { agentRoutes } from './routes/agents.ts';
import { releaseRoutes } from './routes/releases.ts';
import { enrollmentRoutes, enrolRoute } from './routes/enrollments.ts';
import { authRoutes } from './routes/auth.ts';
import { communeRoutes } from './routes/communes.ts';
import { provinceRoutes } from './routes/province.ts';
import { publicRoutes } from './routes/public.ts';
import { seriesRoutes } from './routes/series.ts';
import { SPEEDTEST_UP_PATH, speedtestRoutes } from './routes/speedtest.ts';
import type { LiveState } from './state/live-state.ts';
import type { Store } from './stores/types.ts';
import type { IncidentEngine } from './incidents/engine.ts';
import type { MaintenanceBook } from './incidents/maintenance.ts';
import type { Dispatcher } from './notifiers/index.ts';
import { incidentRoutes } from './routes/incidents.ts';
import type { Reports } from './reports/index.ts';

export interface AppDeps {
  dir: Directory;
  live: LiveState;
  hub: LiveHub;
  store: Store;
  writer: BatchWriter;
  registry: AgentRegistry;
  sessions: Sessions;
  /** users and API tokens in force (a reload replaces them) */
  accounts: Accounts;
  incidents: IncidentEngine;
  maintenance: MaintenanceBook;
  notify: Dispatcher;
  reports: Reports;
  /** enrolments, admin actions on agents, reload */
  control: FleetControl;
  audit: AuditLog;
  /** wrong enrolment codes per address */
  enrolThrottle: FailureThrottle;
  /** config server.publicUrl: the address install commands name */
  publicUrl?: string | undefined;
  log: Logger;
  heartbeatSec: number;
  clockToleranceMs: number;
  sessionHours: number;
  /** built UI (dist/ui); absent in API-only runs */
  uiDir: string | null;
  startedAt: number;
  version: string;
  /** GET /metrics (server/metrics.ts), or null when switched off */
  metrics?: Hono | null;
  /** POST /control/backup for the CLI (server/backup.ts) */
  backupControl?: Hono | null;
  /** wrong passwords, API tokens and agent tokens (config `security`); none: unthrottled */
  authThrottle?: AuthThrottle;
  /** client address and HTTPS, with config server.trustProxy/tls; default: the peer, plain HTTP */
  net?: Net;
  /** origins besides the server's own allowed to change state (config security.allowedOrigins) */
  allowedOrigins?: readonly string[];
  /** largest request body (config security.maxBodyBytes) */
  maxBodyBytes?: number;
  /** report requests per account per 10 minutes (config security.maxReportRequests) */
  maxReportRequests?: number;
  /** agent-link bounds (config server.limits); absent: the defaults */
  limits?: Partial<IngestLimits>;
}

export function createApp(d: AppDeps) {
  const app = new Hono();
  const net = d.net ?? makeNet({ trustProxy: [], tls: false });
  const origins = allowedOrigins([...(d.allowedOrigins ?? []), d.publicUrl]);

  app.onError(apiErrorHandler(d.log));
  app.use('*', securityHeaders(net));
  app.use('*', sameOriginWrites(origins));
  const bodyLimit = limitBody(d.maxBodyBytes ?? 1_048_576);
  // a speed test's upload is large by design and bounded by its own route
  app.use('/api/*', (c, next) => (c.req.path === SPEEDTEST_UP_PATH ? next() : bodyLimit(c, next)));
  app.use('/api/*', auditScope(net.address));
  const who = authenticator(d.sessions, d.accounts, { throttle: d.authThrottle, address: net.address });

  // Unauthenticated: load balancers and the agents' installers probe it.
  app.get('/api/health', async (c) => {
    // Anyone learns only ok/degraded; the details (paths, errors, counters) need a login, an API token or this machine.
    const user = await who(c);
    if (user instanceof Response) return user;
    const local = ['127.0.0.1', '::1'].includes(net.address(c));
    const store = await d.store.health().catch((e: unknown) => ({ ok: false, kind: d.store.kind, detail: String(e) }));
    const status = store.ok ? ('ok' as const) : ('degraded' as const);
    // a carrier account sees only its own part of the fleet: not the province-wide counters
    if ((!user && !local) || (user && scopeOf(user).carrier !== null)) return c.json({ status } satisfies ApiResponseIn<'GET /api/health'>);
    return c.json({
      status,
      auth: d.authThrottle?.counters,
      version: d.version,
      uptimeSec: Math.round((Date.now() - d.startedAt) / 1000),
      store,
      writer: d.writer.stats,
      ingest: d.registry.counters,
      agents: { configured: d.registry.list().length, connected: d.registry.list().filter((a) => a.connected).length },
      liveClients: d.hub.size,
    } satisfies ApiResponseIn<'GET /api/health'>);
  });
  // The API's description is public like the health check: it holds no data, and integrators read it before any login.
  let openapi: ReturnType<typeof buildOpenApi> | null = null;
  const doc = () => (openapi ??= buildOpenApi(d.version));
  app.get('/api/openapi.json', (c) => c.json(doc() as ApiResponseIn<'GET /api/openapi.json'>));
  app.get('/docs/api', (c) => c.html(renderOpenApiHtml(doc())));
  // the one-time code is the credential: no session
  app.route('/api/enroll', enrolRoute({ control: d.control, throttle: d.enrolThrottle, registry: d.registry }));
  app.route('/api/auth', authRoutes({
    accounts: d.accounts, sessions: d.sessions, sessionHours: d.sessionHours, https: net.https, address: net.address, throttle: d.authThrottle, audit: d.audit,
  }));

  // the public status page: no login, cached, published services only
  app.route('/api/public', publicRoutes({ dir: d.dir, live: d.live, store: d.store, incidents: d.incidents, maintenance: d.maintenance }));
  const auth = requireSession(d.sessions, d.accounts, { throttle: d.authThrottle, address: net.address });
  const ingest = {
    dir: d.dir, live: d.live, writer: d.writer, registry: d.registry, log: d.log, heartbeatSec: d.heartbeatSec, clockToleranceMs: d.clockToleranceMs,
    release: () => d.control.releaseOffer(),
    throttle: d.authThrottle, address: net.address, limits: d.limits,
  };
  // the artefacts are fetched with an agent's token, not a session: mounted before the session-only /api
  const agentToken = agentAuth(ingest);
  app.route('/api/agent', releaseRoutes({ control: d.control, session: auth, agent: agentToken }));
  // before the API's compression: random bytes do not compress, and a speed test must see the link, not gzip
  app.route('/api/agent/speedtest', speedtestRoutes({ agent: agentToken }));
  const api = new Hono<AuthEnv>();
  api.use('*', auth);
  api.use('*', auditActions(d.audit));
  // generating a report reads a year of rollups: one account cannot queue them without end
  const reportQuota = new FailureThrottle({ perAddress: d.maxReportRequests ?? 20, total: Number.MAX_SAFE_INTEGER, windowMs: 600_000 });
  api.post('/reports', async (c, next) => {
    const who = c.get('user').username;
    const wait = reportQuota.retryAfter(who);
    if (wait > 0) return throttled(c, wait);
    reportQuota.fail(who);
    await next();
  });
  api.route('/', provinceRoutes(d.dir));
  api.route('/communes', communeRoutes(d.dir, d.live));
  api.route('/agents', agentRoutes(d.dir, d.registry, d.live, d.control));
  api.route('/enrollments', enrollmentRoutes(d.control, d.publicUrl));
  api.route('/audit', auditRoutes(d.audit));
  api.route('/admin', adminRoutes(d.control));
  api.route('/series', seriesRoutes(d.dir, d.store));
  api.route('/incidents', incidentRoutes({ engine: d.incidents, maintenance: d.maintenance, dir: d.dir }));
  api.route('/reports', d.reports.routes);
  // channel state shows recipients: admins only
  api.get('/notifications', requireRole(API['GET /api/notifications'].roles, 'admins only'), (c) => c.json(d.notify.status()));
  api.all('*', (c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));
  app.use('/api/*', compress());
  app.route('/api', api);

  if (d.metrics) app.route('/metrics', d.metrics);
  if (d.backupControl) app.route('/control', d.backupControl);

  app.get('/ws/agent', agentAuth(ingest), upgradeWebSocket((c) => agentEvents(ingest, c)));
  // a page on another site must not open the feed with the operator's cookie
  const liveOrigin: MiddlewareHandler = async (c, next) => {
    if (!originAllowed(c, origins)) return c.json({ error: 'cross-origin live feed refused' }, 403);
    await next();
  };
  app.get('/ws/live', liveOrigin, auth, upgradeWebSocket((c) => {
    const events = d.hub.events(scopeOf(c.get('user')).carrier);
    const sid = getCookie(c, SESSION_COOKIE);
    return sid && d.sessions.get(sid) ? closeOnEnd(events, d.sessions, sid) : events;
  }));

  if (d.uiDir && existsSync(join(d.uiDir, 'index.html'))) {
    const root = relative(process.cwd(), d.uiDir) || '.';
    const index = readFileSync(join(d.uiDir, 'index.html'), 'utf8');
    app.use('/assets/*', serveStatic({ root }));
    // the public status page is its own page (no login, none of the operators' app)
    const status = existsSync(join(d.uiDir, 'status.html')) ? readFileSync(join(d.uiDir, 'status.html'), 'utf8') : null;
    if (status) app.get('/status', (c) => c.html(status));
    app.use('/*', serveStatic({ root }));
    app.get('*', (c) => c.html(index)); // SPA fallback
  } else {
    app.get('/', (c) => c.text('UI not built: run `npm run build` (npm start does it for you).', 503));
  }
  return app;
}
