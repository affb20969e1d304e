// cursor.json: {"v":1,"head":<first rid not yet acked>,"dropped":<total dropped>}. Replaced atomically (temp
// file, fsync, rename, fsync of the directory) so a power cut leaves the old cursor or the new one.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../scheduler.ts';

export interface Cursor {
  head: number;
  dropped: number;
}

const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);

/** The persisted cursor; a missing or unreadable one starts at 0 (everything in the spool is resent). */
export function readCursor(dir: string, log: Log): Cursor {
  let cursor: { head?: unknown; dropped?: unknown } = {};
  const path = join(dir, 'cursor.json');
  if (existsSync(path)) {
    try {
      cursor = JSON.parse(readFileSync(path, 'utf8')) as typeof cursor;
    } catch (e) {
      log.error({ err: String(e) }, 'spool cursor unreadable: resending everything in the spool (the server stores each result once)');
    }
  }
  return { head: count(cursor.head), dropped: count(cursor.dropped) };
}

const body = (c: Cursor) => JSON.stringify({ v: 1, head: c.head, dropped: c.dropped });

export async function writeCursor(dir: string, c: Cursor): Promise<void> {
  const tmp = join(dir, 'cursor.json.tmp');
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(body(c));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, 'cursor.json'));
  await syncDir(dir);
}

/** The same, while opening (nothing else runs yet). */
export function writeCursorSync(dir: string, c: Cursor): void {
  const tmp = join(dir, 'cursor.json.tmp');
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, body(c));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, 'cursor.json'));
  if (process.platform !== 'win32') {
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }
}

/** fsync a directory so a rename or a new file name in it survives a power cut. */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there; NTFS journals renames
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
