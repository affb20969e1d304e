// The audit trail: one JSON line per change to agents, enrolments or the config (data/audit.jsonl), appended and
// flushed before the change is answered. Read back newest first for GET /api/audit.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { AuditEntry } from '../../config/api.ts';

export type { AuditEntry };

export class AuditLog {
  constructor(
    readonly file: string,
    private readonly now: () => number = Date.now,
  ) {}

  record(who: string, action: string, subject: string, details?: Record<string, unknown>): AuditEntry {
    const e: AuditEntry = { ts: this.now(), who, action, subject, ...(details ? { details } : {}) };
    appendFileSync(this.file, `${JSON.stringify(e)}\n`, { mode: 0o600, flush: true });
    return e;
  }

  /** newest first; a torn last line (crash mid-append) is skipped */
  list(q: { limit: number; subject?: string | undefined; action?: string | undefined }): AuditEntry[] {
    if (!existsSync(this.file)) return [];
    const out: AuditEntry[] = [];
    const lines = readFileSync(this.file, 'utf8').split('\n');
    for (let i = lines.length - 1; i >= 0 && out.length < q.limit; i--) {
      const line = lines[i]!;
      if (!line) continue;
      let e: AuditEntry;
      try {
        e = JSON.parse(line) as AuditEntry;
      } catch {
        continue;
      }
      if (q.subject && e.subject !== q.subject) continue;
      if (q.action && e.action !== q.action) continue;
      out.push(e);
    }
    return out;
  }
}
