// The agent as an officer runs it, end to end with the built artefacts outside the repository: `install --prefix`
// writes the program, config and systemd unit under a temp root (no system command runs), the service's own
// ExecStart line runs the agent against a real server, `status` reports it in Vietnamese and English with the right
// exit codes, results are stored, and `uninstall` removes it (the spool kept unless --purge).
// The Windows executable does the same file work under Wine (no Task Scheduler there).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { login, startTestServer, type TestServer } from '../helpers/server.ts';
import { WINE, buildAgent } from '../helpers/agent-build.ts';
import { until } from '../helpers/wait.ts';

const exec = promisify(execFile);
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

let dist = '';
let outside = '';
const kids: ChildProcess[] = [];

beforeAll(async () => {
  dist = await buildAgent('ioc-cli-dist-', 'all');
  outside = mkdtempSync(join(tmpdir(), 'ioc-cli-run-'));
}, 300_000);

afterAll(() => {
  for (const k of kids) k.kill('SIGKILL');
  for (const d of [dist, outside]) if (d) rmSync(d, { recursive: true, force: true });
});

/** run a command, resolving with its exit code and output whatever the code */
async function cli(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(bin, args, { cwd: outside, env: { ...process.env, IOC_LANG: '', ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** the words of the unit's ExecStart line (no quoting is needed for these temp paths) */
function execStart(unit: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  if (!line) throw new Error('no ExecStart');
  return line.split(' ');
}

const ARTEFACTS: Record<string, () => [string, string[]]> = {
  'ioc-agent.mjs': () => [process.execPath, [join(dist, 'ioc-agent.mjs')]],
  'ioc-agent-linux-x64': () => [join(dist, 'ioc-agent-linux-x64'), []],
};

describe('ioc-agent install / run / status / uninstall on Linux', () => {
  let s: TestServer;
  const agents = Object.keys(ARTEFACTS).map((name, i) => ({ name, id: `qn-cli-${i}`, commune: '21025', carrier: 'vnpt' }));

  beforeAll(async () => {
    s = await startTestServer({
      agents: agents.map(({ id, commune, carrier }) => ({ id, commune, carrier })),
      targets: [{ id: 'dc', name: 'Loopback', kind: 'icmp', host: '127.0.0.1', count: 3, intervalSec: 5 }],
      users: [{ username: 'admin', password: 'admin-pass-1', role: 'admin' }],
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  for (const a of agents) {
    it(`${a.name}: installs under a prefix, runs as its unit says, reports status, uninstalls`, async () => {
      const [bin, pre] = ARTEFACTS[a.name]!();
      const P = mkdtempSync(join(outside, 'root-'));
      const inst = await cli(bin, [...pre, 'install', '--prefix', P, '--server', s.url, '--id', a.id, '--lang', 'en'], { IOC_AGENT_TOKEN: s.tokens[a.id] });
      expect(inst.code, inst.stderr).toBe(0);
      // nothing outside the prefix was changed: the system commands are listed, not run
      expect(inst.stdout).toContain('$ systemctl daemon-reload');
      expect(inst.stdout).toContain('$ systemctl enable ioc-agent');
      expect(inst.stdout).toMatch(/\$ useradd --system .* ioc-agent/);

      const program = join(P, 'opt/ioc-agent', a.name.endsWith('.mjs') ? 'ioc-agent.mjs' : 'ioc-agent');
      const config = join(P, 'etc/ioc-agent/agent.json');
      const unitFile = join(P, 'etc/systemd/system/ioc-agent.service');
      expect(statSync(program).mode & 0o777).toBe(0o755);
      expect(lstatSync(join(P, 'usr/local/bin/ioc-agent')).isSymbolicLink()).toBe(true);
      expect(statSync(config).mode & 0o777).toBe(0o600);
      const cfg = JSON.parse(readFileSync(config, 'utf8'));
      expect(cfg).toMatchObject({ server: s.url, id: a.id, token: s.tokens[a.id], lang: 'en' });
      const unit = readFileSync(unitFile, 'utf8');
      expect(unit).toContain('CapabilityBoundingSet=CAP_NET_RAW');
      expect(unit).not.toContain('MemoryDenyWriteExecute');
      const cmd = execStart(unit);
      expect(cmd.slice(-4)).toEqual([program, 'run', '--config', config]);
      if (existsSync(SYSTEMD_ANALYZE)) {
        const v = await cli(SYSTEMD_ANALYZE, ['verify', unitFile]);
        expect(`${v.code} ${v.stderr}`.trim()).toBe('0');
      }

      // before it runs: enrolled, not running (exit 1), in Vietnamese when asked
      const status = (...args: string[]) => cli(join(P, 'usr/local/bin/ioc-agent'), ['status', '--config', config, ...args]);
      const before = await status('--lang', 'vi');
      expect(before.code).toBe(1);
      expect(before.stdout).toContain(`đã đăng ký, mã trạm ${a.id}`);
      expect(before.stdout).toContain('không chạy');

      // what systemd would start
      let log = '';
      const t0 = Date.now();
      const kid = spawn(cmd[0]!, cmd.slice(1), { cwd: outside, env: { ...process.env, IOC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
      kids.push(kid);
      kid.stdout!.on('data', (d) => (log += d));
      kid.stderr!.on('data', (d) => (log += d));

      const rows = await until(`results of ${a.name}; its log:\n${log}`, async () => {
        const r = await s.store.queryRaw({ measurement: 'icmp', from: t0 - 60_000, to: Date.now() + 60_000, where: { agent: a.id } });
        return r.length > 0 && r;
      });
      expect(rows[0]!.fields.received).toBe(3);

      const connected = await until('status: connected with an ack', async () => {
        const r = await status('--json');
        const j = JSON.parse(r.stdout);
        return r.code === 0 && j.status.lastAckAt !== null && { r, j };
      });
      expect(connected.j).toMatchObject({ enrolled: true, id: a.id, running: true, connected: true, status: { id: a.id, version: pkg.version, pid: kid.pid, dropped: 0 } });
      expect(connected.j.status.pending).toBeGreaterThanOrEqual(0);
      const vi = await status('--lang', 'vi');
      expect(vi.code).toBe(0);
      expect(vi.stdout).toContain(`đang chạy (PID ${kid.pid})`);
      expect(vi.stdout).toContain('đã kết nối tới máy chủ');
      expect(vi.stdout).toMatch(/Kết quả chờ gửi: +\d+ kết quả/);
      expect(vi.stdout).toMatch(/Kết quả bị loại bỏ: +0 kết quả/);
      const en = await status('--lang', 'en');
      expect(en.stdout).toContain('connected to the server');
      expect(en.stdout).toMatch(/Results dropped: +0 results/);
      const statusFile = join(P, 'var/lib/ioc-agent/status.json');
      expect(statSync(statusFile).mode & 0o777).toBe(0o644);
      expect(readFileSync(statusFile, 'utf8')).not.toContain(s.tokens[a.id]!);

      kid.kill('SIGTERM');
      await new Promise((r) => kid.once('exit', r));
      const after = await status('--lang', 'en');
      expect(after.code).toBe(1);
      expect(after.stdout).toContain('not running (stopped)');

      // uninstall: program, link and unit go; config and spool stay
      const un = await cli(bin, [...pre, 'uninstall', '--prefix', P, '--lang', 'en']);
      expect(un.code, un.stderr).toBe(0);
      expect(un.stdout).toContain('$ systemctl disable --now ioc-agent');
      for (const gone of [program, join(P, 'usr/local/bin/ioc-agent'), unitFile]) expect(existsSync(gone), gone).toBe(false);
      expect(existsSync(config)).toBe(true);
      expect(readdirSync(join(P, 'var/lib/ioc-agent/spool')).length).toBeGreaterThan(0);
      const purge = await cli(bin, [...pre, 'uninstall', '--prefix', P, '--purge', '--lang', 'en']);
      expect(purge.code, purge.stderr).toBe(0);
      expect(purge.stdout).toContain('$ userdel ioc-agent');
      for (const gone of [config, join(P, 'etc/ioc-agent'), join(P, 'var/lib/ioc-agent')]) expect(existsSync(gone), gone).toBe(false);
    }, 120_000);
  }

  it('enrolment: install --code against the server, a wrong or used code refused with nothing installed', async (ctx) => {
    // POST /api/enroll is the server's; until it exists this path cannot run
    const probe = await fetch(`${s.url}/api/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (probe.status === 404 && !(probe.headers.get('content-type') ?? '').includes('json')) ctx.skip();
    const cookie = await login(s.url, 'admin', 'admin-pass-1');
    const created = await fetch(`${s.url}/api/enrollments`, {
      method: 'POST', headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ commune: '21025', site: { name: 'Trạm y tế phường', kind: 'health_station' }, uplinks: [{ name: 'wan1', carrier: 'vnpt', gateway: '127.0.0.1' }] }),
    });
    const answer = (await created.json()) as { code: string };
    expect([200, 201], JSON.stringify(answer)).toContain(created.status);
    const { code } = answer;
    const [bin, pre] = ARTEFACTS['ioc-agent-linux-x64']!();

    const wrongRoot = mkdtempSync(join(outside, 'wrong-'));
    const wrong = await cli(bin, [...pre, 'install', '--prefix', wrongRoot, '--server', s.url, '--code', 'QNG-2222-2222']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('mã đăng ký không đúng, đã được dùng hoặc đã hết hạn');
    expect(readdirSync(wrongRoot)).toEqual([]);

    const P = mkdtempSync(join(outside, 'enrol-'));
    const inst = await cli(bin, [...pre, 'install', '--prefix', P, '--server', s.url, '--code', code.toLowerCase()]);
    expect(inst.code, inst.stderr).toBe(0);
    expect(inst.stdout).toContain('Đã đăng ký: mã trạm');
    const config = join(P, 'etc/ioc-agent/agent.json');
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const cfg = JSON.parse(readFileSync(config, 'utf8')) as { id: string; token: string; commune: string };
    expect(cfg.commune).toBe('21025');
    expect(cfg.token.length).toBeGreaterThanOrEqual(32);

    const again = await cli(bin, [...pre, 'enroll', '--server', s.url, '--code', code, '--config', join(outside, 'again.json'), '--lang', 'en']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('wrong, already used or expired');
    expect(existsSync(join(outside, 'again.json'))).toBe(false);

    const cmd = execStart(readFileSync(join(P, 'etc/systemd/system/ioc-agent.service'), 'utf8'));
    const t0 = Date.now();
    const kid = spawn(cmd[0]!, cmd.slice(1), { cwd: outside, env: { ...process.env, IOC_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    kids.push(kid);
    await until('results of the enrolled agent', async () => {
      const r = await s.store.queryRaw({ measurement: 'icmp', from: t0 - 60_000, to: Date.now() + 60_000, where: { agent: cfg.id } });
      return r.length > 0;
    });
    const st = await until('status connected', async () => {
      const r = await cli(join(P, 'usr/local/bin/ioc-agent'), ['status', '--config', config]);
      return r.code === 0 && r;
    });
    expect(st.stdout).toContain(`đã đăng ký, mã trạm ${cfg.id}, xã/phường 21025`);
    kid.kill('SIGTERM');
    await new Promise((r) => kid.once('exit', r));
  }, 120_000);

  it('a running agent that cannot reach its server: status exits 3, not connected', async () => {
    const [bin, pre] = ARTEFACTS['ioc-agent.mjs']!();
    const dir = mkdtempSync(join(outside, 'cut-'));
    const config = join(dir, 'agent.json');
    // a port nobody listens on
    writeFileSync(config, JSON.stringify({ server: 'http://127.0.0.1:9', id: 'qn-cut', token: 'x', stateDir: join(dir, 'state'), logFile: 'logs/agent.log' }), { mode: 0o600 });
    const kid = spawn(bin, [...pre, 'run', '--config', config], { cwd: outside, stdio: 'ignore' });
    kids.push(kid);
    const r = await until('a status file', async () => {
      const r = await cli(bin, [...pre, 'status', '--config', config, '--lang', 'en']);
      return r.stdout.includes('running (pid') && r;
    });
    kid.kill('SIGKILL');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('not connected to the server');
    expect(r.stdout).toContain('Last ack:');
    // the log went to the file the config names (relative to the config's folder), not to stdout
    expect(readFileSync(join(dir, 'logs/agent.log'), 'utf8')).toContain('agent starting');
  });

  it('a bad config file: exit 2 with the file and the field named', async () => {
    const [bin, pre] = ARTEFACTS['ioc-agent-linux-x64']!();
    const config = join(outside, 'bad.json');
    writeFileSync(config, JSON.stringify({ server: 'ftp://x', id: 'a', token: 't', spoolMaxMb: 'lots', tokn: 1 }));
    const r = await cli(bin, [...pre, 'run', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(config);
    expect(r.stderr).toMatch(/server: expected an http\(s\):\/\/ or ws\(s\):\/\/ URL/);
    expect(r.stderr).toContain('spoolMaxMb: ');
    expect(r.stderr).toContain('tokn: unknown field');
    writeFileSync(config, '{ "server": ');
    const j = await cli(bin, [...pre, 'status', '--config', config]);
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(/bad\.json: not valid JSON/);
  });

  it('--help names the commands as ioc-agent, and a command without a code says what it needs', async () => {
    const [bin, pre] = ARTEFACTS['ioc-agent-linux-x64']!();
    const h = await cli(bin, [...pre, '--help']);
    expect(h.stdout).toContain('ioc-agent install');
    expect(h.stdout).not.toContain('npx tsx');
    const e = await cli(bin, [...pre, 'enroll', '--server', s.url]);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('--code');
  });
});

describe.skipIf(!existsSync(WINE))('ioc-agent-win-x64.exe under Wine', () => {
  // Wine cannot hand Node a pipe as stdout/stderr (EBADF): output goes through files.
  const env = () => ({ ...process.env, WINEPREFIX: join(outside, 'wine'), WINEDEBUG: '-all', IOC_LANG: '' });
  async function wine(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out = join(outside, `wine-${Date.now()}.txt`);
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    let code = 0;
    try {
      await exec('/bin/sh', ['-c', `${q(WINE)} ${[join(dist, 'ioc-agent-win-x64.exe'), ...args].map(q).join(' ')} > ${q(out)} 2> ${q(`${out}.err`)}`], { env: env(), timeout: 180_000 });
    } catch (e) {
      code = (e as { code?: number }).code ?? -1;
    }
    return { code, out: readFileSync(out, 'utf8'), err: readFileSync(`${out}.err`, 'utf8') };
  }
  /** a Linux path as Wine's Z: drive sees it */
  const z = (p: string) => `Z:${p.replace(/\//g, '\\')}`;

  beforeAll(async () => {
    // A new Wine prefix says Windows 7, which Node 20 refuses; the agent is meant for Windows 10/11.
    await exec(WINE, ['winecfg', '/v', 'win10'], { env: env(), timeout: 180_000 });
  }, 240_000);

  it('install --prefix / config round trip / status / uninstall', async () => {
    const P = mkdtempSync(join(outside, 'winroot-'));
    const inst = await wine(['install', '--prefix', z(P), '--server', 'http://127.0.0.1:9', '--id', 'qn-win', '--token', 'tok-win', '--lang', 'en']);
    expect(inst.code, inst.err).toBe(0);
    expect(inst.out).toContain('$ schtasks /Create /TN ioc-agent /XML');
    expect(inst.out).toContain('$ icacls');
    const exe = join(P, 'Program Files/ioc-agent/ioc-agent.exe');
    const data = join(P, 'ProgramData/ioc-agent');
    expect(existsSync(exe)).toBe(true);
    const cfg = JSON.parse(readFileSync(join(data, 'agent.json'), 'utf8'));
    expect(cfg).toMatchObject({ server: 'http://127.0.0.1:9', id: 'qn-win', token: 'tok-win', stateDir: `${z(P)}\\ProgramData\\ioc-agent`, logFile: `${z(P)}\\ProgramData\\ioc-agent\\agent.log` });
    const xml = readFileSync(join(data, 'ioc-agent-task.xml'));
    expect([xml[0], xml[1]]).toEqual([0xff, 0xfe]);
    const task = xml.subarray(2).toString('utf16le');
    expect(task).toContain('<UserId>S-1-5-18</UserId>');
    expect(task).toContain(`<Command>${z(P)}\\Program Files\\ioc-agent\\ioc-agent.exe</Command>`);
    expect(task).toContain(`<Arguments>run --config ${z(P)}\\ProgramData\\ioc-agent\\agent.json</Arguments>`);

    // status reads the config written by install
    const st = await wine(['status', '--config', `${z(data)}\\agent.json`, '--lang', 'en']);
    expect(st.code).toBe(1);
    expect(st.out).toContain('yes, agent id qn-win');
    expect(st.out).toContain('not running');

    // run reads the config and refuses a bad field clearly
    const bad = join(outside, 'win-bad.json');
    writeFileSync(bad, JSON.stringify({ ...cfg, replayRate: -5 }));
    const r = await wine(['run', '--config', z(bad)]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('win-bad.json: replayRate:');

    const un = await wine(['uninstall', '--prefix', z(P), '--lang', 'en']);
    expect(un.code, un.err).toBe(0);
    expect(un.out).toContain('$ schtasks /Delete /TN ioc-agent /F');
    expect(existsSync(exe)).toBe(false);
    expect(existsSync(join(data, 'agent.json'))).toBe(true);
    const purge = await wine(['uninstall', '--prefix', z(P), '--purge']);
    expect(purge.code, purge.err).toBe(0);
    expect(existsSync(data)).toBe(false);
  }, 300_000);
});
