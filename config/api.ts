// The REST API as data: every route's auth, roles, request and response schemas. The server validates requests
// with them (server/http/validate.ts) and types its answers by them, the UI parses every answer with them
// (ui/src/lib/api.ts), and an OpenAPI 3.1 document can be generated from them (z.toJSONSchema per schema).
// Keys are `METHOD path` with Hono's `:param` syntax; test/server/api-contract.test.ts checks that this table and
// the routes the app registers are the same set. No Node imports: the UI imports this file.
import { z } from 'zod';
import {
  carrierSchema,
  COMMUNE_CODE,
  maintenanceWindowSchema,
  provinceFileSchema,
  REPORT_FORMATS,
  REPORT_KINDS,
  ROLES,
  parseVnTime,
  siteSchema,
  targetSchema,
  uplinkSchema,
  type Role,
  type TargetKind,
} from './schema.ts';
import { enrollAnswerSchema, enrollBodySchema, type EnrollAnswer, type EnrollBody } from './enroll.ts';
import { causeSchema } from './vocabulary.ts';
import { communeLiveSchema, incidentSchema } from './wire.ts';
import { agentPlatformSchema, releaseArtefactSchema, UPDATE_STATES } from './wire.ts';

const ms = z.number().int();
const communeCode = z.string().regex(COMMUNE_CODE, 'expected a 5-digit commune code');
const name = z.string().min(1).max(64);
/** query flags as sent by links and forms */
const bool = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');

/** Every refusal: `{ error }`, a sentence that starts with the field it is about when there is one. */
export const errorBodySchema = z.object({ error: z.string() });
export type ErrorBody = z.infer<typeof errorBodySchema>;

// ---- who ------------------------------------------------------------------------------------------------------

export const roleSchema = z.enum(ROLES);
/** roles that may change things: acknowledge incidents, add notes, maintenance windows */
export const OPERATOR_ROLES = ['admin', 'operator'] as const satisfies readonly Role[];

export const sessionUserSchema = z.object({ username: z.string(), role: roleSchema, carrier: z.string().optional() });
export type SessionUser = z.infer<typeof sessionUserSchema>;
const loginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });

// ---- reference data ---------------------------------------------------------------------------------------------

export const targetKindSchema = z.enum(targetSchema.options.map((o) => o.shape.kind.value) as [TargetKind, ...TargetKind[]]);
export const targetInfoSchema = z.object({ id: z.string(), name: z.string(), kind: targetKindSchema });
export type TargetInfo = z.infer<typeof targetInfoSchema>;
export const carrierInfoSchema = carrierSchema;
export type CarrierInfo = z.infer<typeof carrierInfoSchema>;

/** a commune's live state plus its names */
export const communeSchema = communeLiveSchema.extend({ name: z.string(), fullName: z.string(), type: z.string() });
export type CommuneRow = z.infer<typeof communeSchema>;

// ---- public status page ----------------------------------------------------------------------------------------

/** A published service's state: `maintenance` inside an announced window, `unknown` when no agent reports it. */
export const PUBLIC_STATES = ['up', 'degraded', 'down', 'maintenance', 'unknown'] as const;
export const publicStatusSchema = z.object({
  /** when these figures were computed (the page says "cập nhật lúc ...") */
  updatedAt: ms,
  /** seconds the answer is cached for */
  cacheSec: z.number().int(),
  services: z.array(z.object({
    id: z.string(),
    name: z.string(),
    /** 'service' (portals, iOffice) or 'signing' (the CAs' OCSP/CRL, time-stamping: "ký số") */
    group: z.enum(['service', 'signing']),
    state: z.enum(PUBLIC_STATES),
    /** share of rounds answered today (Asia/Ho_Chi_Minh), % (null: no rounds) */
    todayPct: z.number().nullable(),
    /** share over the last 90 days, % */
    ninetyDayPct: z.number().nullable(),
    /** per day, oldest first, the last 90 days (today last): date YYYY-MM-DD and % (null: no rounds) */
    days: z.array(z.object({ date: z.string(), pct: z.number().nullable() })),
  })),
  /** open service incidents in plain words */
  incidents: z.array(z.object({ id: z.string(), service: z.string(), text: z.string(), severity: z.enum(['down', 'degraded']), since: ms })),
  /** maintenance announced now or within the next 7 days that touches a published service */
  maintenance: z.array(z.object({ id: z.string(), title: z.string(), from: ms, to: ms, services: z.array(z.string()) })),
});
export type PublicStatus = z.infer<typeof publicStatusSchema>;

// ---- agents --------------------------------------------------------------------------------------------------

/** What the server knows about each agent's connection (server/ingest/agents.ts keeps one per agent). */
export const agentInfoSchema = z.object({
  id: z.string(),
  commune: z.string(),
  connected: z.boolean(),
  remote: z.string().nullable(),
  version: z.string().nullable(),
  connectedAt: ms.nullable(),
  /** server clock minus agent clock at hello/heartbeat, ms (rough: one-way delay not removed yet) */
  clockOffsetMs: z.number().nullable(),
  /** results waiting in the agent's spool for an ack */
  pending: z.number(),
  /** results the agent had to drop (spool full or too old), since its spool was created */
  dropped: z.number(),
  spoolBytes: z.number().nullable(),
  oldestPendingTs: ms.nullable(),
  uptimeSec: z.number().nullable(),
  /** round trip of the agent's last heartbeat, ms */
  linkRttMs: z.number().nullable(),
  /** |clockOffsetMs| above server.clockToleranceMs */
  clockSkewed: z.boolean(),
  /** results that arrived late (replayed from the spool), stored as history with backfilled=true */
  backfilled: z.number(),
  /** results refused for impossible timestamps */
  rejected: z.number(),
  batches: z.number(),
  results: z.number(),
  badFrames: z.number(),
  lastError: z.string().nullable(),
  /** what it runs as (hello.platform): mjs, linux-x64, win-x64, tsx; null before it said */
  runsAs: agentPlatformSchema.nullable().optional(),
  /** its last self-update report: `failed` means it still runs `from` */
  update: z
    .object({ state: z.enum(UPDATE_STATES), from: z.string(), to: z.string(), error: z.string().nullable(), at: ms })
    .nullable()
    .optional(),
});
export type AgentInfo = z.infer<typeof agentInfoSchema>;

// ---- self-update: the served agent build, pin and pause (server/fleet/releases.ts) --------------------------------

const versionString = z.string().regex(/^\d+\.\d+\.\d+([-+][\w.-]+)?$/, 'expected a version like 0.2.0');
export const agentReleasesInfoSchema = z.object({
  /** the build this server serves (npm run build:agent), null when there is none */
  release: z.object({ version: z.string(), node: z.string(), builtAt: z.string().nullable(), artefacts: z.array(releaseArtefactSchema) }).nullable(),
  /** why there is no build to serve */
  problem: z.string().nullable(),
  paused: z.boolean(),
  /** the fleet stays on this version */
  pin: z.string().nullable(),
  /** the version agents are told to run: none while paused, or while pinned to a version this server does not serve */
  offered: z.string().nullable(),
});
export type AgentReleasesInfo = z.infer<typeof agentReleasesInfoSchema>;
export const updatePolicyBodySchema = z
  .object({ paused: z.boolean().optional(), pin: versionString.nullable().optional() })
  .strict()
  .refine((b) => b.paused !== undefined || b.pin !== undefined, 'nothing to change: give paused or pin');
export type UpdatePolicyBody = z.infer<typeof updatePolicyBodySchema>;

// ---- fleet: enrolment, agent management, audit, reload (server/fleet/) ------------------------------------------

export { enrollAnswerSchema, enrollBodySchema, type EnrollAnswer, type EnrollBody };

/** what kind of place an agent measures from */
export { SITE_KINDS, siteSchema, type Site, type SiteKind } from './schema.ts';
/** an uplink as an operator describes it: its name, carrier and (for the `gateway` targets) its gateway address */
export const uplinkInSchema = uplinkSchema.pick({ name: true, carrier: true, gateway: true }).strict();
export type UplinkIn = z.infer<typeof uplinkInSchema>;
const uplinks = z.array(uplinkInSchema).min(1, 'at least one uplink').max(8);

export const enrollmentBodySchema = z
  .object({
    /** a commune of the province (checked against the province file) */
    commune: communeCode,
    site: siteSchema,
    uplinks,
    /** only these target ids (default: every target that applies to the commune) */
    targets: z.array(z.string().min(1).max(64)).optional(),
  })
  .strict();
export type EnrollmentBody = z.infer<typeof enrollmentBodySchema>;
/** an open enrolment as listed: never its code (only its hash is kept) */
export const enrollmentRowSchema = z.object({
  id: z.string(),
  commune: z.string(),
  site: siteSchema,
  uplinks: z.array(uplinkInSchema),
  targets: z.array(z.string()).optional(),
  createdBy: z.string(),
  createdAt: ms,
  expiresAt: ms,
});
export type EnrollmentRow = z.infer<typeof enrollmentRowSchema>;
/** the answer to creating one: the code, shown once, and the command lines that use it */
export const enrollmentCreatedSchema = enrollmentRowSchema.extend({
  code: z.string(),
  server: z.string(),
  command: z.object({ linux: z.string(), windows: z.string() }),
});
export type EnrollmentCreated = z.infer<typeof enrollmentCreatedSchema>;

/** an agent's entry: its connection (agentInfoSchema), where it comes from and what it measures over */
export const agentRowSchema = agentInfoSchema.extend({
  lastSeen: ms.nullable(),
  /** config: the YAML file (changed there); enrolled: data/fleet.json (changed on the agents page); simulator: the demo */
  source: z.enum(['config', 'enrolled', 'simulator']).default('config'),
  name: z.string().nullable().default(null),
  site: siteSchema.nullable().default(null),
  uplinks: z.array(z.object({ name: z.string(), carrier: z.string() })).default([]),
  hostname: z.string().nullable().default(null),
  platform: z.string().nullable().default(null),
  enrolledAt: ms.nullable().default(null),
});
export type AgentRow = z.infer<typeof agentRowSchema>;
export const agentUpdateBodySchema = z
  .object({
    /** a display name (the id, which the agent authenticates with and the stored data is tagged with, stays) */
    name: z.string().trim().min(1).max(100).optional(),
    /** move it to another commune of the province */
    commune: communeCode.optional(),
    site: siteSchema.optional(),
    uplinks: uplinks.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to change: give name, commune, site or uplinks');
export type AgentUpdateBody = z.infer<typeof agentUpdateBodySchema>;
export const rotatedSchema = z.object({ id: z.string(), token: z.string() });

/** one change made by a person or an integration: who, from where, when, what (details: before/after) */
export const auditEntrySchema = z.object({
  /** unique, increasing in the order entries were recorded */
  seq: ms,
  ts: ms,
  who: z.string(),
  action: z.string(),
  /** the agent id, enrolment id, incident id, user or config file the action was about */
  subject: z.string(),
  /** the client's address, when a request made the change */
  source: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export const auditQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(10_000).default(500),
    from: z.coerce.number().int().nonnegative().optional(),
    to: z.coerce.number().int().positive().optional(),
    who: z.string().max(200).optional(),
    subject: z.string().max(200).optional(),
    /** an action, or a family of them ending in `.` (`auth.`, `incident.`) */
    action: z.string().max(64).optional(),
  })
  .strict();

/** what a reload changed; sections the running server cannot take over are listed, not applied */
export const reloadResultSchema = z.object({
  file: z.string(),
  /** the sections applied (agents, carriers, communes, defaults, targets) that differed */
  changed: z.array(z.string()),
  /** sections that differ but take effect only after a restart */
  restartNeeded: z.array(z.string()),
  agents: z.number(),
  targets: z.number(),
});
export type ReloadResult = z.infer<typeof reloadResultSchema>;

// ---- health ---------------------------------------------------------------------------------------------------

/** Without a login (from another machine) only `status`; the rest with a login, an API token or from this machine. */
export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string().optional(),
  uptimeSec: z.number().optional(),
  store: z.object({ ok: z.boolean(), kind: z.string(), detail: z.string().optional(), memoryBytes: z.number().optional() }).optional(),
  /** refused: writes (and their points) turned away while server.limits.writerQueueResults were waiting */
  writer: z.object({ flushes: z.number(), points: z.number(), failures: z.number(), lastError: z.string().nullable(), refusedWrites: z.number(), refusedPoints: z.number() }).optional(),
  ingest: z.record(z.string(), z.number()).optional(),
  /** wrong passwords/tokens and throttled attempts since start */
  auth: z.object({ failures: z.number(), throttled: z.number() }).optional(),
  agents: z.object({ configured: z.number(), connected: z.number() }).optional(),
  liveClients: z.number().optional(),
});

// ---- series ---------------------------------------------------------------------------------------------------

export const seriesQuerySchema = z
  .object({
    commune: communeCode,
    target: z.string().optional(),
    uplink: z.string().optional(),
    from: z.coerce.number().int().nonnegative().optional(),
    to: z.coerce.number().int().positive().optional(),
    bucket: z.coerce.number().int().min(1000).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] });
export const seriesSchema = z.object({
  commune: z.string(),
  target: z.string(),
  kind: targetKindSchema,
  bucketMs: z.number(),
  from: ms,
  to: ms,
  points: z.array(z.object({ t: ms, latencyMs: z.number().nullable(), lossPct: z.number().nullable() })),
});
export type SeriesResponse = z.infer<typeof seriesSchema>;

// ---- incidents and maintenance ------------------------------------------------------------------------------

export const incidentListQuerySchema = z
  .object({
    from: z.coerce.number().int().nonnegative().optional(),
    to: z.coerce.number().int().positive().optional(),
    cause: causeSchema.optional(),
    commune: communeCode.optional(),
    carrier: name.optional(),
    target: name.optional(),
    open: bool.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(500),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] });
/** an incident plus how long it has lasted (until now while open) */
export const incidentOutSchema = incidentSchema.extend({ durationMs: z.number() });
export type IncidentOut = z.infer<typeof incidentOutSchema>;
export const noteBodySchema = z.object({ text: z.string().min(1, 'empty note').max(2000) }).strict();

/** a maintenance window as listed: where it comes from and, when in force now, its current span */
export const listedWindowSchema = z.looseObject({
  id: z.string(),
  kind: z.enum(['once', 'weekly']),
  source: z.enum(['config', 'runtime']),
  active: z.object({ from: ms, to: ms }).nullable(),
});
export type ListedWindowOut = z.infer<typeof listedWindowSchema>;

// ---- reports --------------------------------------------------------------------------------------------------

const reportStatus = z.enum(['queued', 'running', 'retrying', 'done', 'failed']);
const deliveryStatus = z.enum(['none', 'pending', 'sent', 'failed']);
const periodType = z.enum(['week', 'month', 'custom']);
export const reportFormatSchema = z.enum(REPORT_FORMATS);
const archivedFile = z.object({ name: z.string(), asciiName: z.string(), contentType: z.string(), bytes: z.number() });

/** an archived report; a carrier account gets it without recipients and requester */
export const reportEntrySchema = z.object({
  id: z.string(),
  kind: z.enum(REPORT_KINDS),
  carrier: z.string().nullable(),
  scope: z.object({ commune: z.string().optional(), target: z.string().optional() }).default({}),
  period: z.object({ type: periodType, from: ms, to: ms, label: z.string() }),
  formats: z.array(reportFormatSchema),
  files: z.object({ pdf: archivedFile.optional(), xlsx: archivedFile.optional(), csv: archivedFile.optional(), docx: archivedFile.optional() }),
  title: z.string().nullable(),
  trigger: z.enum(['schedule', 'manual']),
  schedule: z.string().nullable(),
  requestedBy: z.string().nullable(),
  createdAt: ms,
  generatedAt: ms.nullable(),
  status: reportStatus,
  error: z.string().nullable(),
  attempts: z.number(),
  failures: z.array(z.object({ at: ms, attempt: z.number(), error: z.string() })).optional(),
  nextAttemptAt: ms.nullable(),
  delivery: z.object({
    status: deliveryStatus,
    to: z.array(z.string()).optional(),
    attempts: z.number().optional(),
    error: z.string().nullable(),
    at: ms.nullable(),
  }),
});
export type ReportEntry = z.infer<typeof reportEntrySchema>;

export const jobProgressSchema = z.object({
  id: z.string(),
  status: reportStatus,
  /** a stage name (config/vocabulary.ts REPORT_STAGES); kept open so a newer server's stage doesn't break the page */
  stage: z.string(),
  stageLabel: z.string(),
  percent: z.number(),
  attempts: z.number(),
  maxAttempts: z.number(),
  error: z.string().nullable(),
  nextAttemptAt: ms.nullable(),
  delivery: deliveryStatus.optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

export const reportListQuerySchema = z
  .object({
    kind: z.enum(REPORT_KINDS).optional(),
    carrier: name.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();

/** A day (YYYY-MM-DD, Asia/Ho_Chi_Minh), a local time (YYYY-MM-DDTHH:MM[offset]) or epoch ms. */
export const instantSchema = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .transform((s) => parseVnTime(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00` : s))
    .refine((v) => !Number.isNaN(v), 'expected a date YYYY-MM-DD, a time YYYY-MM-DDTHH:MM or epoch ms'),
]);
export const generateBodySchema = z
  .object({
    kind: z.enum(REPORT_KINDS),
    /** carrier reports; a carrier user may leave it out (its own) */
    carrier: name.optional(),
    /** DOST report for one commune / one service */
    commune: communeCode.optional(),
    target: name.optional(),
    period: z
      .object({
        type: periodType,
        /** week/month: any day inside it (default: the last complete one); custom: the first day */
        from: z.union([z.string(), z.number()]).optional(),
        /** custom: the last day (a day is inclusive; a time or epoch ms is exclusive) */
        to: z.union([z.string(), z.number()]).optional(),
      })
      .strict(),
  })
  .strict();
export type GenerateBody = z.input<typeof generateBodySchema>;
export const submittedSchema = z.object({
  id: z.string(),
  job: z.string(),
  status: reportStatus,
  period: z.object({ type: periodType, from: ms, to: ms, label: z.string() }).optional(),
});
export type Submitted = z.infer<typeof submittedSchema>;

// ---- notifications --------------------------------------------------------------------------------------------

export const notificationStatusSchema = z.looseObject({
  enabled: z.boolean(),
  openIncidents: z.number(),
  queued: z.number(),
  counters: z.record(z.string(), z.number()),
  channels: z.array(z.looseObject({ id: z.string(), kind: z.string(), queued: z.number(), sent: z.number(), failed: z.number() })),
  destinations: z.array(z.looseObject({})),
  recent: z.array(z.looseObject({})),
});

// ---- the API's own description ------------------------------------------------------------------------------

/** the outline of the OpenAPI document server/openapi.ts generates (its JSON Schemas are not modelled twice) */
export const openApiDocumentSchema = z.looseObject({
  openapi: z.string().startsWith('3.1'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.looseObject({ responses: z.record(z.string(), z.unknown()) }))),
  components: z.looseObject({}),
});

// ---- link speed tests (issue 13) --------------------------------------------------------------------------------

/** the most one download or upload of a speed test may move, bytes: a test cannot be made to load the server without end */
export const SPEEDTEST_MAX_BYTES = 100_000_000;
/** the longest one direction may stream, ms */
export const SPEEDTEST_MAX_MS = 30_000;
const speedtestBytes = z.coerce.number().int().min(1).max(SPEEDTEST_MAX_BYTES);
export const speedtestDownQuerySchema = z.object({
  /** stop after this many bytes */
  bytes: speedtestBytes,
  /** or after this long, whichever comes first */
  ms: z.coerce.number().int().min(100).max(SPEEDTEST_MAX_MS).default(10_000),
});
/** how the server saw an upload: bytes and, every ~25 ms from the first byte, [ms, bytes so far] (goodput is the receiver's) */
export const speedtestUpAnswerSchema = z.object({
  bytes: z.number().int().nonnegative(),
  ms: z.number().nonnegative(),
  samples: z.array(z.tuple([z.number().nonnegative(), z.number().int().nonnegative()])).max(1000),
});
export type SpeedtestUpAnswer = z.infer<typeof speedtestUpAnswerSchema>;

// ---- the route table --------------------------------------------------------------------------------------------

export interface RouteContract {
  /** `none`: open; `session`: a session cookie or an API token (Authorization: Bearer <id>.<secret>) */
  auth: 'none' | 'session' | 'agent';
  /** when set, only these roles; others get 403 */
  roles?: readonly Role[];
  summary: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** success status, default 200 */
  status?: number;
  /** the success body; null: none (204), 'file': a download (Content-Disposition) */
  response: z.ZodType | null | 'file';
  /** refusals this route answers with, besides 401 for `session` routes (body: errorBodySchema) */
  errors?: readonly number[];
  /** what a route that changes state leaves in the audit trail (required for every such route of a person or an
   *  integration: test/security/route-scope.test.ts) */
  audit?: AuditDecision;
}

export type AuditDecision =
  /** recorded once the route answers with success (server/audit/actions.ts): the action, the subject taken from a
   *  path parameter or a body field, and the body as "after" */
  | { action: string; subject: `param:${string}` | `body:${string}` }
  /** the route's own module records these (it knows the before and after, or the outcome of a login) */
  | { recordedBy: 'module'; actions: readonly string[] };

const id = z.object({ id: z.string() });

export const API = {
  'GET /api/health': { auth: 'none', summary: 'ok/degraded for anyone; store, writer and ingest details with a login or from this machine', response: healthSchema },
  'GET /api/openapi.json': { auth: 'none', summary: 'This API as an OpenAPI 3.1 document (generated from this table)', response: openApiDocumentSchema },

  'POST /api/auth/login': {
    auth: 'none', summary: 'Log in: sets the session cookie', body: loginBody, response: z.object({ user: sessionUserSchema }), errors: [400, 401],
    audit: { recordedBy: 'module', actions: ['auth.login', 'auth.login.failed', 'auth.login.throttled'] },
  },
  'POST /api/auth/logout': { auth: 'none', summary: 'Log out', status: 204, response: null, audit: { recordedBy: 'module', actions: ['auth.logout'] } },
  'GET /api/auth/me': { auth: 'session', summary: 'Who is logged in', response: sessionUserSchema },

  'GET /api/province': { auth: 'session', summary: 'The province: communes and their boundaries', response: provinceFileSchema },
  'GET /api/targets': { auth: 'session', summary: 'Monitored services', response: z.array(targetInfoSchema) },
  'GET /api/carriers': { auth: 'session', summary: 'Carriers', response: z.array(carrierInfoSchema) },

  'GET /api/communes': { auth: 'session', summary: "Every commune's live state (a carrier account: its communes, its uplinks)", response: z.array(communeSchema) },
  'GET /api/communes/:code': { auth: 'session', summary: "One commune's live state", params: z.object({ code: z.string() }), response: communeSchema, errors: [404] },

  'GET /api/agents': { auth: 'session', summary: 'Agents and their connections', response: z.array(agentRowSchema) },
  'PATCH /api/agents/:id': {
    auth: 'session', roles: ['admin'], summary: 'Rename an enrolled agent, move it to another commune, change its site or uplinks',
    params: id, body: agentUpdateBodySchema, response: agentRowSchema, errors: [400, 403, 404, 409],
    audit: { recordedBy: 'module', actions: ['agent.rename', 'agent.move', 'agent.site', 'agent.uplinks'] },
  },
  'POST /api/agents/:id/revoke': {
    auth: 'session', roles: ['admin'], summary: "Revoke an enrolled agent: its token stops working and its connection is closed", params: id, status: 204, response: null, errors: [403, 404, 409],
    audit: { recordedBy: 'module', actions: ['agent.revoke'] },
  },
  'POST /api/agents/:id/rotate': {
    auth: 'session', roles: ['admin'], summary: "Give an enrolled agent a new token (shown once); the old one stops working", params: id, response: rotatedSchema, errors: [403, 404, 409],
    audit: { recordedBy: 'module', actions: ['agent.rotate'] },
  },
  'GET /api/agent/releases': { auth: 'session', summary: 'The agent build this server offers for self-update, and whether updates are paused or pinned', response: agentReleasesInfoSchema },
  'PUT /api/agent/updates': {
    auth: 'session', roles: ['admin'], summary: 'Pause agent self-updates or pin the fleet to a version', body: updatePolicyBodySchema, response: agentReleasesInfoSchema, errors: [400, 403],
    audit: { recordedBy: 'module', actions: ['agent.updates'] },
  },
  'GET /api/agent/releases/:file': {
    auth: 'agent', summary: "Download an agent artefact named in the release (an agent's own token: Authorization: Bearer <token>, X-Agent-Id: <id>)",
    params: z.object({ file: z.string() }), response: 'file', errors: [401, 404],
  },

  'GET /api/agent/speedtest/down': {
    auth: 'agent', summary: `Link speed test, download: incompressible bytes until \`bytes\` or \`ms\` (at most ${SPEEDTEST_MAX_BYTES / 1e6} MB); a few tests at once server-wide, more are 429 with Retry-After`,
    query: speedtestDownQuerySchema, response: 'file', errors: [400, 401, 429],
  },
  'POST /api/agent/speedtest/up': {
    auth: 'agent', summary: `Link speed test, upload: the body is counted and dropped (at most ${SPEEDTEST_MAX_BYTES / 1e6} MB); the answer is how the server received it`,
    response: speedtestUpAnswerSchema, errors: [401, 413, 429],
  },

  'POST /api/enroll': {
    auth: 'none', summary: "An agent trades a one-time enrolment code for its id and token (throttled per address)", body: enrollBodySchema, response: enrollAnswerSchema, errors: [400, 404, 429],
    audit: { recordedBy: 'module', actions: ['agent.enrol'] },
  },
  'GET /api/enrollments': { auth: 'session', roles: OPERATOR_ROLES, summary: 'Open enrolments (without their codes)', response: z.array(enrollmentRowSchema), errors: [403] },
  'POST /api/enrollments': {
    auth: 'session', roles: OPERATOR_ROLES, summary: 'Create an enrolment: a one-time code and the install commands that use it', body: enrollmentBodySchema, status: 201, response: enrollmentCreatedSchema, errors: [400, 403],
    audit: { recordedBy: 'module', actions: ['enrolment.create'] },
  },
  'DELETE /api/enrollments/:id': { auth: 'session', roles: OPERATOR_ROLES, summary: 'Withdraw an open enrolment', params: id, status: 204, response: null, errors: [403, 404],
    audit: { recordedBy: 'module', actions: ['enrolment.delete'] },
  },

  'GET /api/audit': { auth: 'session', roles: ['admin', 'dost'], summary: 'The audit trail: who changed what, from where, newest first', query: auditQuerySchema, response: z.array(auditEntrySchema), errors: [400, 403] },
  'GET /api/audit/csv': { auth: 'session', roles: ['admin', 'dost'], summary: 'The audit trail as CSV (same filters)', query: auditQuerySchema, response: 'file', errors: [400, 403] },
  'POST /api/admin/reload': {
    auth: 'session', roles: ['admin'], summary: 'Re-read the YAML config (validated first; a broken file is refused and the running config stays)', response: reloadResultSchema, errors: [400, 403, 409],
    audit: { recordedBy: 'module', actions: ['config.reload', 'config.reload.refused', 'auth.sessions.ended', 'auth.token.changed'] },
  },

  'GET /api/series': { auth: 'session', summary: "A commune/service's latency and loss over time, bucketed", query: seriesQuerySchema, response: seriesSchema, errors: [400, 404] },

  'GET /api/incidents/maintenance': { auth: 'session', summary: 'Maintenance windows', response: z.array(listedWindowSchema) },
  'POST /api/incidents/maintenance': {
    auth: 'session', roles: OPERATOR_ROLES, summary: 'Add a maintenance window', body: maintenanceWindowSchema, status: 201, response: listedWindowSchema, errors: [400, 403, 409],
    audit: { action: 'maintenance.add', subject: 'body:id' },
  },
  'DELETE /api/incidents/maintenance/:id': {
    auth: 'session', roles: OPERATOR_ROLES, summary: 'Remove a maintenance window added at runtime', params: id, status: 204, response: null, errors: [403, 404, 409],
    audit: { action: 'maintenance.remove', subject: 'param:id' },
  },
  'GET /api/incidents': { auth: 'session', summary: 'Incident history with filters', query: incidentListQuerySchema, response: z.array(incidentOutSchema), errors: [400] },
  'GET /api/incidents/:id': { auth: 'session', summary: 'One incident', params: id, response: incidentOutSchema, errors: [404] },
  'POST /api/incidents/:id/ack': {
    auth: 'session', roles: OPERATOR_ROLES, summary: 'Acknowledge an incident', params: id, response: incidentOutSchema, errors: [403, 404],
    audit: { action: 'incident.ack', subject: 'param:id' },
  },
  'POST /api/incidents/:id/notes': {
    auth: 'session', roles: OPERATOR_ROLES, summary: 'Add a note to an incident', params: id, body: noteBodySchema, response: incidentOutSchema, errors: [400, 403, 404, 413],
    audit: { action: 'incident.note', subject: 'param:id' },
  },

  'GET /api/reports': { auth: 'session', summary: 'Archived reports, newest first', query: reportListQuerySchema, response: z.array(reportEntrySchema), errors: [400] },
  'POST /api/reports': {
    auth: 'session', summary: 'Generate a report', body: generateBodySchema, status: 202, response: submittedSchema, errors: [400, 403],
    audit: { action: 'report.request', subject: 'body:kind' },
  },
  'GET /api/reports/jobs/:id': { auth: 'session', summary: "A generation's progress", params: id, response: jobProgressSchema, errors: [404] },
  'GET /api/reports/:id': { auth: 'session', summary: 'One archived report', params: id, response: reportEntrySchema, errors: [404] },
  'GET /api/reports/:id/:format': {
    auth: 'session', summary: "Download a report's file", params: z.object({ id: z.string(), format: reportFormatSchema }), response: 'file', errors: [400, 404],
  },

  'GET /api/public/status': {
    auth: 'none', summary: 'The public status page: published services, their availability, open service incidents, maintenance (cached)', response: publicStatusSchema,
  },

  'GET /api/notifications': { auth: 'session', roles: ['admin'], summary: 'Notification channels, queues and recent deliveries', response: notificationStatusSchema, errors: [403] },
} as const satisfies Record<string, RouteContract>;

export type ApiRoute = keyof typeof API;
type Contract<K extends ApiRoute> = (typeof API)[K];
type Schema<K extends ApiRoute, F extends 'params' | 'query' | 'body'> = Contract<K> extends { [P in F]: infer S extends z.ZodType } ? S : never;
/** what a route answers (after parsing) */
export type ApiResponse<K extends ApiRoute> = Contract<K>['response'] extends infer S extends z.ZodType ? z.output<S> : undefined;
/** what the server may send for a route: its answer before parsing (defaults not yet applied) */
export type ApiResponseIn<K extends ApiRoute> = Contract<K>['response'] extends infer S extends z.ZodType ? z.input<S> : never;
export type ApiParams<K extends ApiRoute> = z.input<Schema<K, 'params'>>;
export type ApiQuery<K extends ApiRoute> = z.input<Schema<K, 'query'>>;
export type ApiBody<K extends ApiRoute> = z.input<Schema<K, 'body'>>;

/** `GET /api/incidents/:id` -> ['GET', '/api/incidents/:id'] */
export function splitRoute(key: ApiRoute): [method: string, path: string] {
  const i = key.indexOf(' ');
  return [key.slice(0, i), key.slice(i + 1)];
}
