// Self-update: when a plan offers a newer version, download this install's artefact from the server with the agent's
// own token, check its SHA-256 against the plan's, check it runs and names the offered version, and put it in place
// of the running file in one rename. Then the caller exits with EXIT_UPDATED and the service (systemd Restart=always,
// the Windows task's restart on failure) starts the new file, which says its version in hello. Anything that fails
// leaves the running file as it was and is reported to the server (wire `update` message).
// Only the bundled script and the single executables update themselves: they carry a build mark (agent/build/build.ts);
// a development run (tsx) has none and never replaces anything.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, createWriteStream, linkSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AgentUpdate, PlanRelease, ReleaseArtefact } from '../../config/wire.ts';
import { agentUrl } from '../link.ts';
import { silentLog, type Log } from '../scheduler.ts';

/** exit code after an update is in place: non-zero, so a service that restarts "on failure" restarts it too */
export const EXIT_UPDATED = 75;

export interface Install {
  /** the artefact this process runs as: `mjs`, `linux-x64`, `win-x64` */
  platform: string;
  /** the file to replace */
  self: string;
}

/** what this process runs as; null for a development run, which never updates itself */
export function currentInstall(): Install | null {
  // replaced by a string literal in the bundles (esbuild define); undefined under tsx
  const build = process.env.IOC_AGENT_BUILD;
  if (build === 'sea') return { platform: `${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`, self: process.execPath };
  if (build === 'mjs' && process.argv[1]) return { platform: 'mjs', self: realpathSync(process.argv[1]) };
  return null;
}

/** x.y.z[-pre]: numeric parts first, then a pre-release sorts before its release */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-([\w.-]+))?/.exec(v);
    return m ? { n: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? null } : { n: [0, 0, 0], pre: v };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.n[i] !== y.n[i]) return x.n[i]! < y.n[i]! ? -1 : 1;
  if (x.pre === y.pre) return 0;
  if (x.pre === null) return 1;
  if (y.pre === null) return -1;
  return x.pre < y.pre ? -1 : 1;
}

export type UpdateReport = Omit<AgentUpdate, 'type' | 'v'>;

export interface SelfUpdaterOptions {
  install: Install | null;
  server: string;
  agentId: string;
  token: string;
  version: string;
  report: (u: UpdateReport) => void;
  /** the new file is in place: stop cleanly and exit with EXIT_UPDATED */
  restart: () => void;
  log?: Log;
  /** a refused artefact (same hash) is tried again after this long */
  retryMs?: number;
  downloadTimeoutMs?: number;
}

export class SelfUpdater {
  private busy = false;
  /** sha256 of artefacts that failed, and when */
  private readonly failed = new Map<string, number>();
  private readonly log: Log;

  constructor(private readonly o: SelfUpdaterOptions) {
    this.log = o.log ?? silentLog;
  }

  /** a plan arrived: start an update if it offers a newer version for this install */
  consider(release: PlanRelease | undefined): void {
    const install = this.o.install;
    if (!install || !release || this.busy || compareVersions(release.version, this.o.version) <= 0) return;
    const artefact = release.artefacts.find((a) => a.platform === install.platform);
    if (!artefact) {
      this.log.warn({ offered: release.version, platform: install.platform }, 'the server offers no artefact for this platform; not updating');
      return;
    }
    const at = this.failed.get(artefact.sha256);
    if (at !== undefined && Date.now() - at < (this.o.retryMs ?? 3_600_000)) return;
    this.busy = true;
    void this.update(install, release.version, artefact).finally(() => (this.busy = false));
  }

  private async update(install: Install, to: string, a: ReleaseArtefact): Promise<void> {
    const from = this.o.version;
    this.log.info({ from, to, file: a.file }, 'updating this agent');
    this.o.report({ state: 'downloading', from, to });
    const ext = extname(install.self);
    const next = join(dirname(install.self), `.${basename(install.self, ext)}.update${ext}`);
    try {
      await this.download(a, next);
      if (process.platform !== 'win32') chmodSync(next, 0o755);
      const said = await versionOf(install, next);
      if (said !== to) throw new Error(`the downloaded file says version "${said}", not ${to}`);
      replace(install.self, next);
    } catch (e) {
      rmSync(next, { force: true });
      const error = (e instanceof Error ? e.message : String(e)).slice(0, 300);
      this.failed.set(a.sha256, Date.now());
      this.log.error({ from, to, err: error }, 'self-update failed; this version keeps running');
      this.o.report({ state: 'failed', from, to, error });
      return;
    }
    this.log.info({ from, to }, 'update in place; restarting');
    this.o.report({ state: 'installed', from, to });
    this.o.restart();
  }

  private async download(a: ReleaseArtefact, dest: string): Promise<void> {
    const u = new URL(agentUrl(this.o.server));
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = `${u.pathname.replace(/\/ws\/agent$/, '')}/api/agent/releases/${encodeURIComponent(a.file)}`;
    const res = await fetch(u, {
      headers: { Authorization: `Bearer ${this.o.token}`, 'X-Agent-Id': this.o.agentId },
      signal: AbortSignal.timeout(this.o.downloadTimeoutMs ?? 600_000),
    });
    if (!res.ok || !res.body) throw new Error(`download of ${a.file} failed: HTTP ${res.status}`);
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), count, createWriteStream(dest, { mode: 0o755 }));
    const got = hash.digest('hex');
    if (got !== a.sha256) throw new Error(`SHA-256 mismatch for ${a.file}: expected ${a.sha256}, got ${got} (${size} bytes); not installed`);
  }
}

/** run the downloaded file with --version (a truncated or foreign file fails here, before it replaces anything) */
function versionOf(install: Install, file: string): Promise<string> {
  const [cmd, args] = install.platform === 'mjs' ? [process.execPath, [file, '--version']] : [file, ['--version']];
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout) =>
      err ? reject(new Error(`the downloaded file does not run: ${err.message.split('\n')[0]}`)) : resolve(stdout.trim()),
    ),
  );
}

/**
 * Put `next` where `self` is in one rename. POSIX: the running file keeps its inode, and a hard link keeps it as
 * SELF.old for a manual rollback. Windows cannot replace a running exe but can rename it: it goes aside first.
 */
function replace(self: string, next: string): void {
  const old = `${self}.old`;
  rmSync(old, { force: true });
  if (process.platform === 'win32') {
    renameSync(self, old);
    try {
      renameSync(next, self);
    } catch (e) {
      renameSync(old, self);
      throw e;
    }
    return;
  }
  try {
    linkSync(self, old);
  } catch {
    /* a file system without hard links: no rollback copy, the update itself still works */
  }
  renameSync(next, self);
}
