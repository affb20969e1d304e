// /api/agents: every agent and its connection (each role; a carrier user sees the agents with one of its uplinks),
// and the admin's actions on enrolled agents: rename, move, change site or uplinks, rotate the token, revoke.
import { Hono } from 'hono';
import { API, type ApiResponseIn, type AgentInfo } from '../../config/api.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { requireRole } from '../auth/require-role.ts';
import { scopeOf } from '../auth/scope.ts';
import type { Directory } from '../directory.ts';
import type { FleetControl } from '../fleet/control.ts';
import { valid } from '../http/validate.ts';
import type { AgentRegistry } from '../ingest/agents.ts';
import type { LiveState } from '../state/live-state.ts';
import { NotFoundError } from '../errors.ts';

const REFUSED = 'only an administrator may change agents';

export function agentRoutes(dir: Directory, registry: AgentRegistry, live: LiveState, control: FleetControl) {
  const row = (a: AgentInfo): ApiResponseIn<'GET /api/agents'>[number] => {
    const e = control.enrolled(a.id);
    return {
      ...a,
      lastSeen: live.lastSeen(a.id),
      source: control.sourceOf(a.id) ?? 'config',
      name: e?.name ?? null,
      site: e?.site ?? null,
      uplinks: (dir.agents.get(a.id)?.uplinks ?? []).map((u) => ({ name: u.name, carrier: u.carrier })),
      hostname: e?.hostname ?? null,
      platform: e?.platform ?? null,
      enrolledAt: e?.enrolledAt ?? null,
    };
  };
  const rowOf = (id: string) => {
    const info = registry.get(id);
    if (!info) throw new NotFoundError(`no agent "${id}"`);
    return row(info);
  };
  const admin = requireRole(API['PATCH /api/agents/:id'].roles, REFUSED);
  const idParam = valid('param', API['PATCH /api/agents/:id'].params);

  return new Hono<AuthEnv>()
    .get('/', (c) => {
      const { carrier } = scopeOf(c.get('user'));
      const visible = registry.list().filter((a) => !carrier || dir.agents.get(a.id)?.uplinks.some((u) => u.carrier === carrier));
      // an agent shared with another carrier: that carrier's uplinks are not listed
      const own = (r: ReturnType<typeof row>) => (carrier ? { ...r, uplinks: r.uplinks?.filter((u) => u.carrier === carrier) } : r);
      return c.json(visible.map((a) => own(row(a))) satisfies ApiResponseIn<'GET /api/agents'>);
    })
    .patch('/:id', admin, idParam, valid('json', API['PATCH /api/agents/:id'].body), (c) => {
      const { id } = c.req.valid('param');
      control.update(id, c.req.valid('json'), c.get('user').username);
      return c.json(rowOf(id) satisfies ApiResponseIn<'PATCH /api/agents/:id'>);
    })
    .post('/:id/revoke', admin, idParam, (c) => {
      control.revoke(c.req.valid('param').id, c.get('user').username);
      return c.body(null, 204);
    })
    .post('/:id/rotate', admin, idParam, async (c) => {
      const { id } = c.req.valid('param');
      const token = await control.rotate(id, c.get('user').username);
      return c.json({ id, token } satisfies ApiResponseIn<'POST /api/agents/:id/rotate'>);
    });
}
