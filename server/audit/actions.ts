// Changes made through the REST API that their own modules do not record (acknowledgements, notes, maintenance
// windows, report requests): each route declares its action with its contract (config/api.ts `audit`), recorded
// here once the route has answered with success, with the body as "after".
import type { MiddlewareHandler } from 'hono';
import { API, splitRoute, type ApiRoute, type AuditDecision, type RouteContract } from '../../config/api.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { AuditLog } from './log.ts';

interface Action {
  method: string;
  /** the route's path as a pattern: one group per `:param`, in order */
  path: RegExp;
  params: string[];
  action: string;
  subject: `param:${string}` | `body:${string}`;
}

const recordedHere = (a: AuditDecision | undefined): a is Extract<AuditDecision, { subject: string }> => !!a && 'subject' in a;

/** The routes whose action this middleware records, literal paths first so `/maintenance` never reads as an `:id`. */
export const ACTIONS: Action[] = (Object.entries(API) as [ApiRoute, RouteContract][])
  .flatMap(([key, r]) => {
    if (!recordedHere(r.audit)) return [];
    const [method, path] = splitRoute(key);
    const params = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const pattern = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '([^/]+)');
    return [{ method, path: new RegExp(`^${pattern}$`), params, action: r.audit.action, subject: r.audit.subject }];
  })
  .sort((a, b) => a.params.length - b.params.length);

function subjectOf(a: Action, m: RegExpMatchArray, body: Record<string, unknown> | undefined): string {
  const [from, name] = a.subject.split(':') as ['param' | 'body', string];
  if (from === 'param') return decodeURIComponent(m[a.params.indexOf(name) + 1] ?? '');
  return String(body?.[name] ?? '');
}

export function auditActions(audit: AuditLog): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    await next();
    if (c.res.status >= 300) return;
    for (const a of ACTIONS) {
      const m = c.req.method === a.method ? c.req.path.match(a.path) : null;
      if (!m) continue;
      // the validator has read the body already: this is its cached copy
      const body = a.method === 'POST' ? ((await c.req.json().catch(() => undefined)) as Record<string, unknown> | undefined) : undefined;
      audit.record(c.get('user').username, a.action, subjectOf(a, m, body), body ? { after: body } : undefined);
      return;
    }
  };
}
