// Builds attribution's input from the live state. Keeps the two things LiveState does not: since when each slot has
// had its status, and what a slot showed before it went `unknown` (what the agent saw just before falling silent).
import type { Status } from '../../config/wire.ts';
import type { Reason } from '../../config/vocabulary.ts';
import type { Directory } from '../directory.ts';
import { isGatewayTarget, KINDS } from '../kinds/index.ts';
import type { LiveState } from '../state/live-state.ts';
import type { AgentSnapshot, SlotSnapshot } from '../state/attribution.ts';
import type { IncidentSource } from './sites.ts';

interface Memory {
  status: Status;
  since: number;
  lastKnown: { status: Status; lossPct: number | null; reason: Reason | null; latencyOver: boolean } | null;
}

/** Default baseline: every target measuring each uplink's own gateway. */
export function defaultBaselineTargets(dir: Directory): string[] {
  return [...dir.targets.values()].filter(isGatewayTarget).map((t) => t.id);
}

export class SnapshotBuilder {
  private memory = new Map<string, Memory>();

  constructor(
    private readonly dir: Directory,
    private readonly live: LiveState,
    private readonly opts: {
      agentTimeoutMs: number;
      /** when the server started: an agent never heard since counts as silent from then */
      startedAt: number;
      baselineTargets?: string[];
    },
  ) {}

  build(now: number): IncidentSource {
    const agents: AgentSnapshot[] = [...this.dir.agents.values()].map((a) => {
      const seen = this.live.lastSeen(a.id) ?? this.opts.startedAt;
      return {
        id: a.id,
        commune: a.commune,
        uplinks: a.uplinks.map((u) => ({ name: u.name, carrier: u.carrier, ...(u.network ? { network: u.network } : {}) })),
        silent: now - seen > this.opts.agentTimeoutMs,
        lastSeen: seen,
      };
    });
    const slots: SlotSnapshot[] = [];
    const present = new Set<string>();
    for (const c of this.live.all()) {
      for (const t of c.targets) {
        const agent = t.agent ?? '';
        const uplink = t.uplink ?? '';
        const key = `${agent}\u0000${t.id}\u0000${uplink}`;
        present.add(key);
        let m = this.memory.get(key);
        if (!m) this.memory.set(key, (m = { status: t.status, since: now, lastKnown: null }));
        if (m.status !== t.status) {
          m.status = t.status;
          m.since = now;
        }
        // live slots exist only for configured targets: the fallback only satisfies the type
        const kind = this.dir.targets.get(t.id)?.kind ?? 'icmp';
        const th = this.dir.thresholdsFor(t.id, c.code);
        // the same comparison the kind's classify makes (ICMP median RTT vs rttMs, the others vs responseMs)
        const latencyOver = t.latencyMs !== null && t.latencyMs > KINDS[kind].latencyLimitMs(th);
        if (t.status !== 'unknown') m.lastKnown = { status: t.status, lossPct: t.lossPct, reason: t.reason, latencyOver };
        slots.push({
          commune: c.code,
          agent,
          target: t.id,
          kind,
          latencyOver,
          uplink,
          carrier: t.carrier ?? '',
          status: t.status,
          latencyMs: t.latencyMs,
          lossPct: t.lossPct,
          reason: t.reason,
          since: m.since,
          lastKnown: m.lastKnown,
        });
      }
    }
    for (const k of this.memory.keys()) if (!present.has(k)) this.memory.delete(k);
    // read per build: a gateway target added by a config reload is a baseline from the next round
    return { now, agents, slots, baselineTargets: this.opts.baselineTargets ?? defaultBaselineTargets(this.dir), siteOf: (id) => this.dir.siteOf(id) };
  }
}
