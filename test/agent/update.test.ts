// Self-update end to end: two builds of the agent (A older, B newer, IOC_AGENT_VERSION), a real server serving B,
// agent A (the bundled .mjs and the Linux executable) running from a temp install folder under a supervisor loop
// that restarts it whenever it exits, as systemd's Restart=always does. While updates are paused A stays; once they
// resume it downloads B, checks it, swaps the file, exits and comes back as B. A served file whose hash does not
// match the build's is refused: A keeps running, the file is untouched and the failure shows in GET /api/agents.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../config/api.ts';
import { EXIT_UPDATED } from '../../agent/update/self-update.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const A = '0.0.1';
const B = '0.0.2';
const PW = 'mat-khau-cap-nhat-9';
const FILES = { mjs: 'ioc-agent.mjs', exe: 'ioc-agent-linux-x64' } as const;

let tmp = '';
const dist = { a: '', b: '', bad: '' };
const servers: TestServer[] = [];
const supervisors: Supervisor[] = [];

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

async function build(version: string, out: string) {
  await run(process.execPath, ['--import', 'tsx', 'agent/build/build.ts'], {
    cwd: ROOT, env: { ...process.env, IOC_AGENT_DIST: out, IOC_AGENT_TARGETS: 'mjs,linux-x64', IOC_AGENT_VERSION: version }, maxBuffer: 16 << 20,
  });
}

/** restarts the agent whenever it exits, like the service does; remembers each exit code */
class Supervisor {
  child: ChildProcess | null = null;
  readonly exits: (number | null)[] = [];
  readonly pids: number[] = [];
  private stopped = false;
  constructor(private readonly cmd: () => [string, string[]]) {
    this.start();
  }
  private start() {
    if (this.stopped) return;
    const [cmd, args] = this.cmd();
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', process.env.TEST_LOG ? 'inherit' : 'ignore'] });
    this.child = c;
    this.pids.push(c.pid!);
    c.on('exit', (code) => {
      this.exits.push(code);
      setTimeout(() => this.start(), 100);
    });
  }
  stop() {
    this.stopped = true;
    this.child?.kill('SIGKILL');
  }
}

/** an install folder holding build A of `kind`, run under a supervisor against `s` */
function installA(s: TestServer, id: string, kind: keyof typeof FILES) {
  const dir = mkdtempSync(join(tmp, `install-${kind}-`));
  const self = join(dir, FILES[kind]);
  copyFileSync(join(dist.a, FILES[kind]), self);
  const args = ['run', '--server', s.url, '--id', id, '--token', s.tokens[id]!, '--spool-dir', 'none', '--log-level', 'warn'];
  const sup = new Supervisor(() => (kind === 'mjs' ? [process.execPath, [self, ...args]] : [self, args]));
  supervisors.push(sup);
  return { self, sup };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ioc-update-'));
  dist.a = join(tmp, 'dist-a');
  dist.b = join(tmp, 'dist-b');
  dist.bad = join(tmp, 'dist-bad');
  await build(A, dist.a);
  await build(B, dist.b);
  // the same release, but each file damaged after it was built: release.json still has the build's hashes
  cpSync(dist.b, dist.bad, { recursive: true });
  for (const f of Object.values(FILES)) appendFileSync(join(dist.bad, f), '\n// tampered\n');
}, 300_000);

afterAll(async () => {
  for (const s of supervisors) s.stop();
  for (const s of servers) await s.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('self-update', () => {
  it('A updates to B (bundled script and Linux executable) once updates resume, through a restart', async () => {
    const s = await startTestServer({
      agents: [{ id: 'upd-mjs', commune: '21025' }, { id: 'upd-exe', commune: '21025' }],
      users: [{ username: 'quantri', password: PW, role: 'admin' }],
      server: { agentReleasesDir: dist.b },
    });
    servers.push(s);
    const cookie = await login(s.url, 'quantri', PW);
    const put = async (body: unknown) => {
      const r = await fetch(`${s.url}/api/agent/updates`, { method: 'PUT', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status).toBe(200);
      return API['PUT /api/agent/updates'].response.parse(await r.json());
    };
    const paused = await put({ paused: true });
    expect(paused).toMatchObject({ paused: true, offered: null, release: { version: B } });
    expect(paused.release!.artefacts.map((a) => a.platform).sort()).toEqual(['linux-x64', 'mjs']);

    const mjs = installA(s, 'upd-mjs', 'mjs');
    const exe = installA(s, 'upd-exe', 'exe');
    const info = (id: string) => s.registry.get(id);
    await until('both agents connected as A', () => info('upd-mjs')?.connected && info('upd-exe')?.connected && info('upd-mjs')?.version === A && info('upd-exe')?.version === A, { ms: 60_000 });
    expect(info('upd-mjs')?.runsAs).toBe('mjs');
    expect(info('upd-exe')?.runsAs).toBe('linux-x64');
    // paused: a plan without an offer, nothing downloaded
    await new Promise((r) => setTimeout(r, 1500));
    expect([mjs.sup.exits, exe.sup.exits]).toEqual([[], []]);

    // the artefact needs the agent's own token
    expect((await fetch(`${s.url}/api/agent/releases/ioc-agent.mjs`)).status).toBe(401);
    expect((await fetch(`${s.url}/api/agent/releases/ioc-agent.mjs`, { headers: { cookie } })).status).toBe(401);

    expect(await put({ paused: false })).toMatchObject({ paused: false, offered: B });
    await until('both agents back as B', () => info('upd-mjs')?.version === B && info('upd-exe')?.version === B && info('upd-mjs')?.connected && info('upd-exe')?.connected, { ms: 90_000 });
    for (const [kind, x] of [['mjs', mjs], ['exe', exe]] as const) {
      expect(x.sup.exits, kind).toEqual([EXIT_UPDATED]);
      expect(sha(x.self), kind).toBe(sha(join(dist.b, FILES[kind])));
      expect(sha(`${x.self}.old`), kind).toBe(sha(join(dist.a, FILES[kind])));
      expect(existsSync(join(x.self, '..', `.${FILES[kind].replace('.mjs', '')}.update${kind === 'mjs' ? '.mjs' : ''}`)), kind).toBe(false);
    }
    expect(info('upd-mjs')?.update).toMatchObject({ state: 'installed', from: A, to: B, error: null });
    const listed = await (await fetch(`${s.url}/api/agents`, { headers: { cookie } })).json();
    const rows = API['GET /api/agents'].response.parse(listed);
    expect(rows.find((r) => r.id === 'upd-exe')).toMatchObject({ version: B, runsAs: 'linux-x64', update: { state: 'installed', to: B } });
  }, 180_000);

  it('a served file whose hash does not match is refused: A keeps running and the failure is reported', async () => {
    const s = await startTestServer({
      agents: [{ id: 'bad-mjs', commune: '21025' }, { id: 'bad-exe', commune: '21025' }],
      server: { agentReleasesDir: dist.bad },
    });
    servers.push(s);
    const mjs = installA(s, 'bad-mjs', 'mjs');
    const exe = installA(s, 'bad-exe', 'exe');
    const info = (id: string) => s.registry.get(id);
    for (const id of ['bad-mjs', 'bad-exe']) {
      const u = await until(`${id}'s failure report`, () => (info(id)?.update?.state === 'failed' ? info(id)!.update! : null), { ms: 60_000 });
      expect(u).toMatchObject({ from: A, to: B });
      expect(u.error).toMatch(/SHA-256 mismatch/);
    }
    await new Promise((r) => setTimeout(r, 1000));
    for (const [kind, x, id] of [['mjs', mjs, 'bad-mjs'], ['exe', exe, 'bad-exe']] as const) {
      expect(x.sup.exits, kind).toEqual([]); // never restarted: the same process runs on
      expect(x.sup.child?.exitCode, kind).toBeNull();
      expect(sha(x.self), kind).toBe(sha(join(dist.a, FILES[kind])));
      expect(existsSync(`${x.self}.old`), kind).toBe(false);
      expect(info(id)).toMatchObject({ connected: true, version: A });
    }
  }, 120_000);
});
