// The few things install/uninstall do to the machine: find out what this program is, copy it, run system commands.
// With --prefix nothing outside the prefix is touched: the commands are only collected and printed.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { isSea } from 'node:sea';
import type { SelfImage } from './layout.ts';

/** This program as a file that can be copied: the single executable itself, or the .mjs bundle and the node running it. */
export function selfImage(): SelfImage | undefined {
  if (isSea()) return { kind: 'sea', path: process.execPath };
  const script = process.argv[1];
  if (script && /\.(mjs|js|cjs)$/.test(script) && existsSync(script)) return { kind: 'mjs', path: script, node: nodeOnPath() ?? process.execPath };
  // under tsx from the repository there is no one file to copy
  return undefined;
}

/** The first `node` on PATH (what the service will run the .mjs with), as an absolute path. */
export function nodeOnPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const names = process.platform === 'win32' ? ['node.exe'] : ['node'];
  for (const dir of (env.PATH ?? env.Path ?? '').split(delimiter)) {
    if (!dir || !dir.startsWith('/') && !/^[a-zA-Z]:/.test(dir)) continue;
    for (const n of names) {
      const p = join(dir, n);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        /* next */
      }
    }
  }
  return undefined;
}

/**
 * Copy the program into place without writing over a running file: Linux refuses to open a running executable for
 * writing (ETXTBSY) and Windows refuses to replace it, but both let it be renamed away first.
 */
export function copyInto(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  if (src === dest) return;
  const tmp = join(dirname(dest), `.${basename(dest)}.new`);
  copyFileSync(src, tmp);
  chmodSync(tmp, 0o755);
  if (existsSync(dest)) {
    const old = join(dirname(dest), `.${basename(dest)}.old`);
    rmSync(old, { force: true });
    renameSync(dest, old);
    renameSync(tmp, dest);
    try {
      rmSync(old, { force: true });
    } catch {
      // Windows: the old one is still running; it goes with the next install or the uninstall
    }
  } else {
    renameSync(tmp, dest);
  }
}

/** Runs system commands, or with a prefix only records them. */
export class Commands {
  readonly skipped: string[][] = [];
  constructor(readonly dryRun: boolean) {}

  run(cmd: string[], o: { allowFail?: boolean } = {}): boolean {
    if (this.dryRun) {
      this.skipped.push(cmd);
      return true;
    }
    try {
      execFileSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      return true;
    } catch (e) {
      if (o.allowFail) return false;
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`${cmd.join(' ')}: ${err.stderr?.toString().trim() || err.message}`);
    }
  }

  /** true when the command succeeds (a question, e.g. does the user exist); never skipped */
  test(cmd: string[]): boolean {
    try {
      execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Windows: is this an elevated (Administrator) process? `net session` needs elevation and changes nothing. */
export function isElevated(): boolean {
  try {
    execFileSync('net', ['session'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
