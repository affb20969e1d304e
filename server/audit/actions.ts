// Changes made through the REST API that their own modules do not record: acknowledgements, notes, maintenance
// windows and report requests. Recorded once the route has answered with success, with the body as "after".
import type { MiddlewareHandler } from 'hono';
import type { AuthEnv } from '../auth/middleware.ts';
import type { AuditLog } from './log.ts';

interface Action {
  method: string;
  /** matched against the path below /api */
  path: RegExp;
  action: string;
  /** the subject: a path parameter (match group 1) or a body field */
  subject: (m: RegExpMatchArray, body: Record<string, unknown> | undefined) => string;
}

const ACTIONS: Action[] = [
  { method: 'POST', path: /^\/api\/incidents\/([^/]+)\/ack$/, action: 'incident.ack', subject: (m) => decodeURIComponent(m[1]!) },
  { method: 'POST', path: /^\/api\/incidents\/([^/]+)\/notes$/, action: 'incident.note', subject: (m) => decodeURIComponent(m[1]!) },
  { method: 'POST', path: /^\/api\/incidents\/maintenance$/, action: 'maintenance.add', subject: (_m, b) => String(b?.id ?? '') },
  { method: 'DELETE', path: /^\/api\/incidents\/maintenance\/([^/]+)$/, action: 'maintenance.remove', subject: (m) => decodeURIComponent(m[1]!) },
  { method: 'POST', path: /^\/api\/reports$/, action: 'report.request', subject: (_m, b) => String(b?.kind ?? '') },
];

export function auditActions(audit: AuditLog): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    await next();
    if (c.res.status >= 300) return;
    for (const a of ACTIONS) {
      const m = c.req.method === a.method ? c.req.path.match(a.path) : null;
      if (!m) continue;
      // the validator has read the body already: this is its cached copy
      const body = a.method === 'POST' ? ((await c.req.json().catch(() => undefined)) as Record<string, unknown> | undefined) : undefined;
      audit.record(c.get('user').username, a.action, a.subject(m, body), body ? { after: body } : undefined);
      return;
    }
  };
}
