// /api/incidents: history with filters, one incident, acknowledge, notes; maintenance windows.
// Reading: every role (a carrier user sees only its carrier's incidents, like everywhere else). Changing things
// (ack, notes, maintenance windows): the roles config/api.ts names for those routes.
import { Hono, type Context } from 'hono';
import { API, type ApiResponseIn } from '../../config/api.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { requireRole } from '../auth/require-role.ts';
import { scopeOf } from '../auth/scope.ts';
import type { Directory } from '../directory.ts';
import { InvalidError, NotFoundError } from '../errors.ts';
import { valid } from '../http/validate.ts';
import type { IncidentEngine } from '../incidents/engine.ts';
import { activeSpan, type MaintenanceBook, type MaintenanceWindow } from '../incidents/maintenance.ts';
import type { Incident } from '../incidents/types.ts';

const DAY = 86_400_000;
const MAX_RANGE = 400 * DAY;
const REFUSED = 'your role may not change incidents or maintenance windows';

export interface IncidentRouteDeps {
  engine: IncidentEngine;
  maintenance: MaintenanceBook;
  /** when given, maintenance windows naming unknown communes/carriers/targets are refused */
  dir?: Directory;
  now?: () => number;
}

export function incidentRoutes(d: IncidentRouteDeps) {
  const now = d.now ?? Date.now;
  const out = (i: Incident): ApiResponseIn<'GET /api/incidents/:id'> => ({ ...i, durationMs: Math.max(0, (i.resolvedAt ?? now()) - i.openedAt) });
  const listed = (w: MaintenanceWindow, source: 'config' | 'runtime', t: number): ApiResponseIn<'POST /api/incidents/maintenance'> => ({ ...w, source, active: activeSpan(w, t) });
  /** a carrier user asking about another carrier's incident gets the same answer as for a missing one */
  const visible = (c: Context<AuthEnv>, i: Incident | null): i is Incident => {
    const { carrier } = scopeOf(c.get('user'));
    return !!i && (carrier === null || i.carrier === carrier);
  };
  return new Hono<AuthEnv>()
    .get('/maintenance', (c) => {
      const t = now();
      const { carrier } = scopeOf(c.get('user'));
      const served = carrier !== null && d.dir ? d.dir.communesOfCarrier(carrier) : null;
      // a carrier user sees the windows that concern its communes or uplinks, not other carriers' plans
      const concerns = (w: MaintenanceWindow) =>
        carrier === null || (w.carriers ? w.carriers.includes(carrier) : !w.communes || (!!served && w.communes.some((x) => served.has(x))));
      return c.json(d.maintenance.list().filter(({ window }) => concerns(window)).map(({ window, source }) => listed(window, source, t)));
    })
    .post('/maintenance', requireRole(API['POST /api/incidents/maintenance'].roles, REFUSED), valid('json', API['POST /api/incidents/maintenance'].body), (c) => {
      const body = c.req.valid('json');
      const unknown = d.dir ? unknownRefs(d.dir, body) : null;
      if (unknown) throw new InvalidError(unknown);
      const w = d.maintenance.add(body);
      return c.json(listed(w, 'runtime', now()), 201);
    })
    .delete('/maintenance/:id', requireRole(API['DELETE /api/incidents/maintenance/:id'].roles, REFUSED), (c) => {
      d.maintenance.remove(c.req.param('id'));
      return c.body(null, 204);
    })
    .get('/', valid('query', API['GET /api/incidents'].query), async (c) => {
      const q = c.req.valid('query');
      const { carrier: scoped } = scopeOf(c.get('user'));
      const to = q.to ?? now() + 1;
      // open incidents: from the beginning; history: the last 30 days unless asked otherwise
      const from = q.from ?? (q.open ? 0 : to - 30 * DAY);
      if (!q.open && to - from > MAX_RANGE) throw new InvalidError('from/to: range longer than 400 days');
      if (scoped !== null && q.carrier !== undefined && q.carrier !== scoped) return c.json([]);
      const { incidents, partial } = await d.engine.query({
        from,
        to,
        cause: q.cause,
        commune: q.commune,
        carrier: scoped ?? q.carrier,
        target: q.target,
        openOnly: q.open === true ? true : undefined,
        limit: q.limit,
      });
      // The store being down still shows what the engine holds (open incidents); the header says it is partial.
      if (partial) c.header('X-Incidents-Partial', '1');
      return c.json(incidents.map(out));
    })
    .get('/:id', async (c) => {
      const i = await d.engine.get(c.req.param('id'));
      if (!visible(c, i)) throw new NotFoundError(`no incident "${c.req.param('id')}"`);
      return c.json(out(i));
    })
    .post('/:id/ack', requireRole(API['POST /api/incidents/:id/ack'].roles, REFUSED), async (c) =>
      c.json(out(await d.engine.acknowledge(c.req.param('id'), c.get('user').username))),
    )
    .post('/:id/notes', requireRole(API['POST /api/incidents/:id/notes'].roles, REFUSED), valid('json', API['POST /api/incidents/:id/notes'].body), async (c) =>
      c.json(out(await d.engine.addNote(c.req.param('id'), c.get('user').username, c.req.valid('json').text))),
    );
}

/** Names in a maintenance window body that this province does not have. */
function unknownRefs(dir: Directory, body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as { communes?: unknown; carriers?: unknown; targets?: unknown };
  const check = (list: unknown, known: (x: string) => boolean, what: string) => {
    if (!Array.isArray(list)) return null;
    const bad = list.filter((x): x is string => typeof x === 'string' && !known(x));
    return bad.length ? `${what}: unknown ${bad.map((x) => `"${x}"`).join(', ')}` : null;
  };
  return (
    check(b.communes, (x) => dir.communes.has(x), 'communes') ??
    check(b.carriers, (x) => dir.carriers.has(x), 'carriers') ??
    check(b.targets, (x) => dir.targets.has(x), 'targets')
  );
}
