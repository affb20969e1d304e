// Backup and restore of the data directory (README "Backup and restore").
//
// A backup is a directory: `manifest.json`, a consistent copy of the DuckDB file (taken by the store itself,
// DuckDbStore.backupTo), and every other file of the data directory (admin.json, fleet.json, audit.jsonl,
// maintenance.json, reports/, data-version.json ...). The database file and its WAL are never copied as plain
// files: DuckDB holds them open and a copy taken mid-write would not open.
//
// While the server runs, DuckDB's lock keeps other processes out of the file, so the CLI asks the server: it reads
// the control token the server leaves in its data directory (readable only by whoever can read the data anyway)
// and calls POST /control/backup on the loopback address; the server writes the backup into a staging directory
// inside its data directory (the only place a hardened service may write) and the CLI moves it to where it was asked.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { Hono } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { DATA_VERSION, readDataVersion } from './data-dir.ts';
import type { Store } from './stores/types.ts';

export const MANIFEST = 'manifest.json';
export const CONTROL_TOKEN_FILE = '.control-token';
/** staging and set-aside directories live in the data directory under these prefixes and are never backed up */
export const STAGING_PREFIX = '.backup-';
export const SET_ASIDE_PREFIX = '.before-restore-';

export interface Manifest {
  createdAt: number;
  serverVersion: string;
  dataVersion: number;
  store: { kind: string; file: string | null; note?: string };
  files: string[];
}

/** A store that can copy itself consistently while in use (DuckDB); others are backed up with their own tools. */
interface SelfCopying {
  backupTo(dest: string): Promise<void>;
  readonly file: string;
}
const selfCopying = (s: Store): s is Store & SelfCopying => typeof (s as Partial<SelfCopying>).backupTo === 'function';

/** every file of the data directory but the database, its WAL, staging areas and the control token, relative paths */
function dataFiles(dataDir: string, skip: Set<string>): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      const rel = relative(dataDir, abs);
      if (dir === dataDir && (e.name.startsWith(STAGING_PREFIX) || e.name.startsWith(SET_ASIDE_PREFIX) || e.name === CONTROL_TOKEN_FILE)) continue;
      if (skip.has(abs) || e.name.endsWith('.tmp')) continue;
      if (e.isDirectory()) walk(abs);
      else if (e.isFile()) out.push(rel);
    }
  };
  walk(dataDir);
  return out.sort();
}

/** Write a backup of `dataDir` (served by `store`) into `dest`, a new or empty directory. */
export async function backupDataDir(o: { dataDir: string; store: Store; dest: string; serverVersion: string }): Promise<Manifest> {
  const dataDir = resolve(o.dataDir);
  if (existsSync(o.dest) && readdirSync(o.dest).length) throw new Error(`backup: ${o.dest} is not empty`);
  mkdirSync(o.dest, { recursive: true });
  let store: Manifest['store'] = { kind: o.store.kind, file: null, note: `${o.store.kind}: back up the store with its own tools (influxd backup)` };
  const skip = new Set<string>();
  if (selfCopying(o.store)) {
    const file = resolve(o.store.file);
    skip.add(file).add(`${file}.wal`);
    // a database file outside the data directory is copied too, under its own name
    await o.store.backupTo(join(o.dest, basename(file)));
    store = { kind: o.store.kind, file: basename(file) };
  }
  const files = dataFiles(dataDir, skip);
  for (const f of files) cpSync(join(dataDir, f), join(o.dest, f), { recursive: true, preserveTimestamps: true });
  const manifest: Manifest = { createdAt: Date.now(), serverVersion: o.serverVersion, dataVersion: readDataVersion(dataDir)?.version ?? DATA_VERSION, store, files };
  writeFileSync(join(o.dest, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export function readManifest(dir: string): Manifest {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) throw new Error(`restore: ${dir} has no ${MANIFEST}: not a backup made by \`npm run ioc -- backup\``);
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

/**
 * Replace the data directory's contents with a backup; the server must be stopped. What was there is kept in
 * `<dataDir>/.before-restore-<time>/` (delete it once the restored server looks right).
 * @param storeFile where the configured DuckDB file lives (it may be outside the data directory)
 */
export function restoreDataDir(o: { src: string; dataDir: string; storeFile: string | null }): { setAside: string | null; manifest: Manifest } {
  const manifest = readManifest(o.src);
  if (manifest.dataVersion > DATA_VERSION) {
    throw new Error(`restore: the backup is in data format ${manifest.dataVersion} (server ${manifest.serverVersion}); this server reads format ${DATA_VERSION} and older`);
  }
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  let setAside: string | null = null;
  const present = readdirSync(dataDir).filter((n) => !n.startsWith(SET_ASIDE_PREFIX));
  const storeOutside = o.storeFile && relative(dataDir, resolve(o.storeFile)).startsWith('..');
  if (present.length || (storeOutside && existsSync(o.storeFile!))) {
    setAside = join(dataDir, `${SET_ASIDE_PREFIX}${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(setAside);
    for (const n of present) cpSync(join(dataDir, n), join(setAside, n), { recursive: true, preserveTimestamps: true });
    for (const n of present) rmSync(join(dataDir, n), { recursive: true, force: true });
    if (storeOutside && existsSync(o.storeFile!)) {
      cpSync(o.storeFile!, join(setAside, basename(o.storeFile!)));
      rmSync(o.storeFile!, { force: true });
      rmSync(`${o.storeFile!}.wal`, { force: true });
    }
  }
  for (const f of manifest.files) cpSync(join(o.src, f), join(dataDir, f), { preserveTimestamps: true });
  if (manifest.store.file) {
    const target = o.storeFile ?? join(dataDir, manifest.store.file);
    cpSync(join(o.src, manifest.store.file), target);
    if (existsSync(join(o.src, `${manifest.store.file}.wal`))) cpSync(join(o.src, `${manifest.store.file}.wal`), `${target}.wal`);
  }
  return { setAside, manifest };
}

// ---- the running server's side ----------------------------------------------------------------------------------

/** A fresh token in the data directory for this process: the CLI proves with it that it can read the data. */
export function writeControlToken(dataDir: string): string {
  const token = randomBytes(24).toString('base64url');
  const file = join(dataDir, CONTROL_TOKEN_FILE);
  writeFileSync(file, token, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** POST /control/backup: loopback only, with the control token; answers the staging directory it wrote. */
export function controlRoutes(o: { dataDir: string; store: Store; token: string; serverVersion: string }): Hono {
  const app = new Hono();
  const expected = Buffer.from(o.token);
  app.post('/backup', async (c) => {
    const given = Buffer.from((c.req.header('authorization') ?? '').replace(/^Bearer /, ''));
    const remote = getConnInfo(c).remote.address ?? '';
    if (!LOOPBACK.test(remote) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return c.json({ error: 'control: loopback only, with the token in the data directory' }, 403);
    }
    const staging = join(resolve(o.dataDir), `${STAGING_PREFIX}${Date.now()}-${randomBytes(3).toString('hex')}`);
    try {
      const manifest = await backupDataDir({ dataDir: o.dataDir, store: o.store, dest: staging, serverVersion: o.serverVersion });
      return c.json({ dir: staging, manifest });
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      return c.json({ error: `backup failed: ${e instanceof Error ? e.message : String(e)}` }, 500);
    }
  });
  return app;
}

/** size of a directory tree, bytes (the CLI reports it) */
export function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? treeBytes(p) : statSync(p).size;
  }
  return n;
}
