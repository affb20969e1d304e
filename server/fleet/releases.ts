// The agent build this server offers for self-update: dist/agent of the install (npm run build:agent), or
// server.agentReleasesDir. Its release.json names each artefact's platform, size and SHA-256, taken when it was built;
// the agent checks the file it downloads against that hash, so a file damaged or swapped since is refused.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { releaseArtefactSchema, type PlanRelease } from '../../config/wire.ts';

const manifestSchema = z.object({
  version: z.string().max(32),
  node: z.string(),
  builtAt: z.string().nullable().default(null),
  artefacts: z.array(releaseArtefactSchema),
});
export type Release = z.infer<typeof manifestSchema>;

/** admin's say over updates (data/fleet.json) */
export interface UpdatePolicy {
  paused: boolean;
  /** the fleet stays on this version: only a served build of exactly this version is offered */
  pin: string | null;
}

export class AgentReleases {
  private cached: { mtimeMs: number; release: Release | null } | null = null;
  /** why the last read found no usable build (shown in the log once per change) */
  problem: string | null = null;

  constructor(readonly dir: string) {}

  /** the served build, re-read when release.json changes (a new build:agent needs no restart) */
  current(): Release | null {
    const file = join(this.dir, 'release.json');
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      this.cached = null;
      this.problem = `${file} not found (run npm run build:agent)`;
      return null;
    }
    if (this.cached?.mtimeMs === mtimeMs) return this.cached.release;
    let release: Release | null = null;
    try {
      const r = manifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (r.success) release = { ...r.data, artefacts: r.data.artefacts.filter((a) => existsSync(join(this.dir, a.file))) };
      this.problem = r.success ? null : `${file}: ${r.error.issues[0]?.message ?? 'invalid'}`;
    } catch (e) {
      this.problem = `${file}: ${e instanceof Error ? e.message : String(e)}`;
    }
    this.cached = { mtimeMs, release };
    return release;
  }

  /** the path of a served artefact, or null for any name the manifest does not list */
  path(file: string): string | null {
    return this.current()?.artefacts.some((a) => a.file === file) ? join(this.dir, file) : null;
  }

  /** what the plan offers: nothing while paused, or while pinned to a version other than the served one */
  offer(policy: UpdatePolicy): PlanRelease | undefined {
    const r = this.current();
    if (!r || policy.paused || (policy.pin !== null && policy.pin !== r.version)) return undefined;
    return { version: r.version, artefacts: r.artefacts };
  }
}
