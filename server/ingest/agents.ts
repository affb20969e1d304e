// What the server knows about each agent's connection: shown by GET /api/agents, counted for /api/health.
export interface AgentInfo {
  id: string;
  commune: string;
  connected: boolean;
  remote: string | null;
  version: string | null;
  connectedAt: number | null;
  /** server clock minus agent clock at hello/heartbeat, ms (rough: one-way delay not removed yet) */
  clockOffsetMs: number | null;
  /** results waiting in the agent's spool for an ack */
  pending: number;
  /** results the agent had to drop (spool full or too old), since its spool was created */
  dropped: number;
  spoolBytes: number | null;
  oldestPendingTs: number | null;
  uptimeSec: number | null;
  /** round trip of the agent's last heartbeat, ms */
  linkRttMs: number | null;
  /** |clockOffsetMs| above server.clockToleranceMs */
  clockSkewed: boolean;
  /** results that arrived late (replayed from the spool), stored as history with backfilled=true */
  backfilled: number;
  /** results refused for impossible timestamps */
  rejected: number;
  batches: number;
  results: number;
  badFrames: number;
  lastError: string | null;
}

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
