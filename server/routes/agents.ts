import { Hono } from 'hono';
import type { AgentRegistry } from '../ingest/agents.ts';
import type { LiveState } from '../state/live-state.ts';

export function agentRoutes(registry: AgentRegistry, live: LiveState) {
  return new Hono().get('/', (c) => c.json(registry.list().map((a) => ({ ...a, lastSeen: live.lastSeen(a.id) }))));
}
