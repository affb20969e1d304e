import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { API, type ApiResponseIn } from '../../config/api.ts';
import type { UserConfig } from '../../config/schema.ts';
import type { AuditLog } from '../audit/log.ts';
import { DUMMY_HASH, verifySecret } from '../auth/password.ts';
import { SESSION_COOKIE, type Sessions } from '../auth/sessions.ts';
import { requireSession, type AuthEnv } from '../auth/middleware.ts';
import { throttled, type AuthThrottle } from '../auth/throttle.ts';
import { peerOf } from '../http/net.ts';
import { LOGIN_BODY_BYTES, limitBody } from '../http/security.ts';
import { valid } from '../http/validate.ts';

export interface AuthRouteDeps {
  /** the users in force (server/auth/users.ts Accounts: a reload replaces them) */
  accounts: { user(username: string): UserConfig | undefined };
  sessions: Sessions;
  sessionHours: number;
  /** whether the browser's connection is HTTPS (the cookie is then `Secure`); default never */
  https?: (c: Context) => boolean;
  /** the client's address (trusted proxies honoured); default the peer */
  address?: (c: Context) => string;
  throttle?: AuthThrottle;
  audit?: AuditLog;
}

export function authRoutes(deps: AuthRouteDeps) {
  const address = deps.address ?? peerOf;
  return new Hono<AuthEnv>()
    .post('/login', limitBody(LOGIN_BODY_BYTES), valid('json', API['POST /api/auth/login'].body), async (c) => {
      const body = c.req.valid('json');
      const from = address(c);
      const wait = deps.throttle?.check('password', from, body.username) ?? 0;
      if (wait > 0) {
        deps.audit?.record(body.username, 'auth.login.throttled', body.username, { retryAfterSec: wait });
        return throttled(c, wait);
      }
      const u = deps.accounts.user(body.username);
      // Verify against a dummy hash for unknown users too, so timing does not reveal which names exist.
      const ok = await verifySecret(body.password, u?.passwordHash ?? DUMMY_HASH);
      // looked up again after the await: a reload may have changed or removed the user meanwhile
      if (!u || !ok || deps.accounts.user(body.username) !== u) {
        deps.throttle?.fail('password', from, body.username);
        deps.audit?.record(body.username, 'auth.login.failed', body.username, { known: !!u });
        return c.json({ error: 'wrong username or password' }, 401);
      }
      const user = { username: u.username, role: u.role, ...(u.carrier ? { carrier: u.carrier } : {}) };
      setCookie(c, SESSION_COOKIE, deps.sessions.create(user), {
        httpOnly: true, sameSite: 'Lax', path: '/', secure: deps.https?.(c) ?? false, maxAge: deps.sessionHours * 3600,
      });
      deps.audit?.record(u.username, 'auth.login', u.username, { role: u.role });
      return c.json({ user } satisfies ApiResponseIn<'POST /api/auth/login'>);
    })
    .post('/logout', (c) => {
      const id = getCookie(c, SESSION_COOKIE);
      const user = deps.sessions.get(id);
      // ends the session and, through Sessions.onEnd, its live sockets
      deps.sessions.destroy(id);
      if (user) deps.audit?.record(user.username, 'auth.logout', user.username);
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    })
    .get('/me', requireSession(deps.sessions), (c) => c.json(c.get('user')));
}
