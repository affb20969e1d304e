// One agent per spool directory: a `lock` file holding the owner's pid. A lock left by a process that is
// gone (killed, or the machine rebooted) is taken over.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // After a reboot the pid may belong to something else: on Linux, only another node process counts.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return process.platform !== 'linux';
  }
}

/** Lock `dir` for this process; returns the lock file's path. Throws when a live agent holds it. */
export function acquireLock(dir: string): string {
  const path = join(dir, 'lock');
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (pidAlive(pid)) throw new Error(`spool ${dir} is in use by process ${pid} (two agents cannot share a spool; if that process is not an agent, delete ${path})`);
      unlinkSync(path); // stale: the previous agent was killed or the machine rebooted
    }
  }
  throw new Error(`cannot lock spool ${dir}`);
}

/** Remove the lock if it is still ours. */
export function releaseLock(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    /* already gone */
  }
}
