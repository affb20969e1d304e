// `npm ci` refuses a lock file that lacks an optional dependency some package declares (the platform binaries of
// other systems), and an install on such a system would then get no native binding. The lock must carry them all.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockEntry> };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as LockEntry;

/** where npm looks a dependency of the package at `at` up: its own node_modules, then each parent's */
function resolve(at: string, name: string): LockEntry | undefined {
  let dir = at;
  for (;;) {
    const hit = lock.packages[`${dir ? `${dir}/` : ''}node_modules/${name}`];
    if (hit) return hit;
    if (!dir) return undefined;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

describe('package-lock.json', () => {
  it('is a v3 lock whose root matches package.json', () => {
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(3);
    const root = lock.packages['']!;
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(root.devDependencies).toEqual(pkg.devDependencies);
  });

  it('carries every optional dependency any locked package declares (what npm ci checks)', () => {
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        if (!resolve(path, name)) missing.push(`${name} (optional dependency of ${path || 'the project'})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has the DuckDB binding of every supported platform, pinned by integrity', () => {
    const platforms = ['linux-x64', 'linux-arm64', 'win32-x64', 'darwin-x64', 'darwin-arm64'];
    const bindings = resolve('node_modules/@duckdb/node-bindings', '@duckdb/node-bindings');
    expect(bindings?.optionalDependencies).toBeDefined();
    for (const p of platforms) {
      const name = `@duckdb/node-bindings-${p}`;
      const e = resolve('node_modules/@duckdb/node-bindings', name);
      expect(e, name).toBeDefined();
      expect(e!.version, name).toBe(bindings!.optionalDependencies![name]);
      // npm fetches an entry without `resolved` from the configured registry by name and version
      if (e!.resolved) expect(e!.resolved, name).toMatch(/^https:\/\/registry\.npmjs\.org\//);
      expect(e!.integrity, name).toMatch(/^sha512-/);
      const [os, cpu] = p.split('-');
      expect(e!.os, name).toEqual([os]);
      expect(e!.cpu, name).toEqual([cpu]);
    }
  });
});
