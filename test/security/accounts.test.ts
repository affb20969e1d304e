// A password, role or carrier change (or a removal) of a user in the config file ends that user's sessions at the
// reload, and whatever hangs on them (live sockets, through Sessions.onEnd) at once; other users keep theirs. An API
// token changed or removed stops working even though its secret was verified and cached. Each is in the audit trail.
// The last part does it through a real server started from a config file and POST /api/admin/reload.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import type { ApiTokenConfig, UserConfig } from '../../config/schema.ts';
import { AuditLog } from '../../server/audit/log.ts';
import { requireSession, type AuthEnv } from '../../server/auth/middleware.ts';
import { hashSecret } from '../../server/auth/password.ts';
import { SESSION_COOKIE, SESSION_ENDED, Sessions } from '../../server/auth/sessions.ts';
import { Accounts } from '../../server/auth/users.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { DuckDbStore } from '../../server/stores/duckdb.ts';
import { login } from '../helpers/server.ts';

let dir = '';
let store: DuckDbStore;
let audit: AuditLog;
const h = (s: string) => hashSecret(s, { N: 1024 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-accounts-'));
  store = new DuckDbStore(join(dir, 'ioc.duckdb'));
  await store.init();
  audit = new AuditLog(store, pino({ level: 'silent' }));
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function world(users: UserConfig[], tokens: ApiTokenConfig[]) {
  const sessions = new Sessions(3_600_000);
  const accounts = new Accounts(users, tokens, sessions, audit);
  const app = new Hono<AuthEnv>().use('*', requireSession(sessions, accounts)).get('/me', (c) => c.json(c.get('user')));
  const login = (u: UserConfig) => {
    const id = sessions.create({ username: u.username, role: u.role, ...(u.carrier ? { carrier: u.carrier } : {}) });
    const ended: string[] = [];
    sessions.onEnd(id, () => ended.push(u.username)); // what closeOnEnd does for a live socket
    return { id, ended, me: () => app.request('/me', { headers: { cookie: `${SESSION_COOKIE}=${id}` } }) };
  };
  const bearer = (auth: string) => app.request('/me', { headers: { authorization: `Bearer ${auth}` } });
  return { sessions, accounts, login, bearer };
}

describe('a reload that changes users', () => {
  it('a role change ends that user’s sessions and live sockets at once; another user lives on; audited', async () => {
    const lan: UserConfig = { username: 'lan', role: 'operator', passwordHash: await h('pw-lan-1') };
    const minh: UserConfig = { username: 'minh', role: 'operator', passwordHash: await h('pw-minh-1') };
    const w = world([lan, minh], []);
    const a = w.login(lan);
    const b = w.login(minh);
    expect((await a.me()).status).toBe(200);

    const r = w.accounts.replace([{ ...lan, role: 'dost' }, minh], [], 'quantri');
    expect(r.ended).toEqual({ lan: 'role' });
    expect(a.ended).toEqual(['lan']);
    expect((await a.me()).status).toBe(401);
    expect(b.ended).toEqual([]);
    expect(await (await b.me()).json()).toMatchObject({ username: 'minh', role: 'operator' });
    expect(w.accounts.user('lan')?.role).toBe('dost');

    await audit.flush();
    const [entry] = await audit.list({ action: 'auth.sessions.ended', subject: 'lan', limit: 10 });
    expect(entry).toMatchObject({ who: 'quantri', details: { reason: 'role', before: { role: 'operator' }, after: { role: 'dost' } } });
  });

  it('a password change, a carrier change and a removal end sessions too; an unchanged user keeps them', async () => {
    const users: UserConfig[] = [
      { username: 'pw', role: 'admin', passwordHash: await h('old-pass-1') },
      { username: 'cr', role: 'carrier', carrier: 'vnpt', passwordHash: await h('pass-cr-1') },
      { username: 'gone', role: 'operator', passwordHash: await h('pass-gone-1') },
      { username: 'same', role: 'operator', passwordHash: await h('pass-same-1') },
    ];
    const w = world(users, []);
    const s = users.map((u) => w.login(u));
    const r = w.accounts.replace(
      [{ ...users[0]!, passwordHash: await h('new-pass-2') }, { ...users[1]!, carrier: 'viettel' }, users[3]!],
      [],
      'SIGHUP',
    );
    expect(r.ended).toEqual({ pw: 'password', cr: 'carrier', gone: 'removed' });
    expect(s.map((x) => x.ended.length)).toEqual([1, 1, 1, 0]);
    expect((await s[3]!.me()).status).toBe(200);
    for (const x of s.slice(0, 3)) expect((await x.me()).status).toBe(401);
    await audit.flush();
    const entries = await audit.list({ action: 'auth.sessions.ended', who: 'SIGHUP', limit: 10 });
    expect(entries.map((e) => e.subject).sort()).toEqual(['cr', 'gone', 'pw']);
    // the audit says why, never with a hash
    expect(JSON.stringify(entries)).not.toMatch(/scrypt|\$/);
  });
});

describe('a reload that changes API tokens', () => {
  it('a changed or removed token stops working although its secret was cached; a new one works', async () => {
    const grafana: ApiTokenConfig = { id: 'grafana', role: 'dost', tokenHash: await h('s3cret-grafana') };
    const noc: ApiTokenConfig = { id: 'noc', role: 'operator', tokenHash: await h('s3cret-noc') };
    const w = world([], [grafana, noc]);
    expect((await w.bearer('grafana.s3cret-grafana')).status).toBe(200);
    expect((await w.bearer('noc.s3cret-noc')).status).toBe(200); // both verified once: cached

    const r = w.accounts.replace([], [{ ...grafana, tokenHash: await h('rotated-grafana') }], 'quantri');
    expect(r.tokens).toEqual({ grafana: 'changed', noc: 'removed' });
    expect((await w.bearer('grafana.s3cret-grafana')).status).toBe(401);
    expect((await w.bearer('noc.s3cret-noc')).status).toBe(401);
    expect((await w.bearer('grafana.rotated-grafana')).status).toBe(200);
    await audit.flush();
    expect((await audit.list({ action: 'auth.token.changed', limit: 10 })).map((e) => [e.subject, e.details])).toEqual(
      expect.arrayContaining([['grafana', { reason: 'changed' }], ['noc', { reason: 'removed' }]]),
    );
  });
});

describe('a reload of the config file on a running server', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ioc-accounts-e2e-'));
  const file = join(tmp, 'ioc.yaml');
  const PW = 'mat-khau-van-hanh-7';
  let hash = '';
  let s: RunningServer;
  const sockets: WebSocket[] = [];
  const yaml = (operatorRole: string) => stringify({
    province: { code: '51' },
    server: { host: '127.0.0.1', heartbeatSec: 5, agentTimeoutSec: 20, liveCoalesceMs: 50 },
    store: { kind: 'duckdb' },
    carriers: [{ id: 'vnpt', name: 'VNPT' }],
    targets: [{ id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '127.0.0.1' }],
    users: [
      { username: 'quantri', role: 'admin', passwordHash: hash },
      { username: 'vanhanh', role: operatorRole, passwordHash: hash },
      { username: 'truc-ca', role: 'operator', passwordHash: hash },
    ],
    simulator: { enabled: false },
  });
  const live = (cookie: string) =>
    new Promise<{ ws: WebSocket; closed: Promise<number> }>((resolve, reject) => {
      const ws = new WebSocket(s.url.replace('http', 'ws') + '/ws/live', { headers: { cookie } });
      sockets.push(ws);
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.once('open', () => resolve({ ws, closed }));
      ws.once('error', reject);
    });
  const me = async (cookie: string) => (await fetch(`${s.url}/api/auth/me`, { headers: { cookie } })).status;

  beforeAll(async () => {
    hash = await h(PW);
    writeFileSync(file, yaml('operator'));
    s = await startServer({ configPath: file, dataDir: join(tmp, 'data'), port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }), uiDir: null });
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await s?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a role changed in the file and reloaded ends that operator’s session and live socket (4401); another user’s live on; audited', async () => {
    const [admin, changed, other] = await Promise.all([login(s.url, 'quantri', PW), login(s.url, 'vanhanh', PW), login(s.url, 'truc-ca', PW)]);
    const a = await live(changed);
    const b = await live(other);
    expect(await me(changed)).toBe(200);

    writeFileSync(file, yaml('dost'));
    const r = await fetch(`${s.url}/api/admin/reload`, { method: 'POST', headers: { cookie: admin } });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ changed: ['users'], restartNeeded: [] });

    expect(await a.closed).toBe(SESSION_ENDED);
    expect(await me(changed)).toBe(401);
    expect(await me(other)).toBe(200);
    expect(await me(admin)).toBe(200);
    expect(b.ws.readyState).toBe(WebSocket.OPEN);
    // the new role logs in at once
    const again = await login(s.url, 'vanhanh', PW);
    expect(await (await fetch(`${s.url}/api/auth/me`, { headers: { cookie: again } })).json()).toMatchObject({ username: 'vanhanh', role: 'dost' });

    await s.audit.flush();
    const [entry] = await s.audit.list({ action: 'auth.sessions.ended', subject: 'vanhanh', limit: 10 });
    expect(entry).toMatchObject({ who: 'quantri', details: { reason: 'role', before: { role: 'operator' }, after: { role: 'dost' } } });
  }, 30_000);
});
