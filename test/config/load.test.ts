// A broken config stops the server with messages that name the field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyEnv, ConfigError, loadConfig, loadProvince, parseConfig } from '../../config/load.ts';

const base = () => ({
  province: { code: '51' },
  carriers: [{ id: 'vnpt', name: 'VNPT' }],
  targets: [
    { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway' },
    { id: 'dc', name: 'DC', kind: 'icmp', host: '127.0.0.1' },
    { id: 'p1', name: 'Portal', kind: 'http', url: 'http://127.0.0.1:1/' },
    { id: 'p2', name: 'Portal 2', kind: 'http', url: 'http://127.0.0.1:2/' },
  ] as Record<string, unknown>[],
  agents: [] as Record<string, unknown>[],
});
const HASH = 'scrypt$1024$8$1$c2FsdA==$aGFzaA==';

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('config validation', () => {
  it('accepts a minimal config and fills defaults', () => {
    const c = parseConfig(base());
    expect(c.server.port).toBe(8080);
    expect(c.store).toMatchObject({ kind: 'duckdb', file: 'ioc.duckdb', rawRetentionDays: 30 });
    expect(c.server.agentTimeoutSec).toBe(20);
  });

  it.each([
    ['a bad URL', (c: ReturnType<typeof base>) => { c.targets[3]!.url = 'not a url'; }, /^targets\[3\]\.url: expected an http\(s\) URL/],
    ['an unknown target kind', (c: ReturnType<typeof base>) => { c.targets[1]!.kind = 'smtp'; }, /^targets\[1\]\.kind: /],
    ['a 4-digit commune code', (c: ReturnType<typeof base>) => { c.agents.push({ id: 'a', commune: '2102', tokenHash: HASH, uplinks: [{ name: 'wan1', carrier: 'vnpt' }] }); }, /^agents\[0\]\.commune: expected a 5-digit/],
    ['an unknown carrier on an uplink', (c: ReturnType<typeof base>) => { c.agents.push({ id: 'a', commune: '21025', tokenHash: HASH, uplinks: [{ name: 'wan1', carrier: 'vnptt' }] }); }, /^agents\[0\]\.uplinks\[0\]\.carrier: unknown carrier "vnptt"/],
    ['a plain-text token', (c: ReturnType<typeof base>) => { c.agents.push({ id: 'a', commune: '21025', tokenHash: 'secret', uplinks: [{ name: 'wan1', carrier: 'vnpt' }] }); }, /^agents\[0\]\.tokenHash: expected a scrypt hash/],
    ['duplicate target ids', (c: ReturnType<typeof base>) => { c.targets[2]!.id = 'dc'; }, /^targets\[2\]\.id: duplicate id "dc"/],
    ['a negative threshold', (c: ReturnType<typeof base>) => { c.targets[0]!.thresholds = { rttMs: -5 }; }, /^targets\[0\]\.thresholds\.rttMs: /],
  ])('rejects %s with a path-qualified message', (_n, mutate, re) => {
    const c = base();
    mutate(c);
    const p = problems(c);
    expect(p.length).toBeGreaterThan(0);
    expect(p.some((x) => re.test(x))).toBe(true);
  });

  it('rejects an agent in a commune of another province', () => {
    const c = parseConfig({ ...base(), agents: [{ id: 'a', commune: '00004', tokenHash: HASH, uplinks: [{ name: 'wan1', carrier: 'vnpt' }] }] });
    expect(() => loadProvince(c)).toThrow(/agents\[0\]\.commune: "00004" is not a commune of province 51/);
  });

  it('reports YAML syntax errors and missing files with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ioc-cfg-'));
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'province: {code: "51"\ncarriers: [');
    expect(() => loadConfig(f, {})).toThrow(/bad\.yaml[\s\S]*YAML/);
    expect(() => loadConfig(join(dir, 'missing.yaml'), {})).toThrow(/file not found/);
  });

  it('env overrides port, data dir, simulator and store', () => {
    const raw = applyEnv(base(), { PORT: '9090', IOC_DATA_DIR: '/tmp/x', IOC_SIMULATOR: '0', IOC_INFLUX_URL: 'http://127.0.0.1:8086', IOC_INFLUX_DB: 'qn' });
    const c = parseConfig(raw);
    expect(c.server.port).toBe(9090);
    expect(c.server.dataDir).toBe('/tmp/x');
    expect(c.simulator.enabled).toBe(false);
    expect(c.store).toMatchObject({ kind: 'influx', url: 'http://127.0.0.1:8086', database: 'qn' });
  });
});
