// The audit trail: every change made by a person or an integration, kept through the store (both kinds) so it
// survives restarts and nothing in the API can edit it. `record` is synchronous for its callers and starts the write
// at once; entries a store outage held back stay in memory (bounded) and are retried, in order, with the next write.
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { AuditEntry } from '../../config/api.ts';
import type { AuditQuery, AuditRecord, Store } from '../stores/types.ts';
import { auditMatches } from '../stores/validate.ts';

export type { AuditEntry };

/** entries kept in memory while the store is down; past it the oldest are dropped (and logged) */
const MAX_PENDING = 10_000;

/** where the change came from, set per request by auditScope */
const scope = new AsyncLocalStorage<{ source: string | null }>();

export class AuditLog {
  private pending: AuditRecord[] = [];
  private last = 0;
  private flushing: Promise<void> | null = null;
  readonly counters = { recorded: 0, dropped: 0, writeFailures: 0 };

  constructor(
    private readonly store: Pick<Store, 'writeAudit' | 'queryAudit'>,
    private readonly log: Pick<Logger, 'warn' | 'error'>,
    private readonly now: () => number = Date.now,
  ) {}

  record(who: string, action: string, subject: string, details?: Record<string, unknown>): AuditEntry {
    const ts = this.now();
    // seq orders entries as recorded, also several within one millisecond
    this.last = Math.max(ts, this.last + 1);
    const e: AuditRecord = { seq: this.last, ts, who, action, subject, source: scope.getStore()?.source ?? null, ...(details ? { details } : {}) };
    this.counters.recorded++;
    this.pending.push(e);
    if (this.pending.length > MAX_PENDING) {
      const lost = this.pending.splice(0, this.pending.length - MAX_PENDING);
      this.counters.dropped += lost.length;
      this.log.error({ dropped: lost.length }, 'audit: store unavailable too long; oldest entries dropped');
    }
    void this.flush().catch(() => {});
    return e;
  }

  /** Write what is pending; rejects when the store refused (the entries stay pending). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.pending.length) return Promise.resolve();
    const run = (async () => {
      // one turn first: the finally below must not run before `this.flushing` is set
      await Promise.resolve();
      try {
        while (this.pending.length) {
          const batch = this.pending.slice(0, 500);
          try {
            await this.store.writeAudit(batch);
          } catch (err) {
            this.counters.writeFailures++;
            this.log.warn({ err: String(err), pending: this.pending.length }, 'audit: not written yet; kept and retried');
            throw err;
          }
          this.pending.splice(0, batch.length);
        }
      } finally {
        this.flushing = null;
      }
    })();
    this.flushing = run;
    return run;
  }

  /** Newest first; entries not yet in the store (store down) are included. */
  async list(q: AuditQuery): Promise<AuditEntry[]> {
    await this.flush().catch(() => {});
    const stored = await this.store.queryAudit(q);
    if (!this.pending.length) return stored;
    const held = this.pending.filter((e) => auditMatches(e, q));
    return [...held.reverse(), ...stored].sort((a, b) => b.seq - a.seq).slice(0, q.limit);
  }

  /** An older data directory's audit.jsonl moves into the store once (the file is renamed, not deleted). */
  async importJsonl(file: string): Promise<number> {
    if (!existsSync(file)) return 0;
    const entries: AuditRecord[] = [];
    let seq = 0;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as Omit<AuditRecord, 'seq' | 'source'>;
        seq = Math.max(e.ts, seq + 1);
        entries.push({ source: null, ...e, seq });
      } catch {
        // a torn last line (crash mid-append) is skipped, as the file's reader did
      }
    }
    for (let i = 0; i < entries.length; i += 500) await this.store.writeAudit(entries.slice(i, i + 500));
    renameSync(file, `${file}.imported`);
    this.last = Math.max(this.last, seq);
    return entries.length;
  }
}

/**
 * Middleware: entries recorded while handling a request name its client address. The answer does not wait for the
 * store (an ingest flush may hold its write queue); `record` has started the write, and reads flush first.
 */
export function auditScope(address: (c: Context) => string): MiddlewareHandler {
  return (c, next) => scope.run({ source: address(c) }, next);
}
