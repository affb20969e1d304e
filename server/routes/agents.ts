import { Hono } from 'hono';
import type { ApiResponseIn } from '../../config/api.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { scopeOf } from '../auth/scope.ts';
import type { Directory } from '../directory.ts';
import type { AgentRegistry } from '../ingest/agents.ts';
import type { LiveState } from '../state/live-state.ts';

export function agentRoutes(dir: Directory, registry: AgentRegistry, live: LiveState) {
  return new Hono<AuthEnv>().get('/', (c) => {
    const { carrier } = scopeOf(c.get('user'));
    const visible = registry.list().filter((a) => !carrier || dir.agents.get(a.id)?.uplinks.some((u) => u.carrier === carrier));
    const rows: ApiResponseIn<'GET /api/agents'> = visible.map((a) => ({ ...a, lastSeen: live.lastSeen(a.id) }));
    return c.json(rows);
  });
}
