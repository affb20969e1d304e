// The status file: `run` rewrites it every few seconds and once more at exit, `status` reads it. It lets a part-time
// officer (or a script) see whether the agent is enrolled, running and connected without reading logs. No secrets:
// it is world-readable (0644) in the state folder.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { replaceFileSync } from './atomic-file.ts';

export const STATUS_FILE = 'status.json';
/** how often `run` rewrites the file */
export const STATUS_INTERVAL_MS = 5_000;

const ms = z.number().int().nonnegative();

export const agentStatusSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  version: z.string(),
  pid: z.number().int().positive(),
  /** server base URL, without any user:password part */
  server: z.string(),
  commune: z.string().optional(),
  startedAt: ms,
  updatedAt: ms,
  /** the writer's period: a file older than a few of these belongs to a process that is gone or stuck */
  intervalMs: z.number().int().positive(),
  /** set by the last write at a clean exit */
  stoppedAt: ms.optional(),
  /** the link to the server is open */
  connected: z.boolean(),
  /** since when `connected` has had its current value */
  connectedSince: ms.nullable(),
  lastAckAt: ms.nullable(),
  planRev: z.string().nullable(),
  /** results not yet stored by the server */
  pending: z.number().int().nonnegative(),
  /** results dropped by the spool bounds, ever */
  dropped: z.number().int().nonnegative(),
});
export type AgentStatus = z.infer<typeof agentStatusSchema>;

/** The status file's path: explicit, else in the state folder, else beside the spool folder, else none. */
export function statusFilePath(o: { statusFile?: string | undefined; stateDir?: string | undefined; spoolDir?: string | undefined }): string | undefined {
  if (o.statusFile) return o.statusFile;
  if (o.stateDir) return join(o.stateDir, STATUS_FILE);
  if (o.spoolDir && o.spoolDir !== 'none') return `${o.spoolDir}.status.json`;
  return undefined;
}

/** Replace the file atomically so a reader never sees half of it. */
export function writeStatusFile(file: string, s: AgentStatus): void {
  // no fsync: rewritten every few seconds, and a stale file after a power cut only says "not running"
  replaceFileSync(file, `${JSON.stringify(s)}\n`, { mode: 0o644, fsync: false });
}

/** The file's content; undefined when there is no file; an Error when it is unreadable or malformed. */
export function readStatusFile(file: string): AgentStatus | undefined | Error {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return e instanceof Error ? e : new Error(String(e));
  }
  try {
    const p = agentStatusSchema.safeParse(JSON.parse(text));
    return p.success ? p.data : new Error(`${file}: not a status file`);
  } catch (e) {
    return new Error(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Is this pid a live process? EPERM means it exists but belongs to another user (the service user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type Liveness = 'running' | 'stopped' | 'gone' | 'stale';

/**
 * What the file says about the process: `stopped` (it wrote its last status at a clean exit), `gone` (the pid is no
 * longer a process: killed or crashed), `stale` (the pid exists but the file has not been rewritten for three periods,
 * e.g. the pid was reused or the agent hangs), else `running`.
 */
export function liveness(s: AgentStatus, now = Date.now(), alive: (pid: number) => boolean = pidAlive): Liveness {
  if (s.stoppedAt !== undefined) return 'stopped';
  if (!alive(s.pid)) return 'gone';
  if (now - s.updatedAt > Math.max(3 * s.intervalMs, 15_000)) return 'stale';
  return 'running';
}

/** Rewrites the status file every `intervalMs` from `snapshot()`; `stop()` writes the final one. */
export class StatusWriter {
  private timer: NodeJS.Timeout | undefined;
  private failedOnce = false;

  constructor(
    readonly file: string,
    private readonly snapshot: () => Omit<AgentStatus, 'v' | 'updatedAt' | 'intervalMs'>,
    private readonly onError: (err: string) => void = () => {},
    readonly intervalMs = STATUS_INTERVAL_MS,
  ) {}

  start(): void {
    this.write();
    this.timer = setInterval(() => this.write(), this.intervalMs);
    this.timer.unref();
  }

  write(extra: Partial<AgentStatus> = {}): void {
    try {
      writeStatusFile(this.file, { v: 1, ...this.snapshot(), updatedAt: Date.now(), intervalMs: this.intervalMs, ...extra });
      this.failedOnce = false;
    } catch (e) {
      // Say it once, not every five seconds: a status file is a convenience, the probing goes on without it.
      if (!this.failedOnce) this.onError(e instanceof Error ? e.message : String(e));
      this.failedOnce = true;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.write({ stoppedAt: Date.now(), connected: false });
  }
}
