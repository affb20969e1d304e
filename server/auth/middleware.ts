import { getCookie } from 'hono/cookie';
import type { MiddlewareHandler } from 'hono';
import type { ApiTokenConfig } from '../../config/schema.ts';
import { verifySecret } from './password.ts';
import { SESSION_COOKIE, type Sessions, type SessionUser } from './sessions.ts';

export type AuthEnv = { Variables: { user: SessionUser } };

/**
 * 401 unless the request carries a live session cookie, or an API token (`Authorization: Bearer <id>.<secret>`)
 * from config.apiTokens. A token acts as a user named `token:<id>` with the token's role and carrier.
 */
export function requireSession(sessions: Sessions, tokens: ApiTokenConfig[] = []): MiddlewareHandler<AuthEnv> {
  const byId = new Map(tokens.map((t) => [t.id, t]));
  // scrypt costs ~50 ms: remember secrets already verified in this process
  const verified = new Map<string, string>();
  return async (c, next) => {
    let user = sessions.get(getCookie(c, SESSION_COOKIE));
    const auth = c.req.header('authorization');
    if (!user && auth?.startsWith('Bearer ')) {
      const raw = auth.slice(7).trim();
      const dot = raw.indexOf('.');
      const t = dot > 0 ? byId.get(raw.slice(0, dot)) : undefined;
      const secret = raw.slice(dot + 1);
      if (t && (verified.get(t.id) === secret || (await verifySecret(secret, t.tokenHash)))) {
        verified.set(t.id, secret);
        user = { username: `token:${t.id}`, role: t.role, ...(t.carrier ? { carrier: t.carrier } : {}) };
      } else return c.json({ error: 'invalid API token' }, 401);
    }
    if (!user) return c.json({ error: 'login required' }, 401);
    c.set('user', user);
    await next();
  };
}
