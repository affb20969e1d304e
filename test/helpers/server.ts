// Start a real server for a test: port 0, temp data dir, a config built here (province 51, loopback targets only).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig } from '../../config/load.ts';
import type { ConfigInput, StoreConfig } from '../../config/schema.ts';
import { hashSecret } from '../../server/auth/password.ts';
import { startServer, type RunningServer } from '../../server/main.ts';

export interface TestAgent {
  id: string;
  commune: string;
  carrier?: string;
  token?: string;
  /** default: one uplink `wan1` of `carrier` */
  uplinks?: { name: string; carrier: string; gateway?: string }[];
}
export interface TestUser {
  username: string;
  password: string;
  role: 'admin' | 'operator' | 'carrier' | 'dost';
  carrier?: string;
}

export interface TestServerOptions {
  agents?: TestAgent[];
  users?: TestUser[];
  store?: StoreConfig | { kind: 'duckdb' } | { kind: 'influx'; url: string; database?: string };
  /** targets; defaults to one icmp and one http target on loopback */
  targets?: ConfigInput['targets'];
  server?: ConfigInput['server'];
  dataDir?: string;
  /** listen port (default 0 = any free port); pass the previous server's port to restart "the same" server */
  port?: number;
  /** listen address (default 127.0.0.1); e.g. a netns veth's root-side address so a namespaced agent can reach it */
  host?: string;
  /** serve the built UI (default false: API only) */
  ui?: boolean;
  /** API tokens: `Authorization: Bearer <id>.<secret>` */
  apiTokens?: { id: string; secret: string; role: TestUser['role']; carrier?: string }[];
}

export interface TestServer extends RunningServer {
  tokens: Record<string, string>;
  dataDir: string;
  /** close and delete the temp data dir */
  stop(): Promise<void>;
}

export const DEFAULT_TEST_TARGETS: NonNullable<ConfigInput['targets']> = [
  { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway' },
  { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '127.0.0.1' },
  { id: 'portal', name: 'Cổng Dịch vụ công (test)', kind: 'http', url: 'http://127.0.0.1:9/' },
];

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'ioc-test-'));
  const tokens: Record<string, string> = {};
  const agents = [];
  for (const a of o.agents ?? []) {
    const token = a.token ?? `tok-${a.id}-${Math.random().toString(36).slice(2)}`;
    tokens[a.id] = token;
    agents.push({ id: a.id, commune: a.commune, tokenHash: await hashSecret(token, { N: 1024 }), uplinks: a.uplinks ?? [{ name: 'wan1', carrier: a.carrier ?? 'vnpt', gateway: '127.0.0.1' }] });
  }
  const users = [];
  for (const u of o.users ?? []) users.push({ username: u.username, role: u.role, carrier: u.carrier, passwordHash: await hashSecret(u.password, { N: 1024 }) });
  const apiTokens = [];
  for (const t of o.apiTokens ?? []) apiTokens.push({ id: t.id, role: t.role, carrier: t.carrier, tokenHash: await hashSecret(t.secret, { N: 1024 }) });
  const config = parseConfig({
    province: { code: '51' },
    server: { host: '127.0.0.1', heartbeatSec: 5, agentTimeoutSec: 20, liveCoalesceMs: 100, ...o.server },
    store: o.store ?? { kind: 'duckdb' },
    carriers: [
      { id: 'vnpt', name: 'VNPT' },
      { id: 'viettel', name: 'Viettel' },
      { id: 'mobifone', name: 'MobiFone' },
      { id: 'fpt', name: 'FPT' },
    ],
    targets: o.targets ?? DEFAULT_TEST_TARGETS,
    agents,
    users,
    apiTokens,
    simulator: { enabled: false },
  }, 'test config');
  const s = await startServer({ config, dataDir, port: o.port ?? 0, host: o.host ?? '127.0.0.1', logger: pino({ level: process.env.TEST_LOG ?? 'silent' }), uiDir: o.ui ? undefined : null });
  return {
    ...s, tokens, dataDir,
    async stop() {
      await s.close();
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Log in over HTTP and return the session cookie header value. */
export async function login(url: string, username: string, password: string): Promise<string> {
  const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${await r.text()}`);
  const cookie = r.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0]!;
}
