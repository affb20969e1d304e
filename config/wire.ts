// Every WebSocket message, versioned and validated with zod. Pure: the agent, the server and the UI import it.
//
// Agent link (ws[s]://server/ws/agent, headers `Authorization: Bearer <token>` and `X-Agent-Id: <id>`):
//   agent -> server: hello, batch, heartbeat
//   server -> agent: plan (after hello and whenever the config changes), ack, pong, error
// UI feed (ws[s]://server/ws/live, session cookie):
//   server -> UI: snapshot (on connect), delta (coalesced), hb
import { z } from 'zod';
import { siteSchema } from './schema.ts';
import { causeSchema, evidenceSchema, reasonSchema, severitySchema, statusSchema } from './vocabulary.ts';

export const PROTOCOL_VERSION = 1 as const;
const v = z.literal(PROTOCOL_VERSION);
/** epoch milliseconds */
const ms = z.number().int().nonnegative();
const num = z.number().finite();
const nnum = num.nullable();

/** Close codes used on the agent link (4000-4999 are application codes). */
export const CLOSE = {
  badHello: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  tooBig: 4413,
  tooManyErrors: 4429,
  replaced: 4409,
  shutdown: 1001,
} as const;

// ---- results -------------------------------------------------------------------------------

const resultBase = {
  /** target id from the plan */
  target: z.string().min(1).max(64),
  /** when the round started, agent clock, epoch ms */
  ts: ms,
  /** uplink name the probe used (its carrier is resolved by the server from config) */
  uplink: z.string().max(32).optional(),
};

export const icmpResultSchema = z.object({
  ...resultBase,
  kind: z.literal('icmp'),
  sent: z.number().int().min(0).max(1000),
  received: z.number().int().min(0).max(1000),
  /** percent, 0..100 */
  loss: num.min(0).max(100),
  rtt_min: nnum,
  rtt_median: nnum,
  rtt_avg: nnum,
  rtt_max: nnum,
  /** mean absolute difference of consecutive RTTs, ms */
  jitter: nnum,
  /** per-echo RTTs in ms where the platform's ping gives them (null = lost) */
  rtts: z.array(nnum).max(1000).optional(),
  error: z.string().max(200).optional(),
});

export const HTTP_ERRORS = ['dns', 'refused', 'reset', 'timeout', 'tls', 'status', 'keyword', 'other'] as const;
export const httpResultSchema = z.object({
  ...resultBase,
  kind: z.literal('http'),
  ok: z.boolean(),
  status: z.number().int().min(0).max(999).nullable(),
  total_ms: nnum,
  dns_ms: nnum.optional(),
  connect_ms: nnum.optional(),
  tls_ms: nnum.optional(),
  ttfb_ms: nnum.optional(),
  cert_days_left: nnum.optional(),
  /** issuer of the (last HTTPS hop's) certificate, e.g. "CN=R10, O=Let's Encrypt, C=US" */
  cert_issuer: z.string().max(200).optional(),
  /** redirects followed before the final answer (absent = none) */
  redirects: z.number().int().optional(),
  error: z.enum(HTTP_ERRORS).optional(),
  detail: z.string().max(300).optional(),
});

export const dnsResultSchema = z.object({
  ...resultBase,
  kind: z.literal('dns'),
  ok: z.boolean(),
  total_ms: nnum,
  answers: z.number().int().min(0),
  rcode: z.string().max(20),
  error: z.string().max(200).optional(),
});

export const tcpResultSchema = z.object({
  ...resultBase,
  kind: z.literal('tcp'),
  ok: z.boolean(),
  connect_ms: nnum,
  error: z.string().max(200).optional(),
});

/** OCSP (RFC 6960) answer for one certificate, and/or the issuer's CRL (RFC 5280). */
export const OCSP_CERT_STATUSES = ['good', 'revoked', 'unknown'] as const;
export const ocspResultSchema = z.object({
  ...resultBase,
  kind: z.literal('ocsp'),
  ok: z.boolean(),
  /** the responder's verdict on the configured certificate (null: no valid answer) */
  cert_status: z.enum(OCSP_CERT_STATUSES).nullable(),
  /** OCSP request to answer, or the CRL fetch when no OCSP part is configured, ms */
  total_ms: nnum,
  /** seconds from the agent's clock to the answer's nextUpdate (negative: stale) */
  next_update_s: nnum.optional(),
  /** age of the answer's thisUpdate on the agent's clock, s */
  this_update_age_s: nnum.optional(),
  crl_ok: z.boolean().optional(),
  crl_ms: nnum.optional(),
  crl_bytes: z.number().int().nonnegative().optional(),
  /** seconds from the agent's clock to the CRL's nextUpdate (negative: stale) */
  crl_next_update_s: nnum.optional(),
  /** first word from a fixed list: refused, timeout, dns, http, malformed, signature, stale, revoked, unknown_cert, crl, other */
  error: z.string().max(200).optional(),
});

/** RFC 3161 time-stamp for a random digest. */
export const tsaResultSchema = z.object({
  ...resultBase,
  kind: z.literal('tsa'),
  ok: z.boolean(),
  total_ms: nnum,
  /** PKIStatus of the reply (0 granted, 1 granted with mods, 2 rejection, ...) */
  tsa_status: z.number().int().min(0).max(9).nullable(),
  /** token genTime minus the agent's clock at the answer, ms */
  skew_ms: nnum.optional(),
  /** signer certificate's subject, e.g. "CN=TSA, O=..." */
  signer: z.string().max(200).optional(),
  /** first word from a fixed list: refused, timeout, dns, http, malformed, rejected, digest, nonce, signature, clock, other */
  error: z.string().max(200).optional(),
});

/** The first word of a throughput result's `error` is one of these. */
export const THROUGHPUT_ERRORS = ['refused', 'timeout', 'dns', 'reset', 'uplink', 'http', 'busy', 'budget', 'aborted', 'other'] as const;
/**
 * Error words of a test that did not measure the link (other traffic on it, the day's bytes spent, stopped by the
 * agent): such a result is no failed measurement and counts in no QCVN share; every other error is a failed test.
 */
export const THROUGHPUT_NOT_MEASURED: readonly string[] = ['busy', 'budget', 'aborted'];
/** A throughput result that measured the link, or failed to (as opposed to a test skipped for other traffic). */
export const throughputMeasured = (error: string | undefined | null): boolean =>
  !error || !THROUGHPUT_NOT_MEASURED.includes(/^[a-z_]+/.exec(error)?.[0] ?? '');

/** A bounded link-speed test of one uplink: download, then upload, with the RTT while loaded. */
export const throughputResultSchema = z.object({
  ...resultBase,
  kind: z.literal('throughput'),
  /** both directions measured */
  ok: z.boolean(),
  /** goodput after the warm-up, Mbit/s (10^6 bit/s) */
  down_mbps: nnum,
  up_mbps: nnum,
  /** median RTT of small requests made while the link was loaded, ms */
  loaded_rtt_ms: nnum,
  /** median RTT of the same requests before the transfer, ms */
  idle_rtt_ms: nnum.optional(),
  /** the whole test, ms */
  duration_ms: nnum,
  /** payload bytes moved in both directions (what the daily budget counts) */
  bytes: z.number().int().nonnegative(),
  /** first word from THROUGHPUT_ERRORS */
  error: z.string().max(200).optional(),
});

export const resultSchema = z.discriminatedUnion('kind', [
  icmpResultSchema,
  httpResultSchema,
  dnsResultSchema,
  tcpResultSchema,
  ocspResultSchema,
  tsaResultSchema,
  throughputResultSchema,
]);
export type ProbeResult = z.infer<typeof resultSchema>;
export type IcmpResult = z.infer<typeof icmpResultSchema>;
export type HttpResult = z.infer<typeof httpResultSchema>;
export type DnsResult = z.infer<typeof dnsResultSchema>;
export type TcpResult = z.infer<typeof tcpResultSchema>;
export type OcspResult = z.infer<typeof ocspResultSchema>;
export type TsaResult = z.infer<typeof tsaResultSchema>;
export type ThroughputResult = z.infer<typeof throughputResultSchema>;

// ---- plan: what the server asks an agent to probe -----------------------------------------

const planBase = {
  id: z.string(),
  /** run only on this uplink (e.g. a gateway target, whose host differs per uplink); absent = every uplink */
  uplink: z.string().optional(),
  intervalSec: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
};
export const planTargetSchema = z.discriminatedUnion('kind', [
  z.object({ ...planBase, kind: z.literal('icmp'), host: z.string(), count: z.number().int(), spacingMs: z.number().int() }),
  z.object({
    ...planBase,
    kind: z.literal('http'),
    url: z.string(),
    expectStatus: z.array(z.number().int()).optional(),
    keyword: z.string().optional(),
  }),
  z.object({ ...planBase, kind: z.literal('dns'), resolver: z.string(), query: z.string(), recordType: z.enum(['A', 'AAAA']) }),
  z.object({ ...planBase, kind: z.literal('tcp'), host: z.string(), port: z.number().int() }),
  z.object({
    ...planBase,
    kind: z.literal('ocsp'),
    /** responder URL; absent = CRL only */
    url: z.string().optional(),
    /** issuer certificate, PEM */
    issuer: z.string().optional(),
    /** serial of the certificate asked about, hex */
    serial: z.string().optional(),
    expect: z.enum(OCSP_CERT_STATUSES),
    crlUrl: z.string().optional(),
    /** an answer without nextUpdate older than this is stale, s */
    maxAgeSec: z.number().int().positive(),
  }),
  z.object({
    ...planBase,
    kind: z.literal('tsa'),
    url: z.string(),
    hash: z.enum(['sha256', 'sha384', 'sha512']),
    /** trust anchors for the signer, PEM; absent = the signature is checked against the token's own certificate */
    ca: z.string().optional(),
    maxSkewMs: z.number().int().nonnegative(),
  }),
  z.object({
    ...planBase,
    kind: z.literal('throughput'),
    /** base URL of a separate test server (…/down, …/up); absent = the agent's own server's /api/agent/speedtest */
    url: z.string().optional(),
    /** each direction runs at most this long, ms */
    directionMs: z.number().int().positive(),
    /** payload bytes of one test, both directions together */
    maxBytes: z.number().int().positive(),
    /** payload bytes per agent per local day, all its tests and uplinks together */
    dailyBytes: z.number().int().positive(),
    /** mean tests per uplink per day; the gaps between them are exponentially distributed over the allowed hours */
    testsPerDay: z.number().positive(),
    /** local time windows when tests may run, minutes from midnight [from, to) (from > to wraps past midnight) */
    windows: z.array(z.tuple([z.number().int().min(0).max(1440), z.number().int().min(0).max(1440)])),
    /** windows off limits even inside `windows` (the commune's work hours) */
    blocked: z.array(z.tuple([z.number().int().min(0).max(1440), z.number().int().min(0).max(1440)])),
    /** the agents' local time zone, minutes east of UTC (Vietnam: 420) */
    tzOffsetMin: z.number().int().min(-720).max(840),
    /** other traffic on the uplink above this aborts the test, Mbit/s */
    busyMbps: z.number().positive(),
  }),
]);
export type PlanTarget = z.infer<typeof planTargetSchema>;

export const planUplinkSchema = z.object({
  name: z.string(),
  carrier: z.string(),
  interface: z.string().optional(),
  sourceAddress: z.string().optional(),
});
export type PlanUplink = z.infer<typeof planUplinkSchema>;

// ---- self-update (agent/update/, server/fleet/releases.ts) --------------------------------

/** what an agent runs as: the bundled script, a single executable of that platform, or a development (tsx) run */
export const agentPlatformSchema = z.string().regex(/^[a-z0-9-]{1,32}$/);
export const releaseArtefactSchema = z.object({
  /** `mjs` (any platform with node 20+), `linux-x64`, `win-x64` */
  platform: agentPlatformSchema,
  /** file name under GET /api/agent/releases/ */
  file: z.string().regex(/^[\w.-]{1,100}$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
export type ReleaseArtefact = z.infer<typeof releaseArtefactSchema>;
/** in a plan: the agent version the server wants and its files; absent when updates are paused or pinned elsewhere */
export const planReleaseSchema = z.object({ version: z.string().max(32), artefacts: z.array(releaseArtefactSchema).max(16) });
export type PlanRelease = z.infer<typeof planReleaseSchema>;
export const UPDATE_STATES = ['downloading', 'failed', 'installed'] as const;

// ---- agent -> server ----------------------------------------------------------------------

export const helloSchema = z.object({
  type: z.literal('hello'),
  v,
  agentId: z.string().min(1).max(64),
  version: z.string().max(32),
  /** agent clock when sent, epoch ms */
  clock: ms,
  /** what it runs as (releaseArtefactSchema.platform, or `tsx`); absent from agents before self-update */
  platform: agentPlatformSchema.optional(),
});
export const batchSchema = z.object({
  type: z.literal('batch'),
  v,
  /** strictly increasing per agent process; the server acks it after a durable write */
  seq: z.number().int().nonnegative(),
  results: z.array(resultSchema).min(1).max(5000),
});
export const agentHeartbeatSchema = z.object({
  type: z.literal('heartbeat'),
  v,
  clock: ms,
  /** results waiting for an ack */
  pending: z.number().int().nonnegative(),
  /** results dropped since start because the buffer was full */
  dropped: z.number().int().nonnegative(),
  uptimeSec: z.number().nonnegative(),
  /** the agent's estimate of (server clock - agent clock), ms, NTP-style from the last pong's round trip */
  offsetMs: z.number().finite().optional(),
  /** round trip of the last heartbeat/pong exchange, ms */
  rttMs: z.number().nonnegative().optional(),
  /** results held in the disk spool (not yet acked), and its size in bytes */
  spoolBytes: z.number().int().nonnegative().optional(),
  /** oldest unacked result's ts, epoch ms (how far behind the agent is) */
  oldestPendingTs: ms.optional(),
});
/** a self-update's progress: `failed` keeps the running version (bad hash, failed download), `installed` precedes a restart */
export const agentUpdateSchema = z.object({
  type: z.literal('update'),
  v,
  state: z.enum(UPDATE_STATES),
  from: z.string().max(32),
  to: z.string().max(32),
  error: z.string().max(300).optional(),
});
export const agentMessageSchema = z.discriminatedUnion('type', [helloSchema, batchSchema, agentHeartbeatSchema, agentUpdateSchema]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;
export type Hello = z.infer<typeof helloSchema>;
export type Batch = z.infer<typeof batchSchema>;
export type AgentHeartbeat = z.infer<typeof agentHeartbeatSchema>;
export type AgentUpdate = z.infer<typeof agentUpdateSchema>;

// ---- server -> agent ----------------------------------------------------------------------

export const planSchema = z.object({
  type: z.literal('plan'),
  v,
  /** content hash, changes when the config changes */
  rev: z.string(),
  serverTime: ms,
  heartbeatSec: z.number().int().positive(),
  uplinks: z.array(planUplinkSchema),
  targets: z.array(planTargetSchema),
  /** the version the server wants this agent to run; older agents ignore it */
  release: planReleaseSchema.optional(),
});
export const ackSchema = z.object({ type: z.literal('ack'), v, seq: z.number().int().nonnegative(), accepted: z.number().int() });
export const pongSchema = z.object({
  type: z.literal('pong'),
  v,
  /** the agent clock it answers, echoed */
  clock: ms,
  serverTime: ms,
});
export const errorSchema = z.object({
  type: z.literal('error'),
  v,
  code: z.enum(['bad_json', 'bad_frame', 'not_hello', 'too_big', 'store_unavailable', 'forbidden', 'internal']),
  message: z.string(),
  seq: z.number().int().optional(),
});
/**
 * Another site saw these targets (services) fail after a good round: run a confirmation burst for them now, on every
 * uplink, instead of waiting for the next regular round. Only the server asks, at most once a minute per target, so a
 * third party's portal is not pulsed by every site. An agent older than this message logs the frame and ignores it.
 */
export const probeSchema = z.object({ type: z.literal('probe'), v, targets: z.array(z.string()).min(1).max(256) });
export const serverMessageSchema = z.discriminatedUnion('type', [planSchema, ackSchema, pongSchema, errorSchema, probeSchema]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type Plan = z.infer<typeof planSchema>;
export type Ack = z.infer<typeof ackSchema>;
export type WireError = z.infer<typeof errorSchema>;
export type ProbeRequest = z.infer<typeof probeSchema>;

// ---- live UI feed -------------------------------------------------------------------------

export { STATUSES, statusSchema, type Status } from './vocabulary.ts';

export const targetLiveSchema = z.object({
  id: z.string(),
  /** which agent and uplink measured it (a commune may have two uplinks from different carriers) */
  agent: z.string().optional(),
  uplink: z.string().optional(),
  carrier: z.string().nullable().optional(),
  status: statusSchema,
  /** median RTT for icmp, total time for http/dns/tcp, ms */
  latencyMs: nnum,
  lossPct: nnum,
  lastTs: ms.nullable(),
  /** why it is not up, as data (config/vocabulary.ts), rendered in words by the UI */
  reason: reasonSchema.nullable(),
});
/** one site of a commune (one agent) and its state: the worst of its targets, province-wide failures aside */
export const siteLiveSchema = siteSchema.extend({ agent: z.string(), status: statusSchema });
export type SiteLive = z.infer<typeof siteLiveSchema>;
export const communeLiveSchema = z.object({
  code: z.string(),
  status: statusSchema,
  carrier: z.string().nullable(),
  latencyMs: nnum,
  lossPct: nnum,
  lastSeen: ms.nullable(),
  agents: z.array(z.string()),
  targets: z.array(targetLiveSchema),
  /** the commune's sites, one per agent, in the order of `agents` */
  sites: z.array(siteLiveSchema).optional(),
  /**
   * deltas only: `targets` and `sites` carry just these agents' (sites') entries and replace theirs; the
   * commune's others are unchanged. Absent: both are the whole commune.
   */
  only: z.array(z.string()).optional(),
});
export type TargetLive = z.infer<typeof targetLiveSchema>;
export type CommuneLive = z.infer<typeof communeLiveSchema>;

/** An incident as the UI sees it (same shape as server/incidents/types.ts, which checks it at compile time). */
export const incidentSchema = z.object({
  id: z.string(),
  cause: causeSchema,
  subject: z.string(),
  openedAt: ms,
  resolvedAt: ms.nullable(),
  communes: z.array(z.string()),
  targets: z.array(z.string()),
  carrier: z.string().nullable(),
  severity: severitySchema,
  evidence: evidenceSchema,
  acknowledgedBy: z.string().nullable(),
  acknowledgedAt: ms.nullable(),
  notes: z.array(z.object({ at: ms, by: z.string(), text: z.string() })),
  maintenance: z.boolean(),
  /** communes affected right now (`communes` keeps every commune the incident ever touched) */
  activeCommunes: z.array(z.string()).optional(),
  /** set when a wider incident (e.g. a carrier's) took this one over */
  mergedInto: z.string().nullable().optional(),
  /** the sites it touched, where naming the commune alone would hide them (absent on older incidents) */
  sites: z.array(z.object({ agent: z.string(), commune: z.string(), name: z.string(), kind: siteSchema.shape.kind })).optional(),
});
export type IncidentWire = z.infer<typeof incidentSchema>;

export const liveSnapshotSchema = z.object({
  type: z.literal('snapshot'),
  v,
  serverTime: ms,
  communes: z.array(communeLiveSchema),
  /** open incidents, newest first (absent from servers without incident detection) */
  incidents: z.array(incidentSchema).optional(),
});
export const liveDeltaSchema = z.object({ type: z.literal('delta'), v, serverTime: ms, communes: z.array(communeLiveSchema) });
export const liveHeartbeatSchema = z.object({ type: z.literal('hb'), v, serverTime: ms });
/** an incident opened, changed (affected set, ack, note) or resolved */
export const liveIncidentSchema = z.object({
  type: z.literal('incident'),
  v,
  serverTime: ms,
  event: z.enum(['opened', 'updated', 'resolved', 'acknowledged', 'noted']),
  incident: incidentSchema,
});
export const liveMessageSchema = z.discriminatedUnion('type', [liveSnapshotSchema, liveDeltaSchema, liveHeartbeatSchema, liveIncidentSchema]);
export type LiveMessage = z.infer<typeof liveMessageSchema>;

/** Format zod issues as `path.to[3].field: message` lines. Shared by config load and frame validation. */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[], max = 5): string {
  const lines = issues.slice(0, max).map((i) => `${formatPath(i.path)}: ${i.message}`);
  if (issues.length > max) lines.push(`(+${issues.length - max} more)`);
  return lines.join('; ');
}
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s || '(root)';
}
