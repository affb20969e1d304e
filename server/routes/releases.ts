// /api/agent: the agent build this server offers for self-update (GET releases), the admin's pin and pause
// (PUT updates), and the artefacts themselves, downloaded by agents with their own token.
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono, type MiddlewareHandler } from 'hono';
import { API, type ApiResponseIn } from '../../config/api.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { requireRole } from '../auth/require-role.ts';
import type { FleetControl } from '../fleet/control.ts';
import { valid } from '../http/validate.ts';
import { NotFoundError } from '../errors.ts';

export interface ReleaseRouteDeps {
  control: FleetControl;
  /** a logged-in user (session or API token) */
  session: MiddlewareHandler<AuthEnv>;
  /** an agent's own token (server/ingest/agent-ws.ts agentAuth) */
  agent: MiddlewareHandler<{ Variables: { agentId: string } }>;
}

export function releaseRoutes(d: ReleaseRouteDeps) {
  return new Hono<AuthEnv & { Variables: { agentId: string } }>()
    .get('/releases', d.session, (c) => c.json(d.control.releaseInfo() satisfies ApiResponseIn<'GET /api/agent/releases'>))
    .put('/updates', d.session, requireRole(API['PUT /api/agent/updates'].roles, 'only an administrator may pin or pause agent updates'), valid('json', API['PUT /api/agent/updates'].body), (c) =>
      c.json(d.control.setUpdates(c.req.valid('json'), c.get('user').username) satisfies ApiResponseIn<'PUT /api/agent/updates'>),
    )
    .get('/releases/:file', d.agent, valid('param', API['GET /api/agent/releases/:file'].params), (c) => {
      const { file } = c.req.valid('param');
      const path = d.control.releases.path(file);
      if (!path) throw new NotFoundError(`no agent artefact "${file}" in the served release`);
      const size = statSync(path).size;
      return c.body(Readable.toWeb(createReadStream(path)) as ReadableStream, 200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(size),
        'Content-Disposition': `attachment; filename="${file}"`,
      });
    });
}
