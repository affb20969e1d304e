// What the server knows about each agent's connection: shown by GET /api/agents, counted for /api/health.
// The shape (AgentInfo) is part of the REST contract in config/api.ts.
import type { AgentInfo } from '../../config/api.ts';

export type { AgentInfo };

export class AgentRegistry {
  private infos = new Map<string, AgentInfo>();
  /** the open connection of each agent; a new one replaces the old (e.g. after a silent NAT drop) */
  readonly sockets = new Map<string, { close(code?: number, reason?: string): void }>();
  readonly counters = { authFailures: 0, badFrames: 0, oversized: 0, storeFailures: 0, unplannedResults: 0, rejectedTimestamps: 0 };

  constructor(agents: Iterable<{ id: string; commune: string }>) {
    for (const a of agents)
      this.infos.set(a.id, {
        id: a.id, commune: a.commune, connected: false, remote: null, version: null, connectedAt: null,
        clockOffsetMs: null, pending: 0, dropped: 0, spoolBytes: null, oldestPendingTs: null, uptimeSec: null, linkRttMs: null,
        clockSkewed: false, backfilled: 0, rejected: 0, batches: 0, results: 0, badFrames: 0, lastError: null,
      });
  }
  get(id: string): AgentInfo | undefined {
    return this.infos.get(id);
  }
  list(): AgentInfo[] {
    return [...this.infos.values()];
  }
}
