// The agent's shipped files (npm run build:agent): each runs on its own, outside the repository, and the bundled
// agent and the Linux executable measure and deliver to a real server. The Windows executable runs under Wine
// (--version, --help) when wine64 is installed; that is all that is checked of it here.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { WINE, buildAgent } from '../helpers/agent-build.ts';

const run = promisify(execFile);

let dist = '';
let outside = ''; // an empty folder: no node_modules, no package.json above it that could help
const kids: ChildProcess[] = [];

beforeAll(async () => {
  dist = await buildAgent('ioc-agent-dist-', 'all');
  outside = mkdtempSync(join(tmpdir(), 'ioc-agent-run-'));
  copyFileSync(join(dist, 'ioc-agent.mjs'), join(outside, 'ioc-agent.mjs'));
}, 300_000);

afterAll(() => {
  for (const k of kids) k.kill('SIGKILL');
  for (const d of [dist, outside]) if (d) rmSync(d, { recursive: true, force: true });
});

/** how to start each artefact from the empty folder */
const ARTEFACTS: Record<string, () => [string, string[]]> = {
  'ioc-agent.mjs': () => [process.execPath, [join(outside, 'ioc-agent.mjs')]],
  'ioc-agent-linux-x64': () => [join(dist, 'ioc-agent-linux-x64'), []],
};

describe('agent artefacts', () => {
  it('SHA256SUMS names every artefact with its hash', () => {
    const lines = readFileSync(join(dist, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      const [hash, name] = line.split(/\s+/);
      expect(createHash('sha256').update(readFileSync(join(dist, name!))).digest('hex')).toBe(hash);
    }
    // one file, not a folder of dependencies: the bundle is small, the executables embed a whole Node
    expect(statSync(join(dist, 'ioc-agent.mjs')).size).toBeLessThan(5 << 20);
  });

  for (const [name, cmd] of Object.entries(ARTEFACTS)) {
    it(`${name}: --version and --help outside the repository`, async () => {
      const [bin, pre] = cmd();
      const v = await run(bin, [...pre, '--version'], { cwd: outside });
      expect(v.stdout.trim()).toBe(pkg.version);
      const h = await run(bin, [...pre, '--help'], { cwd: outside });
      expect(h.stdout).toContain('--server');
      expect(h.stderr).not.toMatch(/Warning/);
    });
  }

  it.skipIf(!existsSync(WINE))('ioc-agent-win-x64.exe: --version and --help under Wine', async () => {
    // Wine cannot hand Node a pipe as stdout/stderr (EBADF), so the output goes through files.
    const env = { ...process.env, WINEPREFIX: join(outside, 'wine'), WINEDEBUG: '-all' };
    const exe = join(dist, 'ioc-agent-win-x64.exe');
    // A new Wine prefix says Windows 7, which Node 20 refuses; the agent is meant for Windows 10/11.
    await run(WINE, ['winecfg', '/v', 'win10'], { env, timeout: 180_000 });
    for (const [flag, expected] of [['--version', pkg.version], ['--help', '--server']] as const) {
      const out = join(outside, `win${flag}.txt`);
      await run('/bin/sh', ['-c', `"${WINE}" "${exe}" ${flag} > "${out}" 2> "${out}.err"`], { env, timeout: 180_000 });
      expect(readFileSync(out, 'utf8')).toContain(expected);
    }
  }, 240_000);
});

describe('bundled agents deliver to a real server', () => {
  let s: TestServer;
  const agents = Object.keys(ARTEFACTS).map((name, i) => ({ name, id: `qn-build-${i}`, commune: '21025', carrier: 'vnpt' }));

  beforeAll(async () => {
    s = await startTestServer({
      agents: agents.map(({ id, commune, carrier }) => ({ id, commune, carrier })),
      targets: [{ id: 'dc', name: 'Loopback', kind: 'icmp', host: '127.0.0.1', count: 3, intervalSec: 5 }],
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  for (const a of agents) {
    it(`${a.name} probes loopback and its results are stored`, async () => {
      const [bin, pre] = ARTEFACTS[a.name]!();
      const spool = join(outside, `spool-${a.id}`);
      let log = '';
      const kid = spawn(bin, [...pre, '--server', s.url, '--id', a.id, '--spool-dir', spool, '--log-level', 'warn'], {
        cwd: outside, env: { ...process.env, IOC_AGENT_TOKEN: s.tokens[a.id] }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      kids.push(kid);
      kid.stdout!.on('data', (d) => (log += d));
      kid.stderr!.on('data', (d) => (log += d));
      const t0 = Date.now();
      let rows: unknown[] = [];
      while (Date.now() - t0 < 30_000 && rows.length === 0) {
        await new Promise((r) => setTimeout(r, 500));
        rows = await s.store.queryRaw({ measurement: 'icmp', from: t0 - 60_000, to: Date.now() + 60_000, where: { agent: a.id } });
      }
      kid.kill('SIGTERM');
      expect(rows.length, `no stored round from ${a.name}; its log:\n${log}`).toBeGreaterThan(0);
      const received = (rows[0] as { fields: { received: number } }).fields.received;
      expect(received).toBe(3);
    });
  }
});
