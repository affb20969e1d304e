// The data directory's format version (README "Upgrading"). `data-version.json` says which format the files
// are in; a newer server migrates an older directory on start, step by step, and refuses one written by a newer
// server (its files may mean something this one does not know) instead of silently misreading it.
//
// Format history:
//   0  0.1.0 and earlier: no version file. DuckDB tables as server/stores/duckdb.ts created them then; admin.json,
//      maintenance.json, reports/ beside them.
//   1  the version file. The DuckDB tables are unchanged: fields added to a measurement since become nullable columns
//      when the store opens (duckdb.ts), so the step only stamps the directory.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeAtomic } from './atomic-file.ts';
import { join } from 'node:path';

export const DATA_VERSION = 1;
export const VERSION_FILE = 'data-version.json';

export interface DataVersionFile {
  version: number;
  /** the server release that last wrote the directory */
  writtenBy: string;
  /** when each migration step ran (epoch ms), by target version */
  migrated?: Record<string, number>;
}

export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

interface Step {
  to: number;
  what: string;
  run(dataDir: string): void | Promise<void>;
}
const STEPS: Step[] = [{ to: 1, what: 'version file added; tables kept as they are', run: () => {} }];

export function readDataVersion(dataDir: string): DataVersionFile | null {
  const file = join(dataDir, VERSION_FILE);
  if (!existsSync(file)) return null;
  const v = JSON.parse(readFileSync(file, 'utf8')) as DataVersionFile;
  if (!Number.isInteger(v.version) || v.version < 0) throw new DataDirError(`${file}: "version" must be a whole number, got ${JSON.stringify(v.version)}`);
  return v;
}

export function writeDataVersion(dataDir: string, v: DataVersionFile): void {
  const file = join(dataDir, VERSION_FILE);
  writeAtomic(file, `${JSON.stringify(v, null, 2)}\n`, 0o644);
}

/**
 * Before anything opens the directory: stamp a new one, migrate an older one, refuse a newer one.
 * @returns the steps run (empty when the directory was current or new)
 */
export async function prepareDataDir(dataDir: string, serverVersion: string, log?: { info(o: object, m: string): void }): Promise<string[]> {
  const current = readDataVersion(dataDir);
  // No version file: a directory with files in it was written by 0.1.0 or earlier; an empty one is new.
  const fresh = !current && (!existsSync(dataDir) || readdirSync(dataDir).filter((f) => !f.startsWith('.')).length === 0);
  if (fresh) {
    writeDataVersion(dataDir, { version: DATA_VERSION, writtenBy: serverVersion });
    return [];
  }
  const from = current?.version ?? 0;
  if (from > DATA_VERSION) {
    throw new DataDirError(
      `data directory ${dataDir} is in format ${from}, written by version ${current!.writtenBy}; this server (${serverVersion}) reads format ${DATA_VERSION} and older. ` +
        `Run the newer version again, or restore a backup taken before the upgrade (npm run ioc -- restore DIR).`,
    );
  }
  const ran: string[] = [];
  const migrated = { ...current?.migrated };
  for (const step of STEPS.filter((s) => s.to > from)) {
    await step.run(dataDir);
    migrated[String(step.to)] = Date.now();
    ran.push(`${step.to - 1} -> ${step.to}: ${step.what}`);
    log?.info({ dataDir, to: step.to }, `data directory migrated to format ${step.to}: ${step.what}`);
    // after each step, so a failure later resumes from the last finished one
    writeDataVersion(dataDir, { version: step.to, writtenBy: serverVersion, migrated });
  }
  if (!ran.length && current?.writtenBy !== serverVersion) writeDataVersion(dataDir, { ...current!, writtenBy: serverVersion });
  return ran;
}
