// The server configuration contract. Pure zod, no Node imports: the UI imports the types too.
// Every field is documented in README ("Config reference"); `npm run gen:schema` publishes
// config/config.schema.json from this file for editors and CI linting.
import { z } from 'zod';

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

const targetBase = {
  id,
  name: z.string().min(1),
  /** every N seconds */
  intervalSec: z.number().int().min(5).max(3600).optional(),
  timeoutMs: z.number().int().min(100).max(120_000).optional(),
  thresholds: thresholdsSchema.optional(),
  /** which agents run it: all agents (default), or only the listed communes */
  communes: z.array(communeCode).optional(),
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

export const targetSchema = z.discriminatedUnion('kind', [icmpTargetSchema, httpTargetSchema, dnsTargetSchema, tcpTargetSchema]);
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
});

/** scrypt$N$r$p$saltBase64$hashBase64 (see server/auth/password.ts; `npm run hash -- <secret>` makes one) */
export const SECRET_HASH = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
const secretHash = z.string().regex(SECRET_HASH, 'expected a scrypt hash made by `npm run hash` (scrypt$N$r$p$salt$hash)');

export const agentSchema = z.object({
  id,
  commune: communeCode,
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

export const storeSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('duckdb'),
    /** file name, relative to server.dataDir unless absolute */
    file: z.string().default('ioc.duckdb'),
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
  }),
]);
export type StoreConfig = z.infer<typeof storeSchema>;

export const communeOverrideSchema = z.object({
  /** carrier of the commune's primary uplink, shown on the map before an agent reports */
  carrier: id.optional(),
  thresholds: thresholdsSchema.optional(),
});

export const configSchema = z
  .object({
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
        /** live deltas to the UI are coalesced over this window */
        liveCoalesceMs: z.number().int().min(0).max(10_000).default(500),
      })
      .prefault({}),
    store: storeSchema.prefault({ kind: 'duckdb' }),
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
