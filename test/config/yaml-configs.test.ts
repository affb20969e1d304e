// Every shipped YAML config parses, validates against the contract with zero issues, and only names
// communes of its own province. No hash may match a secret printed anywhere (no working example credentials).
import { scryptSync, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { configSchema, provinceFileSchema } from '../../config/schema.ts';
import { EXAMPLE_PASSWORDS } from '../../server/auth/secrets.ts';

const CONFIG = fileURLToPath(new URL('../../config', import.meta.url));
const files = [
  ...readdirSync(CONFIG).filter((f) => /\.ya?ml$/.test(f)),
  ...readdirSync(path.join(CONFIG, 'deployments'))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `deployments/${f}`),
];

function verify(secret: string, stored: string): boolean {
  const [, n, r, p, salt, hash] = stored.split('$') as [string, string, string, string, string, string];
  const want = Buffer.from(hash, 'base64');
  const N = Number(n), R = Number(r);
  const got = scryptSync(secret, Buffer.from(salt, 'base64'), want.length, { N, r: R, p: Number(p), maxmem: 256 * N * R });
  return timingSafeEqual(got, want);
}

it('finds default.yaml and both deployments', () => {
  expect(files).toEqual(expect.arrayContaining(['default.yaml', 'deployments/quang-ngai.yaml', 'deployments/quang-tri.yaml']));
});

describe.each(files)('config/%s', (file) => {
  const text = readFileSync(path.join(CONFIG, file), 'utf8');
  const doc = parseDocument(text, { prettyErrors: true });
  const parsed = configSchema.safeParse(doc.toJS());

  it('is YAML without errors or warnings', () => {
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    expect(doc.warnings.map((e) => e.message)).toEqual([]);
  });

  it('validates against configSchema with zero issues', () => {
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
  });

  it('names only communes of its province', () => {
    const cfg = parsed.success ? parsed.data : expect.unreachable('invalid config');
    const province = provinceFileSchema.parse(JSON.parse(readFileSync(path.join(CONFIG, 'provinces', `${cfg.province.code}.json`), 'utf8')));
    const codes = new Set(province.communes.map((c) => c.code));
    const named = [...Object.keys(cfg.communes), ...cfg.agents.map((a) => a.commune), ...cfg.targets.flatMap((t) => t.communes ?? [])];
    expect(named.filter((c) => !codes.has(c))).toEqual([]);
  });

  // Issue 10: shipped files carried hashes of secrets printed in their comments, i.e. working credentials.
  it('carries no working credential: no hash matches a secret printed in it or a known example', () => {
    const cfg = parsed.success ? parsed.data : expect.unreachable('invalid config');
    const printed = [...new Set(text.match(/change-me-[a-z0-9-]+/g) ?? [])];
    const known = [...printed, ...EXAMPLE_PASSWORDS, 'change-me-agent-qn-21025', 'change-me-agent-qt-19333'];
    const hashes = [...cfg.users.map((u) => u.passwordHash), ...cfg.agents.map((a) => a.tokenHash), ...cfg.apiTokens.map((t) => t.tokenHash)];
    for (const h of hashes) expect(known.filter((s) => verify(s, h)), `a known secret matches ${h}`).toEqual([]);
    expect(JSON.stringify(cfg.store)).not.toMatch(/change-me/);
  });
});

describe('intent of each file', () => {
  const load = (file: string) => configSchema.parse(parseDocument(readFileSync(path.join(CONFIG, file), 'utf8')).toJS());

  it('default.yaml is the Quảng Ngãi demo: simulator on, duckdb, no agents or users, the four carriers', () => {
    const c = load('default.yaml');
    expect(c.province.code).toBe('51');
    expect(c.simulator.enabled).toBe(true);
    expect(c.store.kind).toBe('duckdb');
    expect(c.agents).toEqual([]);
    expect(c.users).toEqual([]);
    expect(c.carriers.map((x) => x.id)).toEqual(['vnpt', 'viettel', 'mobifone', 'fpt']);
    expect(new Set(c.targets.map((t) => t.kind))).toEqual(new Set(['icmp', 'http', 'dns']));
    expect(c.targets.find((t) => t.kind === 'icmp' && t.host === 'gateway')).toBeDefined();
  });

  it.each([
    ['deployments/quang-ngai.yaml', '51', 'https://dichvucong.quangngai.gov.vn/'],
    ['deployments/quang-tri.yaml', '44', 'https://dichvucong.quangtri.gov.vn/'],
  ])('%s is production-shaped', (file, code, portal) => {
    const c = load(file);
    expect(c.province.code).toBe(code);
    expect(c.simulator.enabled).toBe(false);
    const urls = c.targets.flatMap((t) => (t.kind === 'http' ? [t.url] : []));
    expect(urls).toEqual(expect.arrayContaining(['https://dichvucong.gov.vn/', portal]));
    expect(c.users.map((u) => u.role).sort()).toEqual(['admin', 'carrier', 'dost', 'operator']);
    expect(c.users.find((u) => u.role === 'carrier')?.carrier).toBe('vnpt');
    expect(c.agents[0]?.uplinks.map((u) => u.carrier).sort()).toEqual(['fpt', 'mobifone', 'viettel', 'vnpt']);
    expect(Object.keys(c.communes).length).toBeGreaterThan(0);
  });
});
