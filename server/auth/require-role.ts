// Role checks as middleware, with the roles a route allows taken from its contract (config/api.ts `roles`).
import type { MiddlewareHandler } from 'hono';
import type { Role } from '../../config/schema.ts';
import type { AuthEnv } from './middleware.ts';

/** 403 `{ error }` unless the session's role is one of `roles` (runs after requireSession). */
export function requireRole(roles: readonly Role[], refusal = 'your role may not do this'): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    if (!roles.includes(c.get('user').role)) return c.json({ error: refusal }, 403);
    await next();
  };
}
