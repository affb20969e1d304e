// `npm run ioc -- restore DIR`: put a backup back as the data directory. The server must be stopped; what was in
// the data directory is kept in <dataDir>/.before-restore-<time>/. Run as the service's user, or as root (the
// restored files are then given to the data directory's owner). The next start migrates an older backup.
import { chownSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import { restoreDataDir } from '../backup.ts';
import { createStore } from '../stores/index.ts';
import { localUrl } from './backup.ts';
import { configAndDir } from './index.ts';

export const usage = 'restore DIR               replace the data directory with the backup in DIR (server stopped)';

function chownTree(path: string, uid: number, gid: number) {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const n of readdirSync(path)) chownTree(join(path, n), uid, gid);
}

export async function run(args: string[]): Promise<number> {
  const a = configAndDir(args, usage);
  if (!a) return 2;
  const { configPath, dir: src } = a;
  const cfg = loadConfig(configPath);
  const dataDir = cfg.server.dataDir;
  const answering = await fetch(`${localUrl(cfg)}/api/health`, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false);
  if (answering) {
    console.error(`restore: a server answers on ${localUrl(cfg)}; stop it first (systemctl stop ioc-server), then restore and start it again`);
    return 2;
  }
  const storeFile = cfg.store.kind === 'duckdb' ? resolve(dataDir, cfg.store.file) : null;
  if (storeFile && existsSync(storeFile)) {
    // a server listening elsewhere still holds DuckDB's lock: opening the file tells
    const probe = createStore(cfg.store, { dataDir });
    try {
      await probe.init();
    } catch (e) {
      console.error(`restore: ${storeFile} is in use (${e instanceof Error ? e.message : String(e)}); stop the server first`);
      return 2;
    } finally {
      await probe.close();
    }
  }
  const { setAside, manifest } = restoreDataDir({ src, dataDir, storeFile });
  if (process.getuid?.() === 0 && existsSync(dataDir)) {
    const { uid, gid } = statSync(dataDir);
    if (uid !== 0) chownTree(dataDir, uid, gid);
  }
  console.log(`restored ${src} (taken ${new Date(manifest.createdAt).toISOString()} by version ${manifest.serverVersion}, data format ${manifest.dataVersion}) into ${dataDir}`);
  if (setAside) console.log(`  the previous contents are in ${setAside}: delete it once the restored server looks right`);
  return 0;
}
