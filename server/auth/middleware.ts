import { getCookie } from 'hono/cookie';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiTokenConfig } from '../../config/schema.ts';
import { peerOf } from '../http/net.ts';
import { DUMMY_HASH, sameSecret, verifySecret } from './password.ts';
import { SESSION_COOKIE, type Sessions, type SessionUser } from './sessions.ts';
import { throttled, type AuthThrottle } from './throttle.ts';

export type AuthEnv = { Variables: { user: SessionUser } };

export interface AuthOptions {
  /** wrong API tokens are throttled per address and per token id */
  throttle?: AuthThrottle;
  /** the client's address (trusted proxies honoured); default the peer */
  address?: (c: Context) => string;
}

/**
 * Who a request is: a live session cookie, or an API token (`Authorization: Bearer <id>.<secret>`) from
 * config.apiTokens acting as a user named `token:<id>` with the token's role and carrier. `null`: neither was
 * offered; a Response: a wrong or throttled token, the answer to send.
 */
export function authenticator(sessions: Sessions, tokens: ApiTokenConfig[] = [], o: AuthOptions = {}) {
  const byId = new Map(tokens.map((t) => [t.id, t]));
  // scrypt costs ~50 ms: remember secrets already verified in this process (compared in constant time)
  const verified = new Map<string, string>();
  const address = o.address ?? peerOf;
  return async (c: Context): Promise<SessionUser | Response | null> => {
    const user = sessions.get(getCookie(c, SESSION_COOKIE));
    if (user) return user;
    const auth = c.req.header('authorization');
    if (!auth?.startsWith('Bearer ')) return null;
    const raw = auth.slice(7).trim();
    const dot = raw.indexOf('.');
    const id = dot > 0 ? raw.slice(0, dot) : '';
    const secret = raw.slice(dot + 1);
    const from = address(c);
    const wait = o.throttle?.check('api_token', from, id) ?? 0;
    if (wait > 0) return throttled(c, wait);
    const t = byId.get(id);
    const cached = t ? verified.get(t.id) : undefined;
    // an unknown id costs one scrypt like a wrong secret: timing does not tell which ids exist
    const ok = cached !== undefined ? sameSecret(cached, secret) : await verifySecret(secret, t?.tokenHash ?? DUMMY_HASH);
    if (!t || !ok) {
      o.throttle?.fail('api_token', from, id);
      return c.json({ error: 'invalid API token' }, 401);
    }
    verified.set(t.id, secret);
    return { username: `token:${t.id}`, role: t.role, ...(t.carrier ? { carrier: t.carrier } : {}) };
  };
}

/** 401 unless the request carries a live session cookie or a valid API token (see authenticator). */
export function requireSession(sessions: Sessions, tokens: ApiTokenConfig[] = [], o: AuthOptions = {}): MiddlewareHandler<AuthEnv> {
  const who = authenticator(sessions, tokens, o);
  return async (c, next) => {
    const user = await who(c);
    if (user instanceof Response) return user;
    if (!user) return c.json({ error: 'login required' }, 401);
    c.set('user', user);
    await next();
  };
}
