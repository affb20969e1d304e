// The agent's shipped artefacts, built once per test file into a temp folder by the same script `npm run build:agent`
// runs, so the tests check what an officer gets.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '../..');
export const WINE = '/usr/lib/wine/wine64';

/**
 * Builds into a new temp folder named after `prefix` and returns it. `all`: the bundle, the Linux executable and,
 * where Wine is installed to run it, the Windows one.
 */
export async function buildAgent(prefix: string, targets: 'mjs' | 'all'): Promise<string> {
  const dist = mkdtempSync(join(tmpdir(), prefix));
  const list = targets === 'mjs' ? 'mjs' : ['mjs', 'linux-x64', ...(existsSync(WINE) ? ['win-x64'] : [])].join(',');
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'agent/build/build.ts'], {
    cwd: ROOT, env: { ...process.env, IOC_AGENT_DIST: dist, IOC_AGENT_TARGETS: list }, maxBuffer: 16 << 20,
  });
  return dist;
}
