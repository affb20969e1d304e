// The OpenAPI document against the real app: every registered endpoint is in it, and real answers of the contract
// routes validate against the JSON Schemas it publishes (with a JSON Schema 2020-12 validator, not zod).
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, splitRoute, type ApiRoute } from '../../config/api.ts';
import { openApiPath } from '../../server/openapi.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

const PW = 'mat-khau-openapi-3';
let s: TestServer;
let admin = '';
type Op = { responses: Record<string, { content?: Record<string, { schema: object }> }>; parameters?: { name: string; in: string }[] };
let doc: { openapi: string; paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, object> } };

beforeAll(async () => {
  s = await startTestServer({
    agents: [{ id: 'a1', commune: '21025', carrier: 'vnpt' }],
    users: [{ username: 'quantri', password: PW, role: 'admin' }],
  });
  admin = await login(s.url, 'quantri', PW);
  const r = await fetch(`${s.url}/api/openapi.json`);
  expect(r.status).toBe(200);
  doc = (await r.json()) as typeof doc;
  API['GET /api/openapi.json'].response.parse(doc);
});
afterAll(async () => s?.stop());

describe('GET /api/openapi.json', () => {
  it('is OpenAPI 3.1 and names every endpoint the app registers', () => {
    expect(doc.openapi).toBe('3.1.0');
    const registered = s.app.routes
      // middleware, the catch-all 404, static files and the UI (its pages, or the notice that it is not built) are not endpoints
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*') && r.path !== '/')
      .map((r) => `${r.method} ${openApiPath(r.path)}`);
    expect(registered.length).toBeGreaterThan(Object.keys(API).length);
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
    expect(registered.filter((k) => !documented.has(k))).toEqual([]);
    expect([...documented].filter((k) => !registered.includes(k))).toEqual([]);
  });

  it('describes path parameters, roles and refusals', () => {
    const ack = doc.paths['/api/incidents/{id}/ack']!.post! as Op & { 'x-roles': string[]; security: unknown[] };
    expect(ack.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }));
    expect(ack['x-roles']).toEqual(['admin', 'operator']);
    expect(Object.keys(ack.responses).sort()).toEqual(['200', '401', '403', '404']);
    expect(doc.paths['/api/incidents']!.get!.parameters!.map((p) => p.name)).toContain('cause');
    expect(doc.paths['/api/health']!.get!).toHaveProperty('security', []);
  });

  it('real answers validate against the published schemas', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
    const check = async (key: ApiRoute, path: string, init: RequestInit = {}, status = 200) => {
      const [method, p] = splitRoute(key);
      const res = await fetch(`${s.url}${path}`, { ...init, method, headers: { cookie: admin, 'content-type': 'application/json' } });
      expect(res.status, path).toBe(status);
      const schema = doc.paths[openApiPath(p)]![method.toLowerCase()]!.responses[String(status)]!.content!['application/json']!.schema;
      const validate = ajv.compile(schema);
      const body = (await res.json()) as unknown;
      expect(validate(body), `${key}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      return body;
    };
    for (const key of ['GET /api/health', 'GET /api/auth/me', 'GET /api/province', 'GET /api/targets', 'GET /api/carriers', 'GET /api/communes', 'GET /api/agents', 'GET /api/incidents', 'GET /api/incidents/maintenance', 'GET /api/reports', 'GET /api/notifications'] as const) {
      await check(key, splitRoute(key)[1]);
    }
    await check('GET /api/communes/:code', '/api/communes/21025');
    await check('GET /api/series', '/api/series?commune=21025&target=dc');
    await check('POST /api/auth/login', '/api/auth/login', { body: JSON.stringify({ username: 'quantri', password: PW }) });
    const w = { id: 'openapi', kind: 'weekly', days: ['sun'], start: '01:00', durationMin: 30, title: 'Bảo trì định kỳ' };
    await check('POST /api/incidents/maintenance', '/api/incidents/maintenance', { body: JSON.stringify(w) }, 201);
    const sub = (await check('POST /api/reports', '/api/reports', { body: JSON.stringify({ kind: 'carrier', carrier: 'vnpt', period: { type: 'week' } }) }, 202)) as { id: string };
    await check('GET /api/reports/jobs/:id', `/api/reports/jobs/${sub.id}`);
    await check('GET /api/reports/:id', `/api/reports/${sub.id}`);
    // refusals are the Error component
    const err = await fetch(`${s.url}/api/incidents?cause=fire`, { headers: { cookie: admin } });
    expect(err.status).toBe(400);
    expect(ajv.compile({ $ref: 'doc#/components/schemas/Error' })(await err.json())).toBe(true);
  });

  it('renders offline as a page at /docs/api', async () => {
    const r = await fetch(`${s.url}/docs/api`);
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toContain('/api/incidents/{id}/ack');
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/); // nothing fetched from elsewhere
  });
});
