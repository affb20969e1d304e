import { getCookie } from 'hono/cookie';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiTokenConfig } from '../../config/schema.ts';
import { peerOf } from '../http/net.ts';
import { DUMMY_HASH, sameSecret, verifySecret } from './password.ts';
import { SESSION_COOKIE, type Sessions, type SessionUser } from './sessions.ts';
import { throttled, type AuthThrottle } from './throttle.ts';

export type AuthEnv = { Variables: { user: SessionUser } };

/** The API tokens in force (server/auth/users.ts Accounts follows reloads). */
export interface TokenSource {
  token(id: string): ApiTokenConfig | undefined;
}

export interface AuthOptions {
  /** wrong API tokens are throttled per address and per token id */
  throttle?: AuthThrottle;
  /** the client's address (trusted proxies honoured); default the peer */
  address?: (c: Context) => string;
}

/** A list that never changes (a server started without a config file to reload, tests). */
function fixedTokens(list: ApiTokenConfig[]): TokenSource {
  const byId = new Map(list.map((t) => [t.id, t]));
  return { token: (id) => byId.get(id) };
}

/**
 * Who a request is: a live session cookie, or an API token (`Authorization: Bearer <id>.<secret>`) from
 * config.apiTokens acting as a user named `token:<id>` with the token's role and carrier. `null`: neither was
 * offered; a Response: a wrong or throttled token, the answer to send.
 */
export function authenticator(sessions: Sessions, tokens: ApiTokenConfig[] | TokenSource = [], o: AuthOptions = {}) {
  const source = Array.isArray(tokens) ? fixedTokens(tokens) : tokens;
  // scrypt costs ~50 ms: remember secrets already verified in this process (compared in constant time), with the
  // hash they were verified against, so a token changed or removed by a reload is never taken from the cache
  const verified = new Map<string, { secret: string; hash: string }>();
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
    const t = source.token(id);
    const cached = t ? verified.get(t.id) : undefined;
    // an unknown id costs one scrypt like a wrong secret: timing does not tell which ids exist
    const ok = cached !== undefined && cached.hash === t!.tokenHash ? sameSecret(cached.secret, secret) : await verifySecret(secret, t?.tokenHash ?? DUMMY_HASH);
    // looked up again after the await: a reload may have changed or removed the token meanwhile
    if (!t || !ok || source.token(id) !== t) {
      o.throttle?.fail('api_token', from, id);
      return c.json({ error: 'invalid API token' }, 401);
    }
    verified.set(t.id, { secret, hash: t.tokenHash });
    return { username: `token:${t.id}`, role: t.role, ...(t.carrier ? { carrier: t.carrier } : {}) };
  };
}

/** 401 unless the request carries a live session cookie or a valid API token (see authenticator). */
export function requireSession(sessions: Sessions, tokens: ApiTokenConfig[] | TokenSource = [], o: AuthOptions = {}): MiddlewareHandler<AuthEnv> {
  const who = authenticator(sessions, tokens, o);
  return async (c, next) => {
    const user = await who(c);
    if (user instanceof Response) return user;
    if (!user) return c.json({ error: 'login required' }, 401);
    c.set('user', user);
    await next();
  };
}
