// /api/incidents: history with filters, one incident, acknowledge, notes; maintenance windows.
// Reading: every role (a carrier user sees only its carrier's incidents, like everywhere else). Changing things
// (ack, notes, maintenance windows): admin and operator (scope.canOperate).
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { COMMUNE_CODE } from '../../config/schema.ts';
import { formatIssues } from '../../config/wire.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { scopeOf } from '../auth/scope.ts';
import type { Directory } from '../directory.ts';
import { IncidentError, type IncidentEngine } from '../incidents/engine.ts';
import { activeSpan, MaintenanceError, type MaintenanceBook } from '../incidents/maintenance.ts';
import { CAUSES, type Incident } from '../incidents/types.ts';

const DAY = 86_400_000;
const MAX_RANGE = 400 * DAY;

const bool = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const listQuery = z
  .object({
    from: z.coerce.number().int().nonnegative().optional(),
    to: z.coerce.number().int().positive().optional(),
    cause: z.enum(CAUSES).optional(),
    commune: z.string().regex(COMMUNE_CODE, 'expected a 5-digit commune code').optional(),
    carrier: z.string().min(1).max(64).optional(),
    target: z.string().min(1).max(64).optional(),
    open: bool.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(500),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] });
const noteBody = z.object({ text: z.string().min(1, 'empty note').max(2000) }).strict();

export interface IncidentRouteDeps {
  engine: IncidentEngine;
  maintenance: MaintenanceBook;
  /** when given, maintenance windows naming unknown communes/carriers/targets are refused */
  dir?: Directory;
  now?: () => number;
}

/** Mounted by the lead at /api/incidents, behind requireSession. */
export function incidentRoutes(d: IncidentRouteDeps) {
  const now = d.now ?? Date.now;
  const out = (i: Incident) => ({ ...i, durationMs: Math.max(0, (i.resolvedAt ?? now()) - i.openedAt) });
  const forbidden = (c: Context<AuthEnv>) => c.json({ error: 'your role may not change incidents or maintenance windows' }, 403);
  /** a carrier user asking about another carrier's incident gets the same answer as for a missing one */
  const visible = (c: Context<AuthEnv>, i: Incident | null) => {
    const { carrier } = scopeOf(c.get('user'));
    return !!i && (carrier === null || i.carrier === carrier);
  };
  const fail = (c: Context<AuthEnv>, err: unknown) => {
    if (err instanceof IncidentError || err instanceof MaintenanceError) return c.json({ error: err.message }, err.status);
    throw err;
  };

  return new Hono<AuthEnv>()
    .get('/maintenance', (c) => {
      const t = now();
      return c.json(d.maintenance.list().map(({ window, source }) => ({ ...window, source, active: activeSpan(window, t) })));
    })
    .post('/maintenance', async (c) => {
      if (!scopeOf(c.get('user')).canOperate) return forbidden(c);
      const body = await c.req.json().catch(() => undefined);
      if (body === undefined) return c.json({ error: 'expected a JSON body' }, 400);
      const unknown = d.dir ? unknownRefs(d.dir, body) : null;
      if (unknown) return c.json({ error: unknown }, 400);
      try {
        const w = d.maintenance.add(body);
        return c.json({ ...w, source: 'runtime', active: activeSpan(w, now()) }, 201);
      } catch (err) {
        return fail(c, err);
      }
    })
    .delete('/maintenance/:id', (c) => {
      if (!scopeOf(c.get('user')).canOperate) return forbidden(c);
      try {
        d.maintenance.remove(c.req.param('id'));
        return c.body(null, 204);
      } catch (err) {
        return fail(c, err);
      }
    })
    .get('/', async (c) => {
      const q = listQuery.safeParse(c.req.query());
      if (!q.success) return c.json({ error: formatIssues(q.error.issues) }, 400);
      const { carrier: scoped } = scopeOf(c.get('user'));
      const to = q.data.to ?? now() + 1;
      // open incidents: from the beginning; history: the last 30 days unless asked otherwise
      const from = q.data.from ?? (q.data.open ? 0 : to - 30 * DAY);
      if (!q.data.open && to - from > MAX_RANGE) return c.json({ error: 'from/to: range longer than 400 days' }, 400);
      if (scoped !== null && q.data.carrier !== undefined && q.data.carrier !== scoped) return c.json([]);
      const { incidents, partial } = await d.engine.query({
        from,
        to,
        cause: q.data.cause,
        commune: q.data.commune,
        carrier: scoped ?? q.data.carrier,
        target: q.data.target,
        openOnly: q.data.open === true ? true : undefined,
        limit: q.data.limit,
      });
      // The store being down still shows what the engine holds (open incidents); the header says it is partial.
      if (partial) c.header('X-Incidents-Partial', '1');
      return c.json(incidents.map(out));
    })
    .get('/:id', async (c) => {
      const i = await d.engine.get(c.req.param('id'));
      if (!visible(c, i)) return c.json({ error: `no incident "${c.req.param('id')}"` }, 404);
      return c.json(out(i!));
    })
    .post('/:id/ack', async (c) => {
      if (!scopeOf(c.get('user')).canOperate) return forbidden(c);
      try {
        return c.json(out(await d.engine.acknowledge(c.req.param('id'), c.get('user').username)));
      } catch (err) {
        return fail(c, err);
      }
    })
    .post('/:id/notes', async (c) => {
      if (!scopeOf(c.get('user')).canOperate) return forbidden(c);
      const body = noteBody.safeParse(await c.req.json().catch(() => undefined));
      if (!body.success) return c.json({ error: formatIssues(body.error.issues) }, 400);
      try {
        return c.json(out(await d.engine.addNote(c.req.param('id'), c.get('user').username, body.data.text)));
      } catch (err) {
        return fail(c, err);
      }
    });
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
