import { Hono } from 'hono';
import type { CommuneRow } from '../../config/api.ts';
import type { CommuneLive } from '../../config/wire.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { scopeOf } from '../auth/scope.ts';
import type { Directory } from '../directory.ts';
import { NotFoundError } from '../errors.ts';
import type { LiveState } from '../state/live-state.ts';

export function communeRoutes(dir: Directory, live: LiveState) {
  const named = (x: CommuneLive): CommuneRow => {
    const c = dir.communes.get(x.code)!;
    return { name: c.name, fullName: c.fullName, type: c.type, ...x };
  };
  return new Hono<AuthEnv>()
    .get('/', (c) => c.json(live.all(scopeOf(c.get('user')).carrier ?? undefined).map(named)))
    .get('/:code', (c) => {
      const code = c.req.param('code');
      const { carrier } = scopeOf(c.get('user'));
      // Out of scope answers like a missing commune: a carrier learns nothing about others' communes.
      if (!dir.communes.has(code) || (carrier && !dir.communesOfCarrier(carrier).has(code)))
        throw new NotFoundError(`no commune with code "${code}" in this province${carrier ? ' served by your carrier' : ''}`);
      return c.json(named(live.commune(code, carrier ?? undefined)));
    });
}
