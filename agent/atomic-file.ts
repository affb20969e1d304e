// Replace a small file so that a reader (or a power cut) sees the old contents or the new, never half of them:
// a temp file beside it with the final mode, optionally fsynced, renamed over the old one.
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function replaceFileSync(file: string, text: string, o: { mode: number; fsync: boolean }): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', o.mode);
  try {
    writeSync(fd, text);
    if (o.fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, o.mode); // the umask may have narrowed the mode given to open
    renameSync(tmp, file);
  } catch (e) {
    // e.g. Windows refuses to replace a file another process holds open: leave the old one, drop the temp
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
}
