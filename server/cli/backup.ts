// `npm run ioc -- backup DIR`: a consistent copy of the store and the data directory into DIR (new or empty).
// With the server running, the server takes it (DuckDB lets one process have the file) and this command moves it
// into DIR; with the server stopped, this command opens the store and takes it itself.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { backupDataDir, CONTROL_TOKEN_FILE, treeBytes, type Manifest } from '../backup.ts';
import { createStore } from '../stores/index.ts';
import { configAndDir } from './index.ts';
import { serverVersion } from './version.ts';

export const usage = 'backup DIR                copy the store and the data directory into DIR, also while the server runs';

/** the loopback URL the running server answers on, whatever address it listens on */
export function localUrl(cfg: Config): string {
  const h = cfg.server.host;
  const host = h === '::' || h === '::1' ? '[::1]' : h === '0.0.0.0' || h.startsWith('127.') ? '127.0.0.1' : h;
  return `http://${host}:${cfg.server.port}`;
}

/** Ask the running server for a backup; null when no server answers (stopped). */
async function viaServer(cfg: Config): Promise<{ dir: string; manifest: Manifest } | null> {
  const tokenFile = join(cfg.server.dataDir, CONTROL_TOKEN_FILE);
  if (!existsSync(tokenFile)) return null;
  let res: Response;
  try {
    res = await fetch(`${localUrl(cfg)}/control/backup`, { method: 'POST', headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` } });
  } catch {
    return null; // nothing listening: the token is a stopped server's
  }
  const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as { dir: string; manifest: Manifest } | { error: string };
  if (!res.ok || 'error' in body) throw new Error(`backup: the running server refused: ${'error' in body ? body.error : res.status}`);
  return body;
}

function moveInto(staging: string, dest: string) {
  if (existsSync(dest)) rmdirSync(dest); // empty, checked before
  try {
    renameSync(staging, dest);
  } catch {
    // another file system: copy, then drop the staging copy
    cpSync(staging, dest, { recursive: true, preserveTimestamps: true });
    rmSync(staging, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<number> {
  const a = configAndDir(args, usage);
  if (!a) return 2;
  const { configPath, dir: dest } = a;
  if (existsSync(dest) && readdirSync(dest).length) {
    console.error(`backup: ${dest} is not empty; give a new directory (e.g. one named after the date)`);
    return 2;
  }
  const cfg = loadConfig(configPath);
  let manifest: Manifest;
  let how: string;
  const running = await viaServer(cfg);
  if (running) {
    mkdirSync(resolve(dest, '..'), { recursive: true });
    moveInto(running.dir, dest);
    manifest = running.manifest;
    how = 'taken by the running server';
  } else {
    const store = createStore(cfg.store, { dataDir: cfg.server.dataDir });
    await store.init();
    try {
      manifest = await backupDataDir({ dataDir: cfg.server.dataDir, store, dest, serverVersion: serverVersion() });
    } finally {
      await store.close();
    }
    how = 'server not running';
  }
  console.log(`backup written to ${dest} (${how}): ${manifest.store.file ?? `no ${manifest.store.kind} data`} + ${manifest.files.length} files, ${(treeBytes(dest) / 1e6).toFixed(1)} MB`);
  if (manifest.store.note) console.log(`  note: ${manifest.store.note}`);
  return 0;
}
