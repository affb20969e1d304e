// Enrolments and enrolled agents, kept in the server's data directory (data/fleet.json), not in the YAML: they are
// made at run time from the agents page and survive restarts. Each change is written atomically (temporary file,
// fsync, rename, fsync of the folder) so a crash leaves the old file or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { enrollmentRowSchema, siteSchema, uplinkInSchema } from '../../config/api.ts';
import { ConfigError } from '../../config/errors.ts';
import { SECRET_HASH, type AgentConfig } from '../../config/schema.ts';
import { formatPath } from '../../config/wire.ts';
import { writeAtomic } from '../atomic-file.ts';
import type { UpdatePolicy } from './releases.ts';

const ms = z.number().int();

// what the API lists of an enrolment, plus what only the book keeps
const enrolmentSchema = enrollmentRowSchema.extend({
  codeHash: z.string(),
  /** set when the code was used (it works once) */
  usedAt: ms.optional(),
  agentId: z.string().optional(),
});
export type Enrolment = z.infer<typeof enrolmentSchema>;

const enrolledAgentSchema = z.object({
  id: z.string(),
  name: z.string().nullable().default(null),
  commune: z.string(),
  site: siteSchema,
  uplinks: z.array(uplinkInSchema).min(1),
  targets: z.array(z.string()).optional(),
  tokenHash: z.string().regex(SECRET_HASH),
  enrolledAt: ms,
  /** the enrolment it came from, and who created that */
  enrolment: z.string(),
  createdBy: z.string(),
  hostname: z.string().nullable().default(null),
  platform: z.string().nullable().default(null),
  version: z.string().nullable().default(null),
  /** a revoked agent keeps its record so its id is never given again (its stored data is tagged with it) */
  revokedAt: ms.optional(),
});
export type EnrolledAgent = z.infer<typeof enrolledAgentSchema>;

const fleetFileSchema = z.object({
  version: z.literal(1),
  /** the salt of every code hash (codes.ts) */
  codeSalt: z.string(),
  enrolments: z.array(enrolmentSchema),
  agents: z.array(enrolledAgentSchema),
  /** self-update: paused, or pinned to one version (absent from files written before self-update) */
  updates: z.object({ paused: z.boolean().default(false), pin: z.string().nullable().default(null) }).prefault({}),
});
type FleetFile = z.infer<typeof fleetFileSchema>;

/** Used or expired enrolments are forgotten this long after they expire (the audit log keeps their story). */
const KEEP_CLOSED_MS = 7 * 86_400_000;

export class FleetBook {
  private data: FleetFile;

  constructor(
    readonly file: string,
    private readonly now: () => number = Date.now,
  ) {
    if (!existsSync(file)) {
      this.data = { version: 1, codeSalt: randomBytes(16).toString('base64'), enrolments: [], agents: [], updates: { paused: false, pin: null } };
      this.save();
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(file, [`not valid JSON (${e instanceof Error ? e.message : String(e)})`]);
    }
    const r = fleetFileSchema.safeParse(raw);
    if (!r.success) throw new ConfigError(file, r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
    this.data = r.data;
  }

  get codeSalt(): string {
    return this.data.codeSalt;
  }

  /** enrolments whose code still works */
  openEnrolments(): Enrolment[] {
    const t = this.now();
    return this.data.enrolments.filter((e) => e.usedAt === undefined && e.expiresAt > t);
  }

  /** the open enrolment with this code hash */
  findOpen(codeHash: string): Enrolment | undefined {
    return this.openEnrolments().find((e) => e.codeHash === codeHash);
  }

  addEnrolment(e: Enrolment): void {
    const t = this.now();
    this.data.enrolments = this.data.enrolments.filter((x) => x.expiresAt + KEEP_CLOSED_MS > t);
    this.data.enrolments.push(e);
    this.save();
  }

  /** withdraw an open enrolment; false when there is none with this id */
  removeEnrolment(id: string): boolean {
    const before = this.data.enrolments.length;
    this.data.enrolments = this.data.enrolments.filter((e) => !(e.id === id && e.usedAt === undefined));
    if (this.data.enrolments.length === before) return false;
    this.save();
    return true;
  }

  get updates(): UpdatePolicy {
    return { ...this.data.updates };
  }

  setUpdates(u: UpdatePolicy): void {
    const before = this.data.updates;
    this.data.updates = { ...u };
    try {
      this.save();
    } catch (err) {
      this.data.updates = before;
      throw err;
    }
  }

  /** every agent ever enrolled here, revoked ones included */
  allAgents(): readonly EnrolledAgent[] {
    return this.data.agents;
  }

  activeAgents(): EnrolledAgent[] {
    return this.data.agents.filter((a) => a.revokedAt === undefined);
  }

  agent(id: string): EnrolledAgent | undefined {
    return this.data.agents.find((a) => a.id === id && a.revokedAt === undefined);
  }

  /** the code is spent and the agent recorded, in one write */
  enrol(e: Enrolment, agent: EnrolledAgent): void {
    e.usedAt = agent.enrolledAt;
    e.agentId = agent.id;
    this.data.agents.push(agent);
    this.save();
  }

  /** change an active agent and write the file; the change is undone when the write fails */
  update(id: string, change: (a: EnrolledAgent) => void): EnrolledAgent {
    const a = this.agent(id);
    if (!a) throw new Error(`no enrolled agent ${id}`);
    const before = structuredClone(a);
    change(a);
    try {
      this.save();
    } catch (err) {
      Object.assign(a, before);
      throw err;
    }
    return a;
  }

  private save(): void {
    writeAtomic(this.file, `${JSON.stringify(this.data, null, 1)}\n`, 0o600);
  }
}

/** the agent as the directory sees it */
export function agentConfigOf(a: EnrolledAgent): AgentConfig {
  return { id: a.id, commune: a.commune, site: a.site, tokenHash: a.tokenHash, uplinks: a.uplinks.map((u) => ({ ...u })), ...(a.targets ? { targets: a.targets } : {}) };
}
