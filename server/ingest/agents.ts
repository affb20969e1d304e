// What the server knows about each agent's connection: shown by GET /api/agents, counted for /api/health.
// The shape (AgentInfo) is part of the REST contract in config/api.ts. Follows the directory at run time (sync):
// an enrolled agent gets an entry, a revoked one loses it and its connection, a changed plan reaches every link.
import type { AgentInfo } from '../../config/api.ts';
import { CLOSE } from '../../config/wire.ts';

export type { AgentInfo };

/** An agent's open connection as the registry drives it (server/ingest/agent-ws.ts makes them). */
export interface AgentLink {
  close(code?: number, reason?: string): void;
  /** send the agent's current plan if it differs from the last one sent */
  pushPlan(): void;
}

interface AgentEntry {
  id: string;
  commune: string;
  /** a changed hash means the token was rotated: the open connection used the old one */
  tokenHash?: string;
}

export class AgentRegistry {
  private infos = new Map<string, AgentInfo>();
  private hashes = new Map<string, string | undefined>();
  /** the open connection of each agent; a new one replaces the old (e.g. after a silent NAT drop) */
  readonly sockets = new Map<string, AgentLink>();
  readonly counters = { authFailures: 0, badFrames: 0, oversized: 0, storeFailures: 0, unplannedResults: 0, rejectedTimestamps: 0, enrolments: 0, enrolFailures: 0, enrolThrottled: 0 };

  constructor(agents: Iterable<AgentEntry>) {
    for (const a of agents) this.add(a);
  }

  private add(a: AgentEntry) {
    this.hashes.set(a.id, a.tokenHash);
    this.infos.set(a.id, {
      id: a.id, commune: a.commune, connected: false, remote: null, version: null, connectedAt: null,
      clockOffsetMs: null, pending: 0, dropped: 0, spoolBytes: null, oldestPendingTs: null, uptimeSec: null, linkRttMs: null,
      clockSkewed: false, backfilled: 0, rejected: 0, batches: 0, results: 0, badFrames: 0, lastError: null,
    });
  }

  /**
   * Catch up with the directory: new agents get an entry; removed ones (revoked) lose it and are cut off at once;
   * an agent whose token changed (rotated) is cut off too, since its connection was opened with the old one; every
   * other open connection is sent its plan if that changed.
   */
  sync(agents: Iterable<AgentEntry>): void {
    const now = new Map([...agents].map((a) => [a.id, a]));
    for (const id of [...this.infos.keys()]) {
      if (now.has(id)) continue;
      this.infos.delete(id);
      this.hashes.delete(id);
      this.cut(id, 'agent revoked');
    }
    for (const a of now.values()) {
      const info = this.infos.get(a.id);
      if (!info) {
        this.add(a);
        continue;
      }
      info.commune = a.commune;
      if (this.hashes.get(a.id) !== a.tokenHash) {
        this.hashes.set(a.id, a.tokenHash);
        this.cut(a.id, 'token replaced');
      }
    }
    for (const link of this.sockets.values()) link.pushPlan();
  }

  private cut(id: string, reason: string) {
    const link = this.sockets.get(id);
    if (!link) return;
    this.sockets.delete(id);
    const info = this.infos.get(id);
    if (info) info.connected = false;
    link.close(CLOSE.unauthorized, reason);
  }

  get(id: string): AgentInfo | undefined {
    return this.infos.get(id);
  }
  list(): AgentInfo[] {
    return [...this.infos.values()];
  }
}
