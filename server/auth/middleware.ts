import { getCookie } from 'hono/cookie';
import type { MiddlewareHandler } from 'hono';
import { SESSION_COOKIE, type Sessions, type SessionUser } from './sessions.ts';

export type AuthEnv = { Variables: { user: SessionUser } };

/** 401 unless the request carries a live session cookie. */
export function requireSession(sessions: Sessions): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const user = sessions.get(getCookie(c, SESSION_COOKIE));
    if (!user) return c.json({ error: 'login required' }, 401);
    c.set('user', user);
    await next();
  };
}
