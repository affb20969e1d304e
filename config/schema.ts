// The server configuration contract. Pure zod, no Node imports: the UI imports the types too.
// Every field is documented in README ("Config reference"); `npm run gen:schema` publishes
// config/config.schema.json from this file for editors and CI linting.
import { z } from 'zod';
import { causeSchema, severitySchema } from './vocabulary.ts';

export const COMMUNE_CODE = /^\d{5}$/;
const id = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'expected a lowercase id (a-z, 0-9, _ . -), at most 64 chars');
const communeCode = z.string().regex(COMMUNE_CODE, 'expected a 5-digit official commune code');

/** Status semantics thresholds. All optional on a target; missing values come from `defaults`. */
export const thresholdsSchema = z.object({
  /** degraded when packet loss (%) of an ICMP round is at or above this */
  lossPct: z.number().min(0).max(100).optional(),
  /** degraded when the median RTT (ms) of an ICMP round is above this */
  rttMs: z.number().positive().optional(),
  /** degraded when an HTTP/DNS/TCP check takes longer than this (ms) */
  responseMs: z.number().positive().optional(),
  /** down after this many consecutive failed rounds */
  downAfter: z.number().int().min(1).max(100).optional(),
  /** back up after this many consecutive good rounds */
  upAfter: z.number().int().min(1).max(100).optional(),
});
export type Thresholds = Required<z.infer<typeof thresholdsSchema>>;

export const DEFAULT_THRESHOLDS: Thresholds = {
  lossPct: 10,
  rttMs: 150,
  responseMs: 3000,
  downAfter: 3,
  upAfter: 2,
};

export const UPLINK_NETWORKS = ['internet', 'tslcd'] as const;
export type UplinkNetwork = (typeof UPLINK_NETWORKS)[number];

const targetBase = {
  id,
  name: z.string().min(1),
  /** every N seconds */
  intervalSec: z.number().int().min(5).max(3600).optional(),
  timeoutMs: z.number().int().min(100).max(120_000).optional(),
  thresholds: thresholdsSchema.optional(),
  /** which agents run it: all agents (default), or only the listed communes */
  communes: z.array(communeCode).optional(),
  /**
   * shown on the public status page (/status, no login): default for the services citizens and officers use
   * (http, ocsp, tsa), never for links (icmp) or internal checks (dns, tcp) unless set true
   */
  public: z.boolean().optional(),
  /**
   * the network that reaches it: run only on the agents' uplinks of that network (a provincial system reached over
   * the government data network: `tslcd`; the national portal: `internet`); absent = every uplink
   */
  network: z.enum(UPLINK_NETWORKS).optional(),
};

export const icmpTargetSchema = z.object({
  ...targetBase,
  kind: z.literal('icmp'),
  /** host name or IP; the literal `gateway` means each agent's own uplink gateway (agents[].uplinks[].gateway) */
  host: z.string().min(1),
  /** echoes per round */
  count: z.number().int().min(1).max(100).default(10),
  /** milliseconds between echoes */
  spacingMs: z.number().int().min(200).max(10_000).default(200),
});

export const httpTargetSchema = z.object({
  ...targetBase,
  kind: z.literal('http'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** status codes counted as up; default any 2xx/3xx */
  expectStatus: z.array(z.number().int().min(100).max(599)).optional(),
  /** the body must contain this text */
  keyword: z.string().optional(),
});

export const dnsTargetSchema = z.object({
  ...targetBase,
  kind: z.literal('dns'),
  /** resolver IP address */
  resolver: z.string().min(1),
  /** name to resolve */
  query: z.string().min(1),
  recordType: z.enum(['A', 'AAAA']).default('A'),
});

export const tcpTargetSchema = z.object({
  ...targetBase,
  kind: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});

const pem = z.string().regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, 'expected a PEM certificate');
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/**
 * A certificate authority's revocation services (signing, "ký số"): an OCSP request (RFC 6960) for one certificate,
 * and/or the CRL (RFC 5280). `url` + `issuer` + `serial` make the OCSP part, `crlUrl` the CRL part.
 */
export const ocspTargetSchema = z
  .object({
    ...targetBase,
    kind: z.literal('ocsp'),
    url: httpUrl.optional(),
    /** the issuing CA's certificate (PEM): it names the certificate asked about and checks the answer's signature */
    issuer: pem.optional(),
    /** serial number of a certificate the CA issued, hex */
    serial: z.string().regex(/^(0x)?[0-9a-fA-F]{1,40}$/, 'expected a hex serial number').optional(),
    /** the status that counts as up (a revoked test certificate is a fine probe too) */
    expect: z.enum(['good', 'revoked', 'unknown']).default('good'),
    crlUrl: httpUrl.optional(),
    /** an answer without nextUpdate older than this is stale, s */
    maxAgeSec: z.number().int().min(60).max(30 * 86_400).default(7 * 86_400),
  })
  .refine((t) => (t.url === undefined) === (t.issuer === undefined) && (t.url === undefined) === (t.serial === undefined), {
    error: 'url, issuer and serial go together',
  })
  .refine((t) => t.url !== undefined || t.crlUrl !== undefined, { error: 'expected url (+ issuer, serial) or crlUrl' });

/** A time-stamping authority (RFC 3161), asked to stamp a random digest. */
export const tsaTargetSchema = z.object({
  ...targetBase,
  kind: z.literal('tsa'),
  url: httpUrl,
  hash: z.enum(['sha256', 'sha384', 'sha512']).default('sha256'),
  /** the TSA's CA certificate(s), PEM; without it the signature is checked against the token's own certificate */
  ca: pem.optional(),
  /** how far the token's time may be from the agent's clock, ms */
  maxSkewMs: z.number().int().min(0).max(3_600_000).default(60_000),
});

/** local time span "HH:MM-HH:MM"; a span whose end is before its start runs past midnight ("22:00-06:00") */
const hourSpan = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'expected "HH:MM-HH:MM" (local time)');

/**
 * Link speed (QCVN 34): each agent tests each uplink's download and upload rate and its RTT under load a few times a
 * day at random times inside `hours`, never inside `blockedHours`, within a daily byte budget, and not while the link
 * carries other traffic. `intervalSec` is how often the agent looks whether a test is due, not a test per interval.
 */
export const throughputTargetSchema = z.object({
  ...targetBase,
  kind: z.literal('throughput'),
  /** a separate test server speaking the same protocol (`<url>/down?bytes=N`, `<url>/up`); absent = this server */
  url: httpUrl.optional(),
  /** at most this long per direction, s */
  durationSec: z.number().int().min(2).max(30).default(10),
  /** payload of one test, both directions together, MB (10^6 bytes); a fast link stops here before durationSec */
  maxMbPerTest: z.number().min(1).max(1000).default(100),
  /** payload per agent per local day, all its uplinks and tests together, MB */
  dailyBudgetMb: z.number().min(1).max(100_000).default(400),
  /** mean number of tests per uplink per day (gaps exponentially distributed, clamped) */
  testsPerDay: z.number().min(0.1).max(48).default(4),
  /** when tests may run, local time (default off-hours) */
  hours: z.array(hourSpan).min(1).default(['22:00-06:00']),
  /** never inside these, even within `hours` (e.g. the commune's work hours "07:00-17:00") */
  blockedHours: z.array(hourSpan).default([]),
  /** the agents' time zone, minutes east of UTC (Vietnam, no daylight saving: 420) */
  tzOffsetMin: z.number().int().min(-720).max(840).default(420),
  /** other traffic on the uplink above this (before or during the test) aborts it, Mbit/s */
  busyMbps: z.number().positive().default(2),
});

export const targetSchema = z.discriminatedUnion('kind', [
  icmpTargetSchema,
  httpTargetSchema,
  dnsTargetSchema,
  tcpTargetSchema,
  ocspTargetSchema,
  tsaTargetSchema,
  throughputTargetSchema,
]);
export type Target = z.infer<typeof targetSchema>;
export type TargetKind = Target['kind'];

export const carrierSchema = z.object({
  id,
  name: z.string().min(1),
  /** CSS colour used in charts and legends */
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'expected a #rrggbb colour').optional(),
});

export const uplinkSchema = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_.-]{1,32}$/, 'expected an interface-like name'),
  carrier: id,
  /** bind probes to this interface (ping -I) */
  interface: z.string().optional(),
  /** or to this source address (ping -I addr, HTTP localAddress) */
  sourceAddress: z.string().optional(),
  /** the uplink's gateway, used by icmp targets whose host is `gateway` */
  gateway: z.string().optional(),
  /**
   * what network the line belongs to: the public Internet, or the government data network (TSLCD, mạng truyền số
   * liệu chuyên dùng), which reaches the province's own systems but not the public Internet; absent = internet
   */
  network: z.enum(UPLINK_NETWORKS).optional(),
  /** the speed the carrier's contract promises, Mbit/s (the QCVN 34 section compares measured throughput with it) */
  contractedMbps: z.object({ down: z.number().positive(), up: z.number().positive() }).strict().optional(),
});

/** scrypt$N$r$p$saltBase64$hashBase64 (see server/auth/password.ts; `npm run hash -- <secret>` makes one) */
export const SECRET_HASH = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
const secretHash = z.string().regex(SECRET_HASH, 'expected a scrypt hash made by `npm run hash` (scrypt$N$r$p$salt$hash)');

/** Where in the commune an agent measures from: the commune stays the unit of the map, the site is its place in it. */
export const SITE_KINDS = ['commune_centre', 'school', 'health_station', 'other'] as const;
export type SiteKind = (typeof SITE_KINDS)[number];
export const siteSchema = z.object({ name: z.string().trim().min(1, 'empty site name').max(100), kind: z.enum(SITE_KINDS) }).strict();
export type Site = z.infer<typeof siteSchema>;

export const agentSchema = z.object({
  id,
  commune: communeCode,
  /** default: the commune centre, named after the commune */
  site: siteSchema.optional(),
  tokenHash: secretHash,
  uplinks: z.array(uplinkSchema).min(1),
  /** restrict this agent to these target ids (default: every target that applies to its commune) */
  targets: z.array(id).optional(),
});
export type AgentConfig = z.infer<typeof agentSchema>;

export const ROLES = ['admin', 'operator', 'carrier', 'dost'] as const;
export type Role = (typeof ROLES)[number];

export const userSchema = z
  .object({
    username: z.string().regex(/^[a-zA-Z0-9_.@-]{2,64}$/, 'expected 2-64 chars: letters, digits, _ . @ -'),
    passwordHash: secretHash,
    role: z.enum(ROLES),
    /** carrier users are scoped to this carrier id */
    carrier: id.optional(),
    displayName: z.string().optional(),
  })
  .refine((u) => u.role !== 'carrier' || !!u.carrier, { message: 'a carrier user needs `carrier`', path: ['carrier'] });
export type UserConfig = z.infer<typeof userSchema>;

/** API tokens for integrations (dashboards, scripts): `Authorization: Bearer <id>.<secret>`, same roles as users. */
export const apiTokenSchema = z
  .object({
    id,
    tokenHash: secretHash,
    role: z.enum(ROLES),
    carrier: id.optional(),
    description: z.string().optional(),
  })
  .refine((u) => u.role !== 'carrier' || !!u.carrier, { message: 'a carrier token needs `carrier`', path: ['carrier'] });
export type ApiTokenConfig = z.infer<typeof apiTokenSchema>;

/** Guessing, forged requests and floods (server/auth/throttle.ts, server/http/security.ts); README "Security". */
export const securitySchema = z
  .object({
    /** wrong passwords or tokens from one address within failureWindowSec before it is refused (429) until the window passes */
    maxFailuresPerAddress: z.number().int().min(1).max(10_000).default(20),
    /** wrong passwords for one account (from anywhere) within failureWindowSec before that account is refused */
    maxFailuresPerAccount: z.number().int().min(1).max(10_000).default(5),
    failureWindowSec: z.number().int().min(1).max(86_400).default(900),
    /** lowest scrypt N accepted for the password and token hashes of a config file */
    minScryptN: z.number().int().min(1024).default(16_384),
    /** origins besides the server's own that may send state-changing requests (the public name behind a proxy) */
    allowedOrigins: z.array(z.url({ protocol: /^https?$/ })).default([]),
    /** largest accepted request body, bytes (login: 4 KiB) */
    maxBodyBytes: z.number().int().min(1024).max(64 * 1_048_576).default(1_048_576),
    /** report requests (POST /api/reports) one account may make per 10 minutes; more are answered 429 */
    maxReportRequests: z.number().int().min(1).max(10_000).default(20),
  })
  .strict();
export type SecurityConfig = z.infer<typeof securitySchema>;

export const storeSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('duckdb'),
    /** file name, relative to server.dataDir unless absolute */
    file: z.string().default('ioc.duckdb'),
    /** raw results kept this many days once rolled up into hourly rows (0 = forever); README "Rollups and raw retention" */
    rawRetentionDays: z.number().int().min(0).max(36_500).default(30),
    /** DuckDB's memory limit (its buffer pool; larger work spills to `<file>.tmp/`), e.g. '512MB', '2GB'; absent = 512MB */
    memoryLimit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, "expected a size such as '512MB'").optional(),
    /** DuckDB worker threads; absent = one per core */
    threads: z.number().int().min(1).max(256).optional(),
  }),
  z.object({
    kind: z.literal('influx'),
    /** base URL of an InfluxDB serving the v1 API (1.x, or the v1-compatible endpoints of 2.x/3.x) */
    url: z.url({ protocol: /^https?$/ }),
    database: z.string().min(1).default('ioc'),
    username: z.string().optional(),
    password: z.string().optional(),
    /** create the database on start if missing (1.x only) */
    createDatabase: z.boolean().default(true),
    /** raw results kept this many days (0 = forever): the default retention policy's duration when createDatabase */
    rawRetentionDays: z.number().int().min(0).max(36_500).default(30),
    /** retention policy of the hourly rollups (created with DURATION INF when createDatabase); '' = the default one */
    rollupPolicy: z.string().regex(/^[A-Za-z0-9_.-]*$/, 'expected a retention policy name').default('rollups'),
  }),
]);
export type StoreConfig = z.infer<typeof storeSchema>;

export const communeOverrideSchema = z.object({
  /** carrier of the commune's primary uplink, shown on the map before an agent reports */
  carrier: id.optional(),
  thresholds: thresholdsSchema.optional(),
});

/** A secret: the literal value, or `{ env: NAME }` to read it from the server's environment at start
 *  (a missing variable stops the server naming the field). Keeps tokens out of YAML files in git. */
export const secretRefSchema = z.union([
  z.string().min(1),
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }).strict(),
]);
export type SecretRef = z.infer<typeof secretRefSchema>;
export const NOTIFY_LANGS = ['vi', 'en'] as const;
const notifyLang = z.enum(NOTIFY_LANGS);
const notifyChannelBase = {
  id,
  /** message language (a route entry may override it) */
  language: notifyLang.default('vi'),
  /** one delivery attempt gives up after this */
  timeoutMs: z.number().int().min(500).max(120_000).default(10_000),
  /** overrides notifications.rateLimitPerMinute for this channel */
  rateLimitPerMinute: z.number().int().min(1).max(600).optional(),
};
const httpBase = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
export const notifyChannelSchema = z.discriminatedUnion('kind', [
  z.object({
    ...notifyChannelBase,
    kind: z.literal('webhook'),
    url: httpBase,
    /** HMAC-SHA256 key for the X-IOC-Signature header (at least 16 characters) */
    secret: secretRefSchema,
  }),
  z.object({
    ...notifyChannelBase,
    kind: z.literal('email'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(587),
    /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it */
    secure: z.boolean().default(false),
    /** refuse to send unless STARTTLS succeeds */
    requireTLS: z.boolean().default(false),
    user: z.string().optional(),
    pass: secretRefSchema.optional(),
    /** e.g. `"IOC Quảng Ngãi" <ioc@example.gov.vn>` */
    from: z.string().min(3),
    /** default recipients (a route entry's `to` replaces them) */
    to: z.array(z.email()).optional(),
  }),
  z.object({
    ...notifyChannelBase,
    kind: z.literal('telegram'),
    botToken: secretRefSchema,
    /** default chat (a route entry's `to` replaces it): numeric id or @channelname */
    chatId: z.union([z.string().regex(/^(-?\d+|@[A-Za-z0-9_]{5,})$/, 'expected a numeric chat id or @channel'), z.number().int()]).optional(),
    apiBase: httpBase.default('https://api.telegram.org'),
  }),
  z.object({
    ...notifyChannelBase,
    kind: z.literal('zalo'),
    /** Official Account access token (expires: refresh it outside this server and pass it by env) */
    accessToken: secretRefSchema,
    /** default follower user id (a route entry's `to` replaces it) */
    userId: z.string().regex(/^\d+$/, 'expected a numeric Zalo user id').optional(),
    apiBase: httpBase.default('https://openapi.zalo.me'),
  }),
]);
export type NotifyChannelConfig = z.infer<typeof notifyChannelSchema>;
export type NotifyChannelKind = NotifyChannelConfig['kind'];

/** Which incidents a route takes. Every listed field must match (a list matches when any entry does);
 *  an empty match takes every incident. Every matching route is used; one destination gets one message. */
export const notifyMatchSchema = z
  .object({
    /** local_link | carrier | service | agent (server/incidents/types.ts CAUSES) */
    causes: z.array(causeSchema).optional(),
    carriers: z.array(id).optional(),
    /** any affected commune in the list */
    communes: z.array(communeCode).optional(),
    /** any affected target in the list */
    targets: z.array(id).optional(),
    severity: z.array(severitySchema).optional(),
  })
  .strict();
export const notifyRouteSchema = z.object({
  name: z.string().optional(),
  match: notifyMatchSchema.prefault({}),
  /** channel ids, or `{ channel, to, language }` to pick the recipient(s) and language for this route */
  channels: z
    .array(
      z.union([
        id,
        z
          .object({
            channel: id,
            to: z.union([z.string().min(1), z.number().int(), z.array(z.string().min(1)).min(1)]).optional(),
            language: notifyLang.optional(),
          })
          .strict(),
      ]),
    )
    .min(1),
});
export const notificationsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** base URL of this server's UI as operators reach it; messages link to the incident there */
    uiBaseUrl: httpBase.optional(),
    /** remind while an incident is open and unacknowledged, every N minutes (0: never) */
    reminderMinutes: z.number().min(0).max(1440).default(30),
    /** stop reminding after this many reminders (0: no limit) */
    maxReminders: z.number().int().min(0).max(1000).default(4),
    /** at most this many messages per destination per minute; the excess is merged into one digest */
    rateLimitPerMinute: z.number().int().min(1).max(600).default(10),
    retry: z
      .object({
        /** delivery attempts per message, first one included */
        attempts: z.number().int().min(1).max(20).default(5),
        /** backoff: base * 3^(n-1), capped */
        baseDelaySec: z.number().positive().max(3600).default(5),
        maxDelaySec: z.number().positive().max(86_400).default(300),
      })
      .prefault({}),
    channels: z.array(notifyChannelSchema).default([]),
    routes: z.array(notifyRouteSchema).default([]),
  })
  .superRefine((n, ctx) => {
    const kinds = new Map<string, NotifyChannelConfig>();
    n.channels.forEach((c, i) => {
      if (kinds.has(c.id)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'id'], message: `duplicate id "${c.id}"` });
      kinds.set(c.id, c);
      if (c.kind === 'webhook' && typeof c.secret === 'string' && c.secret.length < 16)
        ctx.addIssue({ code: 'custom', path: ['channels', i, 'secret'], message: 'expected at least 16 characters' });
    });
    n.routes.forEach((r, i) =>
      r.channels.forEach((e, j) => {
        const entry = typeof e === 'string' ? { channel: e, to: undefined } : e;
        const c = kinds.get(entry.channel);
        const path = ['routes', i, 'channels', j];
        if (!c) return ctx.addIssue({ code: 'custom', path, message: `unknown channel "${entry.channel}"` });
        const to = entry.to === undefined ? [] : Array.isArray(entry.to) ? entry.to : [String(entry.to)];
        if (c.kind === 'webhook' && to.length) ctx.addIssue({ code: 'custom', path, message: 'a webhook channel takes no `to`' });
        if (c.kind === 'email') {
          if (!to.length && !c.to?.length) ctx.addIssue({ code: 'custom', path, message: `channel "${c.id}" has no \`to\`: give one here` });
          to.forEach((t) => z.email().safeParse(t).success || ctx.addIssue({ code: 'custom', path, message: `"${t}" is not an email address` }));
        }
        if (c.kind === 'telegram') {
          if (!to.length && c.chatId === undefined) ctx.addIssue({ code: 'custom', path, message: `channel "${c.id}" has no chatId: give \`to\` here` });
          to.forEach((t) => /^(-?\d+|@[A-Za-z0-9_]{5,})$/.test(t) || ctx.addIssue({ code: 'custom', path, message: `"${t}" is not a chat id or @channel` }));
        }
        if (c.kind === 'zalo') {
          if (!to.length && !c.userId) ctx.addIssue({ code: 'custom', path, message: `channel "${c.id}" has no userId: give \`to\` here` });
          to.forEach((t) => /^\d+$/.test(t) || ctx.addIssue({ code: 'custom', path, message: `"${t}" is not a Zalo user id` }));
        }
      }),
    );
  });
export type NotificationsConfig = z.infer<typeof notificationsSchema>;
export type NotifyRoute = z.infer<typeof notifyRouteSchema>;

// ---- attribution and maintenance windows (server/state/attribution*, server/state/province-wide.ts, server/incidents/*)

/**
 * Attribution and incident-engine thresholds. Every field is optional: the defaults, each with its justification,
 * are DEFAULT_ATTRIBUTION in server/state/attribution.ts.
 */
export const attributionSchema = z
  .object({
    /** target ids whose failure means the commune's own link failed (default: every icmp target with host `gateway`) */
    baselineTargets: z.array(id).optional(),
    /** carrier incident: at least this share of the carrier's communes fail together (0-1, default 0.5) ... */
    carrierShare: z.number().gt(0).max(1).optional(),
    /** ... and at least this many of them (default 3) ... */
    carrierMinCommunes: z.number().int().min(1).optional(),
    /** ... while less than this share of the other carriers' communes fail (0-1, default 0.1) */
    otherCarriersMaxShare: z.number().min(0).max(1).optional(),
    /**
     * Province-wide failure of a target (a service incident, and the live map not blaming the communes for it): at
     * least this share of the communes reporting the target fail it (0-1, default 0.6) ...
     */
    serviceShare: z.number().gt(0).max(1).optional(),
    /** ... and at least this many communes fail it (default 3) */
    serviceMinCommunes: z.number().int().min(1).optional(),
    /** old name of serviceMinCommunes, still read when that one is absent */
    serviceMinAgents: z.number().int().min(1).optional(),
    /** this many agents falling silent within massSilenceWindowSec make one grouped incident (default 5) */
    massSilenceMin: z.number().int().min(2).optional(),
    massSilenceWindowSec: z.number().min(1).max(86_400).optional(),
    /** an ICMP round losing at least this % counts as a hard failure, like a round with no reply (default 80) */
    hardLossPct: z.number().gt(0).max(100).optional(),
    /** a `degraded` round losing less than this % (with its latency fine) is noise for attribution (default 20) */
    softLossPct: z.number().min(0).max(100).optional(),
    /** a hard cause opens after being present this long and in 2 consecutive evaluations (default 5 s) */
    confirmSec: z.number().min(0).max(3600).optional(),
    /** a local link failing while other communes of its carrier fail too waits this long for a carrier pattern (default 30 s) */
    groupWaitSec: z.number().min(0).max(3600).optional(),
    /** a silent agent (grey, not red) opens an incident after this long (default 60 s) */
    agentConfirmSec: z.number().min(0).max(86_400).optional(),
    /** a soft cause (slow, lossy) opens only when present this long ... (default 300 s) */
    degradedSustainSec: z.number().min(0).max(86_400).optional(),
    /** ... for at least this share of that time (0-1, default 0.8) */
    degradedPresence: z.number().gt(0).max(1).optional(),
    /** an incident resolves after its cause has been absent this long (default 60 s) */
    resolveSec: z.number().min(0).max(86_400).optional(),
    /** incidents reloaded after a restart are kept at least this long while agents reconnect (default 120 s) */
    startupGraceSec: z.number().min(0).max(86_400).optional(),
  })
  .strict();
export type AttributionConfig = z.infer<typeof attributionSchema>;

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** Vietnam has kept UTC+7 without daylight saving since 1975: a fixed offset is exact for Asia/Ho_Chi_Minh. */
export const VN_OFFSET_MS = 7 * 3_600_000;
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/;

/** `YYYY-MM-DDTHH:MM[:SS[.mmm]][offset]` -> epoch ms (fraction ignored); without an offset the time is Asia/Ho_Chi_Minh. NaN when invalid. */
export function parseVnTime(s: string): number {
  const m = LOCAL_TIME.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, se);
  const c = new Date(wall);
  // Date.UTC rolls 30 February over to March: refuse instead.
  if (c.getUTCFullYear() !== y || c.getUTCMonth() !== mo - 1 || c.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return NaN;
  const off = m[7];
  if (!off) return wall - VN_OFFSET_MS;
  if (off === 'Z') return wall;
  const sign = off[0] === '-' ? -1 : 1;
  return wall - sign * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6))) * 60_000;
}

const vnTime = z.string().refine((s) => !Number.isNaN(parseVnTime(s)), 'expected a time YYYY-MM-DDTHH:MM (Asia/Ho_Chi_Minh unless an offset is given)');
const maintenanceBase = {
  id,
  title: z.string().max(200).optional(),
  /** scope: every listed dimension must cover the incident; none listed = the whole province */
  communes: z.array(communeCode).optional(),
  carriers: z.array(id).optional(),
  targets: z.array(id).optional(),
};
/** A maintenance window: incidents opened inside one are flagged `maintenance` (no notifications, counted apart). */
export const maintenanceWindowSchema = z.discriminatedUnion('kind', [
  z
    .object({ ...maintenanceBase, kind: z.literal('once'), from: vnTime, to: vnTime })
    .strict()
    .refine((w) => parseVnTime(w.from) < parseVnTime(w.to), { message: 'expected `to` after `from`', path: ['to'] }),
  z
    .object({
      ...maintenanceBase,
      kind: z.literal('weekly'),
      /** days of week (Asia/Ho_Chi_Minh) on which the window starts */
      days: z.array(z.enum(WEEKDAYS)).min(1),
      /** local start time HH:MM */
      start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM'),
      durationMin: z.number().int().min(1).max(7 * 24 * 60),
    })
    .strict(),
]);
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>;
export const maintenanceListSchema = z.array(maintenanceWindowSchema).superRefine((ws, ctx) => {
  const seen = new Set<string>();
  ws.forEach((w, i) => {
    if (seen.has(w.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate id "${w.id}"` });
    seen.add(w.id);
  });
});

// ---- reports (server/reports/*) ------------------------------------------------------------------------------

export const REPORT_FORMATS = ['pdf', 'xlsx', 'csv', 'docx'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const REPORT_KINDS = ['carrier', 'dost'] as const;
/** a schedule reports on the complete calendar week (Monday–Sunday) or month before the run */
export const REPORT_SCHEDULE_PERIODS = ['week', 'month'] as const;

/** A node-cron expression (5 fields, or 6 with seconds first), evaluated in Asia/Ho_Chi_Minh; fully checked at start. */
const cronExpr = z.string().regex(/^\s*\S+(\s+\S+){4,5}\s*$/, 'expected a cron expression of 5 fields, e.g. "0 7 * * 1" (Monday 07:00)');
export const reportScheduleSchema = z
  .object({
    id,
    cron: cronExpr,
    kind: z.enum(REPORT_KINDS),
    period: z.enum(REPORT_SCHEDULE_PERIODS),
    /** carrier reports: one per configured carrier (`all`), or for these carriers */
    carriers: z.union([z.literal('all'), z.array(id).min(1)]).default('all'),
    enabled: z.boolean().default(true),
  })
  .strict();
export type ReportSchedule = z.infer<typeof reportScheduleSchema>;
/** Carriers weekly on Monday and monthly on the 1st (the period just ended); DOST on the 15th, so the province's
 *  monthly report (due before the 20th) has it with days to spare even if a run has to be retried. */
export const DEFAULT_REPORT_SCHEDULES: z.input<typeof reportScheduleSchema>[] = [
  { id: 'carrier-weekly', cron: '0 7 * * 1', kind: 'carrier', period: 'week', carriers: 'all' },
  { id: 'carrier-monthly', cron: '0 7 1 * *', kind: 'carrier', period: 'month', carriers: 'all' },
  { id: 'dost-monthly', cron: '0 7 15 * *', kind: 'dost', period: 'month' },
];
/**
 * Dead zone of a carrier (any rule): availability < 99 % is more than 7 h 18 min without service in a month
 * (1 h 41 min a week), already beyond what a leased line to a commune office is sold with; mean loss >= 2 % is
 * where TCP throughput and video calls visibly suffer (ITU-T Y.1541 classes allow 0.1 %); RTT p95 > 150 ms means
 * more than 5 % of rounds were above the live map's own "degraded" latency threshold (defaults.thresholds.rttMs).
 */
export const DEFAULT_DEAD_ZONE = { minAvailabilityPct: 99, maxLossPct: 2, maxRttP95Ms: 150 };
/**
 * The "xanh" (green) bar for a commune, to be set by the province: uptime >= 99.5 % (at most 3 h 36 min down in a
 * 30-day month), no single outage longer than 240 min (half a working day without public services), at most
 * 3 incidents in the period.
 */
export const DEFAULT_GREEN = { minUptimePct: 99.5, maxOutageMin: 240, maxIncidents: 3 };
/**
 * QCVN 34 (fixed broadband) figures as an ISP's compliance declaration prints them for the 2019 version: mean speed
 * >= 0.8 × the contracted speed, mean domestic latency <= 50 ms, availability >= 99.5 %. Not confirmed against the
 * text of QCVN 34:2022/BTTTT, which replaced it from 1 July 2023: the report says so, and each figure is configurable.
 */
export const DEFAULT_QCVN = { standard: 'QCVN 34:2022/BTTTT', minSpeedRatio: 0.8, maxLatencyMs: 50, minAvailabilityPct: 99.5 };
export const reportsSchema = z
  .object({
    /** run the schedules (reports can still be generated on demand when false) */
    enabled: z.boolean().default(true),
    /** files generated for every report */
    formats: z.array(z.enum(REPORT_FORMATS)).min(1).default([...REPORT_FORMATS]),
    schedules: z.array(reportScheduleSchema).prefault(DEFAULT_REPORT_SCHEDULES),
    deadZone: z
      .object({
        minAvailabilityPct: z.number().min(0).max(100).default(DEFAULT_DEAD_ZONE.minAvailabilityPct),
        maxLossPct: z.number().min(0).max(100).default(DEFAULT_DEAD_ZONE.maxLossPct),
        maxRttP95Ms: z.number().positive().default(DEFAULT_DEAD_ZONE.maxRttP95Ms),
      })
      .strict()
      .prefault({}),
    green: z
      .object({
        minUptimePct: z.number().min(0).max(100).default(DEFAULT_GREEN.minUptimePct),
        maxOutageMin: z.number().min(0).default(DEFAULT_GREEN.maxOutageMin),
        maxIncidents: z.number().int().min(0).default(DEFAULT_GREEN.maxIncidents),
      })
      .strict()
      .prefault({}),
    /** the carrier report's QCVN 34 section: link speed, latency and availability against the national standard */
    qcvn: z
      .object({
        /** the standard cited in the report */
        standard: z.string().trim().min(1).max(60).default(DEFAULT_QCVN.standard),
        /** a speed test meets the standard at or above this share of the uplink's contracted speed */
        minSpeedRatio: z.number().gt(0).max(1).default(DEFAULT_QCVN.minSpeedRatio),
        /** mean latency at most this (ms) */
        maxLatencyMs: z.number().positive().default(DEFAULT_QCVN.maxLatencyMs),
        /** availability at least this (%) */
        minAvailabilityPct: z.number().min(0).max(100).default(DEFAULT_QCVN.minAvailabilityPct),
      })
      .strict()
      .prefault({}),
    /**
     * The Word report (docx) as an administrative document (Decree 30/2020/NĐ-CP): who issues it, to whom, who signs.
     * The number, the date and the signature are left blank for the clerk and the signer.
     */
    document: z
      .object({
        /** governing body, first line of the header (printed in capitals); default "UBND tỉnh <province>" */
        parentBody: z.string().trim().min(1).max(120).optional(),
        /** issuing body, the bold line under it (printed in capitals; as written here inside sentences) */
        issuer: z.string().trim().min(1).max(120).default('Sở Khoa học và Công nghệ'),
        /** symbol after the number: "Số: .../BC-SKHCN" */
        symbol: z.string().trim().min(1).max(40).default('BC-SKHCN'),
        /** place before the date ("Quảng Ngãi, ngày ... tháng ... năm ..."); default the province's name */
        place: z.string().trim().min(1).max(60).optional(),
        /** "Kính gửi:" */
        addressees: z.array(z.string().trim().min(1).max(200)).min(1).default(['Ủy ban nhân dân tỉnh']),
        signer: z
          .object({
            /** signing on behalf, e.g. "KT. GIÁM ĐỐC" (then `title` is "PHÓ GIÁM ĐỐC") */
            authority: z.string().trim().min(1).max(60).optional(),
            title: z.string().trim().min(1).max(80).default('GIÁM ĐỐC'),
            /** printed under the signature; absent: left for the signer */
            name: z.string().trim().min(1).max(80).optional(),
          })
          .strict()
          .prefault({}),
        /** "Nơi nhận:" lines, without the leading dash or the closing ";"/"." */
        recipients: z.array(z.string().trim().min(1).max(200)).min(1).default(['Như trên', 'Lưu: VT']),
      })
      .strict()
      .prefault({}),
    email: z
      .object({
        /** id of an `email` channel in notifications.channels: its SMTP settings send the reports (none: no email) */
        channel: id.optional(),
        /** formats attached to the email (default: every generated format) */
        attach: z.array(z.enum(REPORT_FORMATS)).optional(),
      })
      .strict()
      .prefault({}),
    recipients: z
      .object({
        /** DOST reports */
        dost: z.array(z.email()).default([]),
        /** carrier id -> addresses; a carrier's report goes only to its own list (plus `all`) */
        carriers: z.record(id, z.array(z.email())).default({}),
        /** a copy of every report (e.g. the IOC duty desk) */
        all: z.array(z.email()).default([]),
      })
      .strict()
      .prefault({}),
    retry: z
      .object({
        /** attempts per report (generation, and separately its delivery), first one included */
        attempts: z.number().int().min(1).max(20).default(4),
        /** backoff: base * 3^(n-1), capped */
        baseDelaySec: z.number().positive().max(86_400).default(60),
        maxDelaySec: z.number().positive().max(86_400).default(1800),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type ReportsConfig = z.infer<typeof reportsSchema>;

/** Enrolment of agents with one-time codes (server/fleet/); README "Enrolling an agent". */
export const enrolmentSchema = z
  .object({
    /** a code works for this long after it is created */
    codeTtlHours: z.number().positive().max(24 * 30).default(24),
    /** letters before the random part of a code (QNG-7K4M-2PXD); default: from the province's name */
    codePrefix: z.string().regex(/^[A-Z]{2,5}$/, 'expected 2-5 capital letters').optional(),
    /** wrong codes from one address within failureWindowSec before it is refused (429) until the window passes */
    maxFailuresPerAddress: z.number().int().min(1).max(1000).default(10),
    /** wrong codes from all addresses together within failureWindowSec before every attempt is refused */
    maxFailuresTotal: z.number().int().min(1).max(100_000).default(200),
    failureWindowSec: z.number().int().min(1).max(86_400).default(900),
  })
  .strict();
export type EnrolmentConfig = z.infer<typeof enrolmentSchema>;

/** GET /metrics for Prometheus (README "Metrics"): scraped from the allowed addresses, or with the token. */
export const metricsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** client addresses or CIDR ranges that may scrape without a token (default: this machine only) */
    allow: z.array(z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], { error: 'expected an IP address or a CIDR range' })).default(['127.0.0.1', '::1']),
    /** `Authorization: Bearer <token>` from anywhere; `{ env: NAME }` keeps it out of the file */
    token: secretRefSchema.optional(),
  })
  .strict();
export type MetricsConfig = z.infer<typeof metricsSchema>;

/** The server's log (README "Logs"); LOG_LEVEL and LOG_FORMAT in the environment win. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const logSchema = z
  .object({
    level: z.enum(LOG_LEVELS).default('info'),
    /** auto: one readable line per event on a terminal, JSON lines otherwise (journald, files, log shippers) */
    format: z.enum(['auto', 'pretty', 'json']).default('auto'),
  })
  .strict();
export type LogConfig = z.infer<typeof logSchema>;

export const configSchema = z
  .object({
    notifications: notificationsSchema.prefault({}),
    reports: reportsSchema.prefault({}),
    province: z.object({
      /** 2-digit province code; loads config/provinces/<code>.json (generated from shared vn-admin data) */
      code: z.string().regex(/^\d{2}$/, 'expected a 2-digit province code'),
    }),
    server: z
      .object({
        port: z.number().int().min(0).max(65535).default(8080),
        host: z.string().default('0.0.0.0'),
        dataDir: z.string().default('./data'),
        /** operator session lifetime */
        sessionHours: z.number().positive().default(12),
        /** largest accepted agent frame, bytes */
        maxFrameBytes: z.number().int().min(1024).default(1_048_576),
        /** agents send a heartbeat this often */
        heartbeatSec: z.number().int().min(1).max(300).default(5),
        /** an agent silent longer than this makes its targets `unknown` */
        agentTimeoutSec: z.number().int().min(2).max(3600).default(20),
        /** agents whose clock differs from the server's by more than this are flagged (API, UI); ms */
        clockToleranceMs: z.number().int().min(10).default(2000),
        /** live deltas to the UI are coalesced over this window (deltas are site-sized, so a short one is cheap; it
         *  bounds the time from a result to the screen) */
        liveCoalesceMs: z.number().int().min(0).max(10_000).default(100),
        /** this server's address as agents and browsers reach it (https://ioc.example); used in the install commands
         *  shown for an enrolment. Absent: the address the request came in on. */
        publicUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
        /** the agent build offered for self-update (what npm run build:agent writes); default dist/agent of the install */
        agentReleasesDir: z.string().optional(),
        /** serve HTTPS itself: PEM files (paths relative to the working directory unless absolute) */
        tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
        /** addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; nobody else's are */
        trustProxy: z.array(z.union([z.ipv4(), z.ipv6()], { error: 'expected an IP address' })).default([]),
        /** bounds on what agents can make the server hold; every refusal is counted on /metrics */
        limits: z
          .object({
            /** open agent connections from one address: sites behind one carrier NAT share it, so it is set well
             *  above a commune's few agents and well below what exhausts the server's sockets */
            agentConnectionsPerAddress: z.number().int().min(1).default(256),
            /** batches of one agent being written at once; agents send 3 at most, so only a misbehaving one meets it */
            agentBatchesInFlight: z.number().int().min(1).default(16),
            /** results waiting for the store (about 330 bytes of heap each: the default holds ~65 MB); beyond it batches are refused, unacked, and
             *  stay in the agents' spools */
            writerQueueResults: z.number().int().min(1000).default(200_000),
            /** a service failing after a good round at one site asks every other site measuring it to confirm at once;
             *  at most once per target this often (s), so a dead or flapping portal costs the fleet one burst a minute */
            probeNowMinGapSec: z.number().int().min(1).max(3600).default(60),
          })
          .strict()
          .prefault({}),
      })
      .prefault({}),
    security: securitySchema.prefault({}),
    enrolment: enrolmentSchema.prefault({}),
    store: storeSchema.prefault({ kind: 'duckdb' }),
    metrics: metricsSchema.prefault({}),
    log: logSchema.prefault({}),
    defaults: z
      .object({
        thresholds: thresholdsSchema.prefault({}),
        icmpIntervalSec: z.number().int().min(5).default(30),
        httpIntervalSec: z.number().int().min(5).default(60),
        timeoutMs: z.number().int().min(100).default(10_000),
      })
      .prefault({}),
    carriers: z.array(carrierSchema).min(1),
    targets: z.array(targetSchema).default([]),
    agents: z.array(agentSchema).default([]),
    users: z.array(userSchema).default([]),
    apiTokens: z.array(apiTokenSchema).default([]),
    communes: z.record(communeCode, communeOverrideSchema).default({}),
    attribution: attributionSchema.prefault({}),
    maintenance: maintenanceListSchema.default([]),
    simulator: z
      .object({
        /** connect virtual agents for every commune over the real WebSocket protocol */
        enabled: z.boolean().default(false),
        /** seconds between simulated rounds (the real default is 30 s; the demo runs faster) */
        roundSec: z.number().positive().default(5),
        /** chance per commune per round that an outage starts */
        outageChance: z.number().min(0).max(1).default(0.004),
        seed: z.number().int().default(42),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    const dup = (arr: { id: string }[], path: string) => {
      const seen = new Set<string>();
      arr.forEach((x, i) => {
        if (seen.has(x.id)) ctx.addIssue({ code: 'custom', path: [path, i, 'id'], message: `duplicate id "${x.id}"` });
        seen.add(x.id);
      });
    };
    dup(c.carriers, 'carriers');
    dup(c.targets, 'targets');
    dup(c.agents, 'agents');
    // a network-wide TSLCD outage is named like a carrier's (subject `tslcd`): no carrier may take that name
    c.carriers.forEach((x, i) => {
      if ((UPLINK_NETWORKS as readonly string[]).includes(x.id))
        ctx.addIssue({ code: 'custom', path: ['carriers', i, 'id'], message: `"${x.id}" names a network, not a carrier` });
    });
    const carriers = new Set(c.carriers.map((x) => x.id));
    const targets = new Set(c.targets.map((x) => x.id));
    c.agents.forEach((a, i) => {
      a.uplinks.forEach((u, j) => {
        if (!carriers.has(u.carrier))
          ctx.addIssue({ code: 'custom', path: ['agents', i, 'uplinks', j, 'carrier'], message: `unknown carrier "${u.carrier}"` });
      });
      a.targets?.forEach((t, j) => {
        if (!targets.has(t)) ctx.addIssue({ code: 'custom', path: ['agents', i, 'targets', j], message: `unknown target "${t}"` });
      });
    });
    c.users.forEach((u, i) => {
      if (u.carrier && !carriers.has(u.carrier))
        ctx.addIssue({ code: 'custom', path: ['users', i, 'carrier'], message: `unknown carrier "${u.carrier}"` });
    });
    Object.entries(c.communes).forEach(([code, o]) => {
      if (o.carrier && !carriers.has(o.carrier))
        ctx.addIssue({ code: 'custom', path: ['communes', code, 'carrier'], message: `unknown carrier "${o.carrier}"` });
    });
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** A generated province file (config/provinces/<code>.json). */
export const provinceCommuneSchema = z.object({
  code: communeCode,
  name: z.string(),
  fullName: z.string(),
  type: z.enum(['Xã', 'Phường', 'Đặc khu']),
  /** [lon, lat] */
  label: z.tuple([z.number(), z.number()]),
  centroid: z.tuple([z.number(), z.number()]),
  areaKm2: z.number(),
  /** GeoJSON geometry (Polygon or MultiPolygon), WGS84 lon/lat */
  geometry: z.object({ type: z.enum(['Polygon', 'MultiPolygon']), coordinates: z.array(z.any()) }),
});
export const provinceFileSchema = z.object({
  code: z.string(),
  name: z.string(),
  fullName: z.string(),
  source: z.string(),
  /** [minLon, minLat, maxLon, maxLat] */
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  communes: z.array(provinceCommuneSchema),
});
export type ProvinceFile = z.infer<typeof provinceFileSchema>;
export type ProvinceCommune = z.infer<typeof provinceCommuneSchema>;
