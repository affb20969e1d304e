// The REST contract (config/api.ts) against the real app: the same set of routes, and real answers that parse
// with their route's response schema. Every schema must also convert to JSON Schema (the OpenAPI document).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API, errorBodySchema, splitRoute, type ApiRoute } from '../../config/api.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

const PW = 'mat-khau-hop-dong-7';
let s: TestServer;
let admin = '';
let carrier = '';

beforeAll(async () => {
  s = await startTestServer({
    agents: [{ id: 'a1', commune: '21025', carrier: 'vnpt' }],
    users: [
      { username: 'quantri', password: PW, role: 'admin' },
      { username: 'kysu-vnpt', password: PW, role: 'carrier', carrier: 'vnpt' },
    ],
  });
  admin = await login(s.url, 'quantri', PW);
  carrier = await login(s.url, 'kysu-vnpt', PW);
});
afterAll(async () => s?.stop());

async function call(key: ApiRoute, path: string, cookie: string, init: RequestInit = {}) {
  const [method] = splitRoute(key);
  const res = await fetch(`${s.url}${path}`, { ...init, method, headers: { cookie, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as unknown) };
}
/** the answer parses with the route's schema (the error names the field when it does not) */
function parses(key: ApiRoute, body: unknown) {
  const schema = API[key].response;
  if (!schema || typeof schema === 'string') throw new Error(`${key} has no JSON answer`);
  const r = schema.safeParse(body);
  expect(r.success, `${key}: ${r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`).toBe(true);
}

describe('config/api.ts', () => {
  it('names exactly the routes the app registers under /api', () => {
    const registered = new Set(
      s.app.routes
        // middleware (use/all) and the catch-all 404 are not endpoints
        .filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/'))
        .map((r) => `${r.method} ${r.path}`),
    );
    expect([...registered].sort()).toEqual(Object.keys(API).sort());
  });

  it('every schema converts to JSON Schema (requests as input, answers as output)', () => {
    for (const [key, c] of Object.entries(API)) {
      for (const part of ['params', 'query', 'body'] as const) {
        const schema = (c as { [k: string]: unknown })[part];
        if (schema) expect(() => z.toJSONSchema(schema as z.ZodType, { io: 'input' }), `${key} ${part}`).not.toThrow();
      }
      if (c.response && typeof c.response !== 'string') expect(() => z.toJSONSchema(c.response as z.ZodType, { io: 'output' }), key).not.toThrow();
    }
  });

  it('real answers parse with their response schemas', async () => {
    const health = await fetch(`${s.url}/api/health`);
    parses('GET /api/health', await health.json());
    parses('GET /api/auth/me', (await call('GET /api/auth/me', '/api/auth/me', admin)).body);
    const login = await call('POST /api/auth/login', '/api/auth/login', '', { body: JSON.stringify({ username: 'quantri', password: PW }) });
    parses('POST /api/auth/login', login.body);
    for (const key of ['GET /api/province', 'GET /api/targets', 'GET /api/carriers', 'GET /api/communes', 'GET /api/agents', 'GET /api/incidents', 'GET /api/incidents/maintenance', 'GET /api/reports', 'GET /api/notifications'] as const) {
      const r = await call(key, splitRoute(key)[1], admin);
      expect(r.status, key).toBe(200);
      parses(key, r.body);
    }
    parses('GET /api/communes/:code', (await call('GET /api/communes/:code', '/api/communes/21025', admin)).body);
    const series = await call('GET /api/series', '/api/series?commune=21025&target=dc', carrier);
    expect(series.status).toBe(200);
    parses('GET /api/series', series.body);

    const w = { id: 'hop-dong', kind: 'weekly', days: ['sun'], start: '01:00', durationMin: 30, title: 'Bảo trì định kỳ' };
    const added = await call('POST /api/incidents/maintenance', '/api/incidents/maintenance', admin, { body: JSON.stringify(w) });
    expect(added.status).toBe(201);
    parses('POST /api/incidents/maintenance', added.body);
    expect((await call('DELETE /api/incidents/maintenance/:id', '/api/incidents/maintenance/hop-dong', admin)).status).toBe(204);

    const sub = await call('POST /api/reports', '/api/reports', carrier, { body: JSON.stringify({ kind: 'carrier', period: { type: 'week' } }) });
    expect(sub.status).toBe(202);
    parses('POST /api/reports', sub.body);
    const id = (sub.body as { id: string }).id;
    parses('GET /api/reports/jobs/:id', (await call('GET /api/reports/jobs/:id', `/api/reports/jobs/${id}`, carrier)).body);
    parses('GET /api/reports/:id', (await call('GET /api/reports/:id', `/api/reports/${id}`, carrier)).body);
  });

  it('refusals are `{ error }` naming the field, and roles come from the contract', async () => {
    const refusals: [ApiRoute, string, string, RequestInit, number, RegExp][] = [
      ['GET /api/incidents', '/api/incidents?cause=fire', admin, {}, 400, /^cause: /],
      ['GET /api/series', '/api/series?commune=2102', admin, {}, 400, /^commune: /],
      ['GET /api/reports', '/api/reports?limit=0', admin, {}, 400, /^limit: /],
      ['POST /api/auth/login', '/api/auth/login', '', { body: JSON.stringify({ username: 'x' }) }, 400, /^password: /],
      ['POST /api/reports', '/api/reports', admin, { body: JSON.stringify({ kind: 'weekly', period: { type: 'month' } }) }, 400, /^kind: /],
      ['GET /api/reports/:id/:format', '/api/reports/x/odt', admin, {}, 400, /^format: /],
      ['GET /api/incidents/:id', '/api/incidents/khong-co', admin, {}, 404, /no incident "khong-co"/],
      ['POST /api/incidents/:id/notes', '/api/incidents/khong-co/notes', admin, { body: JSON.stringify({ text: 'x' }) }, 404, /no incident/],
      ['POST /api/incidents/:id/notes', '/api/incidents/khong-co/notes', carrier, { body: JSON.stringify({ text: 'x' }) }, 403, /role/],
      ['GET /api/notifications', '/api/notifications', carrier, {}, 403, /admins only/],
      ['GET /api/communes', '/api/communes', '', {}, 401, /login required/],
    ];
    for (const [key, path, who, init, status, text] of refusals) {
      const r = await call(key, path, who, init);
      expect(r.status, path).toBe(status);
      expect(errorBodySchema.parse(r.body).error, path).toMatch(text);
      if (status === 403) expect(API[key]).toHaveProperty('roles');
    }
  });
});
