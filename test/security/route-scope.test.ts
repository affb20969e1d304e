// Every route of config/api.ts has a scope decision here, and is walked as each role: anonymous callers get 401
// unless the route is public, roles outside a route's `roles` get 403, and a carrier account never reads another
// carrier's data. A new route without a decision fails this test: decide who may see what, then add it below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, splitRoute, type ApiRoute } from '../../config/api.ts';
import { connectAgent, icmpOk } from '../helpers/agent-client.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

type Decision =
  /** no login; the same answer for everyone */
  | 'public'
  /** any login; reference data or the caller's own session, the same whatever the carrier */
  | 'global'
  /** any login; a carrier account gets only its communes, uplinks, incidents, reports */
  | 'carrier'
  /** only the roles the contract names (others 403) */
  | 'roles'
  /** an agent's own token, not a person */
  | 'agent';

const DECISIONS: Record<ApiRoute, Decision> = {
  'GET /api/health': 'public',
  'GET /api/openapi.json': 'public',
  'GET /api/public/status': 'public',
  'POST /api/auth/login': 'public',
  'POST /api/auth/logout': 'public',
  'POST /api/enroll': 'public',
  'GET /api/auth/me': 'global',
  'GET /api/province': 'global',
  'GET /api/targets': 'global',
  'GET /api/carriers': 'global',
  'GET /api/agent/releases': 'global',
  'GET /api/communes': 'carrier',
  'GET /api/communes/:code': 'carrier',
  'GET /api/agents': 'carrier',
  'GET /api/series': 'carrier',
  'GET /api/incidents/maintenance': 'carrier',
  'GET /api/incidents': 'carrier',
  'GET /api/incidents/:id': 'carrier',
  'GET /api/reports': 'carrier',
  'POST /api/reports': 'carrier',
  'GET /api/reports/jobs/:id': 'carrier',
  'GET /api/reports/:id': 'carrier',
  'GET /api/reports/:id/:format': 'carrier',
  'PATCH /api/agents/:id': 'roles',
  'POST /api/agents/:id/revoke': 'roles',
  'POST /api/agents/:id/rotate': 'roles',
  'PUT /api/agent/updates': 'roles',
  'GET /api/enrollments': 'roles',
  'POST /api/enrollments': 'roles',
  'DELETE /api/enrollments/:id': 'roles',
  'GET /api/audit': 'roles',
  'GET /api/audit/csv': 'roles',
  'POST /api/admin/reload': 'roles',
  'POST /api/incidents/maintenance': 'roles',
  'DELETE /api/incidents/maintenance/:id': 'roles',
  'POST /api/incidents/:id/ack': 'roles',
  'POST /api/incidents/:id/notes': 'roles',
  'GET /api/notifications': 'roles',
  'GET /api/agent/releases/:file': 'agent',
  'GET /api/agent/speedtest/down': 'agent',
  'POST /api/agent/speedtest/up': 'agent',
};

const X = '21025'; // Viettel only
const Y = '21548'; // VNPT only
const PW = 'mat-khau-vai-tro-3';
const ROLES = ['admin', 'operator', 'dost', 'carrier'] as const;
let s: TestServer;
const cookies: Record<string, string> = {};

beforeAll(async () => {
  s = await startTestServer({
    agents: [{ id: 'ax', commune: X, carrier: 'viettel' }, { id: 'ay', commune: Y, carrier: 'vnpt' }],
    users: [
      { username: 'admin', password: PW, role: 'admin' },
      { username: 'operator', password: PW, role: 'operator' },
      { username: 'dost', password: PW, role: 'dost' },
      { username: 'carrier', password: PW, role: 'carrier', carrier: 'vnpt' },
    ],
  });
  for (const id of ['ax', 'ay']) {
    const c = await connectAgent(s.url, id, s.tokens[id]!);
    await c.hello();
    await c.batch([icmpOk('dc', Date.now())]);
    c.close();
  }
  for (const r of ROLES) cookies[r] = await login(s.url, r, PW);
  const w = { id: 'viettel-thay-cap', kind: 'once', from: '2030-01-01T00:00', to: '2030-01-01T02:00', title: 'Viettel thay cáp', carriers: ['viettel'] };
  const added = await fetch(`${s.url}/api/incidents/maintenance`, { method: 'POST', headers: { cookie: cookies.admin!, 'content-type': 'application/json' }, body: JSON.stringify(w) });
  expect(added.status).toBe(201);
});
afterAll(async () => s?.stop());

/** a concrete path for a route: parameters filled with a VNPT commune or an id nobody has */
function pathOf(key: ApiRoute): string {
  const [, path] = splitRoute(key);
  const filled = path.replace(':code', Y).replace(':format', 'csv').replace(/:[a-z]+/g, 'khong-co');
  return key === 'GET /api/series' ? `${filled}?commune=${Y}&target=dc` : filled;
}

let unknownAgents = 0;
async function call(key: ApiRoute, cookie?: string | undefined) {
  const [method] = splitRoute(key);
  // logging out would end the session the other routes are walked with
  if (key === 'POST /api/auth/logout') cookie = undefined;
  // each agent-route call names another unknown agent: one id's few allowed failures would throttle it to 429
  const agent: Record<string, string> = DECISIONS[key] === 'agent' ? { 'x-agent-id': `unknown-${unknownAgents++}` } : {};
  const r = await fetch(`${s.url}${pathOf(key)}`, {
    method,
    headers: { ...(cookie ? { cookie } : {}), ...agent, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
    ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
  });
  return { status: r.status, text: await r.text() };
}

describe('every route has a scope decision', () => {
  it('no route without one, none left over', () => {
    const missing = Object.keys(API).filter((k) => !(k in DECISIONS));
    expect(missing, 'routes without a scope decision: add them to DECISIONS in test/security/route-scope.test.ts').toEqual([]);
    expect(Object.keys(DECISIONS).filter((k) => !(k in API))).toEqual([]);
  });

  it('the decision agrees with the contract', () => {
    for (const [key, d] of Object.entries(DECISIONS) as [ApiRoute, Decision][]) {
      const c = API[key] as { auth: string; roles?: readonly string[] };
      expect(d === 'roles', `${key}: "roles" exactly when the contract names roles`).toBe(!!c.roles);
      expect(d === 'public', `${key}: "public" exactly when the contract says auth none`).toBe(c.auth === 'none');
      expect(d === 'agent', `${key}: "agent" exactly when the contract says auth agent`).toBe(c.auth === 'agent');
    }
  });
});

describe.each(Object.keys(DECISIONS) as ApiRoute[])('%s', (key) => {
  const d = DECISIONS[key];
  const roles = (API[key] as { roles?: readonly string[] }).roles;

  it('anonymous: 401 unless public', async () => {
    const r = await call(key);
    if (d === 'public') expect(r.status, r.text).not.toBe(401);
    else expect(r.status, r.text).toBe(401);
  });

  it.each(ROLES)('as %s: allowed or refused as decided; never a server error; a carrier reads no other carrier', async (role) => {
    const r = await call(key, cookies[role]);
    expect(r.status, r.text).toBeLessThan(500);
    if (d === 'roles') {
      if (roles!.includes(role)) expect(r.status, r.text).not.toBe(403);
      else expect(r.status, r.text).toBe(403);
    } else if (d === 'agent') expect(r.status).toBe(401);
    else expect([401, 403], r.text).not.toContain(r.status);
    if (role === 'carrier' && d !== 'global' && d !== 'public') {
      expect(r.text).not.toContain('viettel');
      expect(r.text).not.toContain(X);
    }
  });
});
