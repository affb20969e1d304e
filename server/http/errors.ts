// The one place where errors become HTTP answers: app.onError in server/app.ts. Domain errors (server/errors.ts)
// map by kind; Hono's HTTPException keeps its status; anything else is a 500 that is logged, not shown.
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { DomainError } from '../errors.ts';

/** The `{ error }` answer for a known error, or null for an unexpected one. */
export function errorResponse(err: Error, c: Context): Response | null {
  if (err instanceof DomainError) return c.json({ error: err.message }, err.status);
  if (err instanceof HTTPException) return c.json({ error: err.message || 'bad request' }, err.status as ContentfulStatusCode);
  return null;
}

export function apiErrorHandler(log?: Pick<Logger, 'error'>): ErrorHandler {
  return (err, c) => {
    const known = errorResponse(err, c);
    if (known) return known;
    log?.error({ err, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  };
}
