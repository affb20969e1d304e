// GET /api/audit (JSON) and /api/audit/csv: the audit trail with filters, for administrators and DOST (read-only:
// there is no route that changes or deletes an entry).
import { Hono } from 'hono';
import { API, type ApiResponseIn, type AuditEntry } from '../../config/api.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { requireRole } from '../auth/require-role.ts';
import type { AuditLog } from '../audit/log.ts';
import { valid } from '../http/validate.ts';

const REFUSED = 'administrators and DOST only';

export function auditRoutes(audit: AuditLog) {
  const roles = requireRole(API['GET /api/audit'].roles, REFUSED);
  return new Hono<AuthEnv>()
    .get('/', roles, valid('query', API['GET /api/audit'].query), async (c) =>
      c.json((await audit.list(c.req.valid('query'))) satisfies ApiResponseIn<'GET /api/audit'>),
    )
    .get('/csv', roles, valid('query', API['GET /api/audit/csv'].query), async (c) => {
      const rows = await audit.list(c.req.valid('query'));
      c.header('Content-Type', 'text/csv; charset=utf-8');
      c.header('Content-Disposition', 'attachment; filename="audit.csv"');
      // BOM: Excel opens UTF-8 (Vietnamese names) correctly only with it
      return c.body(`\uFEFF${toCsv(rows)}`);
    });
}

const COLUMNS = ['time', 'who', 'source', 'action', 'subject', 'details'] as const;

export function toCsv(rows: AuditEntry[]): string {
  const lines = [COLUMNS.join(',')];
  for (const e of rows) {
    lines.push([new Date(e.ts).toISOString(), e.who, e.source ?? '', e.action, e.subject, e.details ? JSON.stringify(e.details) : ''].map(cell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** RFC 4180 quoting; a leading = + - @ is defused so a spreadsheet does not run it as a formula */
function cell(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
