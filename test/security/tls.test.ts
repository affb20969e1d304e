// HTTPS served by the server itself (server.tls): the session cookie is Secure and HSTS is sent; and the built UI
// needs nothing the Content-Security-Policy forbids (no inline script or style element, no inline handlers).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PW, startLogged, type LoggedServer } from './server.ts';

const dir = mkdtempSync(join(tmpdir(), 'ioc-tls-'));
let s: LoggedServer;

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  s = await startLogged({ server: { tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } }, { ui: true });
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** an HTTPS request that trusts the test certificate */
function https(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request(`${s.url}${path}`, { method: init.method ?? 'GET', headers: init.headers, ca: readFileSync(join(dir, 'cert.pem')) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('server.tls', () => {
  it('serves HTTPS; the session cookie is Secure and HSTS is sent', async () => {
    expect(s.url).toMatch(/^https:/);
    const r = await https('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'quantri', password: PW }) });
    expect(r.status).toBe(200);
    expect(String(r.headers['set-cookie'])).toMatch(/HttpOnly/i);
    expect(String(r.headers['set-cookie'])).toMatch(/;\s*Secure/i);
    expect(r.headers['strict-transport-security']).toMatch(/max-age=31536000/);
  });
});

describe('the built UI under the Content-Security-Policy', () => {
  const index = join(process.cwd(), 'dist', 'ui', 'index.html');
  it.skipIf(!existsSync(index))('/ is served with the policy and needs no inline script or style', async () => {
    const r = await https('/');
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toMatch(/script-src 'self'[;]/);
    const html = r.body;
    // every <script> has a src (module from this origin), no <style> element, no on* handler attributes
    expect([...html.matchAll(/<script\b([^>]*)>/g)].filter((m) => !/\bsrc=/.test(m[1]!))).toEqual([]);
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    for (const src of [...html.matchAll(/\bsrc="([^"]+)"/g)].map((m) => m[1]!)) expect(src.startsWith('/')).toBe(true);
  });
});
