import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { API, type ApiResponseIn } from '../../config/api.ts';
import type { UserConfig } from '../../config/schema.ts';
import { verifySecret } from '../auth/password.ts';
import { SESSION_COOKIE, type Sessions } from '../auth/sessions.ts';
import { requireSession, type AuthEnv } from '../auth/middleware.ts';
import { valid } from '../http/validate.ts';

export function authRoutes(deps: { users: UserConfig[]; sessions: Sessions; sessionHours: number; secureCookie: boolean }) {
  const byName = new Map(deps.users.map((u) => [u.username, u]));
  return new Hono<AuthEnv>()
    .post('/login', valid('json', API['POST /api/auth/login'].body), async (c) => {
      const body = c.req.valid('json');
      const u = byName.get(body.username);
      // Verify against a dummy hash for unknown users too, so timing does not reveal which names exist.
      const ok = await verifySecret(body.password, u?.passwordHash ?? DUMMY);
      if (!u || !ok) return c.json({ error: 'wrong username or password' }, 401);
      const user = { username: u.username, role: u.role, ...(u.carrier ? { carrier: u.carrier } : {}) };
      setCookie(c, SESSION_COOKIE, deps.sessions.create(user), {
        httpOnly: true, sameSite: 'Lax', path: '/', secure: deps.secureCookie, maxAge: deps.sessionHours * 3600,
      });
      return c.json({ user } satisfies ApiResponseIn<'POST /api/auth/login'>);
    })
    .post('/logout', (c) => {
      deps.sessions.destroy(getCookie(c, SESSION_COOKIE));
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    })
    .get('/me', requireSession(deps.sessions), (c) => c.json(c.get('user')));
}

const DUMMY = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
