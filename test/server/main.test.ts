// The main job as a user runs it: the demo config with the simulator, and a broken config stopping the server.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { login } from '../helpers/server.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ioc-main-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('demo (npm start)', () => {
  let s: RunningServer;
  afterAll(async () => s?.close());

  it('every commune of Quảng Ngãi gets a colour within 10 s of start, from simulated agents over WebSocket', async () => {
    const t0 = Date.now();
    const cfg = loadConfig(undefined, {});
    s = await startServer({ config: cfg, port: 0, host: '127.0.0.1', dataDir: tmp(), adminPassword: 'demo-pass', logger: pino({ level: 'silent' }), uiDir: null });
    expect(s.dir.communes.size).toBe(96);
    let known = 0;
    while (Date.now() - t0 < 10_000) {
      known = s.live.all().filter((c) => c.status !== 'unknown').length;
      if (known === 96) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(known).toBe(96);
    console.log(`demo: all 96 communes coloured ${Date.now() - t0} ms after start`);
    const cookie = await login(s.url, 'admin', 'demo-pass');
    const agents = await (await fetch(`${s.url}/api/agents`, { headers: { cookie } })).json();
    expect(agents.filter((a: { connected: boolean }) => a.connected)).toHaveLength(96);
    expect(s.fleet!.stats.acked).toBeGreaterThan(0);
  });

  it('the first start generates an admin password, stored only as a hash', async () => {
    const dataDir = tmp();
    const s2 = await startServer({ config: { ...loadConfig(undefined, {}), simulator: { enabled: false, roundSec: 5, outageChance: 0, seed: 1 } }, port: 0, host: '127.0.0.1', dataDir, logger: pino({ level: 'silent' }), uiDir: null });
    try {
      const gen = s2.generatedAdmin!;
      expect(gen.password.length).toBeGreaterThanOrEqual(12);
      expect(readFileSync(join(dataDir, 'admin.json'), 'utf8')).not.toContain(gen.password);
      await login(s2.url, 'admin', gen.password);
    } finally {
      await s2.close();
    }
  });
});

describe('a broken config stops the server', () => {
  it('exits 2 with a message naming the field', () => {
    const dir = tmp();
    const good = readFileSync(join(import.meta.dirname, '../../config/default.yaml'), 'utf8');
    const bad = good.replace('url: https://dichvucong.gov.vn/', 'url: dichvucong');
    expect(bad).not.toBe(good);
    writeFileSync(join(dir, 'bad.yaml'), bad);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/main.ts', '--config', join(dir, 'bad.yaml')], {
      cwd: join(import.meta.dirname, '../..'), encoding: 'utf8', timeout: 60_000, env: { ...process.env, IOC_DATA_DIR: dir, PORT: '0' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/targets\[2\]\.url: expected an http\(s\) URL/);
  });
});
