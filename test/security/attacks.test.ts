// Issue 10's findings, each tried as an attacker would against a real server: guessing, forged cross-site requests,
// floods, invented targets, sockets that outlive their session, missing headers, scope leaks, and the audit trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectAgent, icmpOk } from '../helpers/agent-client.ts';
import { AGENT, PW, startLogged, type LoggedServer } from './server.ts';

let s: LoggedServer;
const WINDOW = 2; // seconds: short enough to see the window pass

beforeAll(async () => {
  s = await startLogged({ security: { maxFailuresPerAccount: 5, maxFailuresPerAddress: 50, failureWindowSec: WINDOW, maxReportRequests: 3 } });
});
afterAll(async () => s?.stop());

const login = (username: string, password: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ username, password }) });
async function cookieOf(username: string): Promise<string> {
  const r = await login(username, PW);
  expect(r.status).toBe(200);
  return r.headers.get('set-cookie')!.split(';')[0]!;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('guessing', () => {
  it('the right password after too many wrong ones is refused (429 + Retry-After) until the window passes', async () => {
    for (let i = 0; i < 5; i++) expect((await login('vanhanh', `sai-${i}`)).status).toBe(401);
    const refused = await login('vanhanh', PW);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(WINDOW);
    // another account from the same address is not locked by this one
    expect((await login('sokhcn', PW)).status).toBe(200);
    await sleep(WINDOW * 1000 + 100);
    expect((await login('vanhanh', PW)).status).toBe(200);
  });

  it('failures are counted and logged with account and source, never the secret', async () => {
    await login('quantri', 'mot-mat-khau-doan-thu');
    const line = s.lines.find((l) => l.msg === 'authentication failed' && l.account === 'quantri');
    expect(line).toMatchObject({ credential: 'password', source: '127.0.0.1' });
    expect(JSON.stringify(s.lines)).not.toContain('mot-mat-khau-doan-thu');
    const h = await (await fetch(`${s.url}/api/health`)).json();
    expect(h.auth.failures).toBeGreaterThanOrEqual(6);
    expect(h.auth.throttled).toBeGreaterThanOrEqual(1);
  });

  it('API tokens and agent tokens are throttled the same way', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${s.url}/api/communes`, { headers: { authorization: `Bearer grafana.sai-${i}` } })).status).toBe(401);
    const r = await fetch(`${s.url}/api/communes`, { headers: { authorization: 'Bearer grafana.s3cret-grafana' } });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBeTruthy();
    for (let i = 0; i < 5; i++) await expect(connectAgent(s.url, AGENT.id, `sai-${i}`)).rejects.toThrow(/HTTP 401/);
    await expect(connectAgent(s.url, AGENT.id, s.token)).rejects.toThrow(/HTTP 429/);
    await sleep(WINDOW * 1000 + 100);
    expect((await fetch(`${s.url}/api/communes`, { headers: { authorization: 'Bearer grafana.s3cret-grafana' } })).status).toBe(200);
  });
});

describe('forged requests from another site', () => {
  let op = '';
  beforeAll(async () => {
    op = await cookieOf('vanhanh');
  });
  const w = { id: 'bao-tri-gia', kind: 'once', from: '2030-01-01T00:00', to: '2030-01-01T02:00', title: 'Giả mạo' };

  it('a cross-origin POST with the operator cookie is refused; the same origin is not', async () => {
    const forged = await fetch(`${s.url}/api/incidents/maintenance`, {
      method: 'POST', headers: { cookie: op, origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify(w),
    });
    expect(forged.status).toBe(403);
    // the classic form post: text/plain needs no preflight
    const form = await fetch(`${s.url}/api/incidents/maintenance`, { method: 'POST', headers: { cookie: op, 'content-type': 'text/plain' }, body: JSON.stringify(w) });
    expect(form.status).toBe(415);
    expect((await (await fetch(`${s.url}/api/incidents/maintenance`, { headers: { cookie: op } })).json()).map((x: { id: string }) => x.id)).not.toContain(w.id);
    const own = await fetch(`${s.url}/api/incidents/maintenance`, {
      method: 'POST', headers: { cookie: op, origin: s.url, 'content-type': 'application/json' }, body: JSON.stringify(w),
    });
    expect(own.status).toBe(201);
    expect((await fetch(`${s.url}/api/incidents/maintenance/${w.id}`, { method: 'DELETE', headers: { cookie: op, origin: s.url } })).status).toBe(204);
  });

  it('the live feed refuses a cross-origin upgrade', async () => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws/live`, { headers: { cookie: op, origin: 'https://evil.example' } });
    const status = await new Promise<number>((res) => {
      ws.once('unexpected-response', (_q, r) => res(r.statusCode ?? 0));
      ws.once('open', () => res(101));
    });
    expect(status).toBe(403);
  });
});

describe('floods and invented data', () => {
  it('a 40 MB body to the login route is refused with 413 without being read', async () => {
    const t0 = Date.now();
    const r = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(40 * 1024 * 1024) }).catch((e: unknown) => e);
    // the server answers before the upload ends; a client may see the answer or a reset of the rest of its upload
    if (r instanceof Response) expect(r.status).toBe(413);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await fetch(`${s.url}/api/health`)).status).toBe(200);
  });

  it('results for targets or uplinks never planned are refused, acked, counted: no live slot, nothing stored', async () => {
    const c = await connectAgent(s.url, AGENT.id, s.token);
    await c.hello();
    const now = Date.now();
    const invented = Array.from({ length: 2000 }, (_, i) => icmpOk(`bia-${i}`, now));
    const errors = c.received.length;
    const ack = await c.batch([...invented, icmpOk('dc', now, 9, 'wan-gia'), icmpOk('dc', now, 12)]);
    expect(ack).toMatchObject({ type: 'ack', accepted: 1 });
    expect(c.received.slice(errors).find((m) => m.type === 'error')).toMatchObject({ code: 'bad_frame', message: expect.stringContaining('not in this agent') });
    const commune = s.live.commune(AGENT.commune);
    expect(commune.targets.map((t) => t.id)).toContain('dc');
    expect(JSON.stringify(s.live.all())).not.toContain('bia-');
    expect(JSON.stringify(commune)).not.toContain('wan-gia');
    const stored = await s.store.queryRaw({ measurement: 'icmp', from: now - 1000, to: now + 1000 });
    expect(stored.map((p) => p.tags.target)).toEqual(['dc']);
    expect(s.registry.counters.unplannedResults).toBe(2001);
    c.close();
  });

  it('report requests are limited per account (429 + Retry-After); another account is not affected', async () => {
    const post = async (cookie: string) =>
      (await fetch(`${s.url}/api/reports`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' })).status;
    const dost = await cookieOf('sokhcn');
    for (let i = 0; i < 3; i++) expect(await post(dost)).toBe(400);
    const r = await fetch(`${s.url}/api/reports`, { method: 'POST', headers: { cookie: dost, 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await post(await cookieOf('vanhanh'))).toBe(400);
  });
});

describe('sessions', () => {
  it('logging out closes that session’s live sockets at once', async () => {
    const cookie = await cookieOf('sokhcn');
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws/live`, { headers: { cookie, origin: s.url } });
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r) => ws.once('message', r));
    const t0 = Date.now();
    expect((await fetch(`${s.url}/api/auth/logout`, { method: 'POST', headers: { cookie, origin: s.url } })).status).toBe(204);
    expect(await closed).toBe(4401);
    expect(Date.now() - t0).toBeLessThan(1000);
    // and it cannot come back with the old cookie
    expect((await fetch(`${s.url}/api/auth/me`, { headers: { cookie } })).status).toBe(401);
  });

  it('the cookie is Secure and HSTS is sent when a trusted proxy says the browser used HTTPS', async () => {
    const p = await startLogged({ server: { trustProxy: ['127.0.0.1'] } });
    try {
      const r = await fetch(`${p.url}/api/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7' }, body: JSON.stringify({ username: 'quantri', password: PW }),
      });
      expect(r.status).toBe(200);
      expect(r.headers.get('set-cookie')).toMatch(/;\s*Secure/i);
      expect(r.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      // the client's address, not the proxy's, is what the audit trail names
      const audit = await p.audit.list({ limit: 10, action: 'auth.login' });
      expect(audit[0]).toMatchObject({ who: 'quantri', source: '198.51.100.7' });
      // over plain HTTP (no trusted proxy saying otherwise): no Secure, no HSTS
      const plain = await login('quantri', PW);
      expect(plain.headers.get('set-cookie')).not.toMatch(/Secure/i);
      expect(plain.headers.get('strict-transport-security')).toBeNull();
      // a health check from another machine (through the proxy) learns only ok/degraded
      expect(await (await fetch(`${p.url}/api/health`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).json()).toEqual({ status: 'ok' });
    } finally {
      await p.stop();
    }
  });
});

describe('headers', () => {
  it('every answer carries the security headers, an API route and an error alike', async () => {
    for (const path of ['/api/health', '/api/communes', '/api/nothing-here']) {
      const r = await fetch(`${s.url}${path}`);
      expect(r.headers.get('content-security-policy'), path).toMatch(/script-src 'self'/);
      expect(r.headers.get('content-security-policy'), path).toMatch(/frame-ancestors 'none'/);
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(r.headers.get('referrer-policy'), path).toBe('same-origin');
    }
  });
});

describe('scope', () => {
  it('a carrier user sees only the maintenance windows of its communes or uplinks', async () => {
    const admin = await cookieOf('quantri');
    const add = (w: object) =>
      fetch(`${s.url}/api/incidents/maintenance`, { method: 'POST', headers: { cookie: admin, 'content-type': 'application/json' }, body: JSON.stringify(w) });
    const base = { kind: 'once', from: '2030-01-01T00:00', to: '2030-01-01T02:00' };
    expect((await add({ ...base, id: 'viettel-cap', title: 'Viettel thay cáp', carriers: ['viettel'] })).status).toBe(201);
    expect((await add({ ...base, id: 'vnpt-cap', title: 'VNPT thay cáp', carriers: ['vnpt'] })).status).toBe(201);
    const vnpt = await cookieOf('kysu-vnpt');
    const ids = (await (await fetch(`${s.url}/api/incidents/maintenance`, { headers: { cookie: vnpt } })).json()).map((w: { id: string }) => w.id);
    expect(ids).toContain('vnpt-cap');
    expect(ids).not.toContain('viettel-cap');
    // and the province-wide counters of /api/health are not theirs to read
    expect(Object.keys(await (await fetch(`${s.url}/api/health`, { headers: { cookie: vnpt } })).json())).toEqual(['status']);
  });
});

describe('audit trail', () => {
  it('logins, failed logins, maintenance, enrolments and report requests are recorded with who, where and what', async () => {
    const admin = await cookieOf('quantri');
    await login('quantri', 'sai-mot-lan');
    const post = (path: string, body: unknown) => fetch(`${s.url}${path}`, { method: 'POST', headers: { cookie: admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const w = { id: 'ghi-nhat-ky', kind: 'weekly', days: ['sun'], start: '01:00', durationMin: 30, title: 'Bảo trì định kỳ' };
    expect((await post('/api/incidents/maintenance', w)).status).toBe(201);
    expect((await fetch(`${s.url}/api/incidents/maintenance/${w.id}`, { method: 'DELETE', headers: { cookie: admin } })).status).toBe(204);
    const enr = await post('/api/enrollments', { commune: '21025', site: { name: 'Trường THCS Cẩm Thành', kind: 'school' }, uplinks: [{ name: 'wan1', carrier: 'vnpt' }] });
    expect(enr.status).toBe(201);
    expect((await post('/api/reports', { kind: 'dost', period: { type: 'week' } })).status).toBe(202);

    const list = await (await fetch(`${s.url}/api/audit?limit=200`, { headers: { cookie: admin } })).json();
    const find = (action: string) => list.find((e: { action: string }) => e.action === action);
    expect(find('auth.login')).toMatchObject({ who: 'quantri', source: '127.0.0.1' });
    expect(find('auth.login.failed')).toMatchObject({ who: 'quantri', subject: 'quantri' });
    expect(JSON.stringify(list)).not.toContain('sai-mot-lan');
    expect(find('maintenance.add')).toMatchObject({ who: 'quantri', subject: w.id, details: { after: { title: 'Bảo trì định kỳ' } } });
    expect(find('maintenance.remove')).toMatchObject({ who: 'quantri', subject: w.id });
    expect(find('enrolment.create')).toMatchObject({ who: 'quantri', source: '127.0.0.1' });
    expect(find('report.request')).toMatchObject({ who: 'quantri', subject: 'dost' });

    // DOST reads it (filters and CSV), an operator does not, nobody edits it
    const dost = await cookieOf('sokhcn');
    const logins = await (await fetch(`${s.url}/api/audit?action=auth.&who=quantri`, { headers: { cookie: dost } })).json();
    expect(logins.length).toBeGreaterThanOrEqual(2);
    expect(logins.every((e: { action: string; who: string }) => e.action.startsWith('auth.') && e.who === 'quantri')).toBe(true);
    const csv = await fetch(`${s.url}/api/audit/csv?action=maintenance.add`, { headers: { cookie: dost } });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const bytes = Buffer.from(await csv.arrayBuffer());
    // the BOM lets Excel read the Vietnamese names as UTF-8
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    expect(text.split('\r\n')[0]).toBe('time,who,source,action,subject,details');
    expect(text).toContain('Bảo trì định kỳ');
    expect((await fetch(`${s.url}/api/audit`, { headers: { cookie: await cookieOf('vanhanh') } })).status).toBe(403);
    expect((await fetch(`${s.url}/api/audit`, { method: 'DELETE', headers: { cookie: admin } })).status).toBe(404);
  });
});
