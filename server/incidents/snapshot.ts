// Builds attribution's input from the live state. Keeps the two things LiveState does not: since when each slot has
// had its status, and what a slot showed before it went `unknown` (what the agent saw just before falling silent).
import type { AgentConfig } from '../../config/schema.ts';
import type { Status, TargetLive } from '../../config/wire.ts';
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
  /** the last build that saw the slot; a slot missing from a build is forgotten (dead) */
  pass: number;
  dead: boolean;
}

/** fleets of this many sites (about ten slots each) build the loop's input in slices (buildSliced) */
export const SLICED_MIN_AGENTS = 500;

/** Default baseline: every target measuring each uplink's own gateway. */
export function defaultBaselineTargets(dir: Directory): string[] {
  return [...dir.targets.values()].filter(isGatewayTarget).map((t) => t.id);
}

/**
 * Cost follows what changed, not the fleet: LiveState hands out the same TargetLive object for a slot until that
 * site's slots change (or the directory does), so a slot whose object was seen last build keeps last build's
 * snapshot (its status, hence its `since`, cannot have moved). Snapshots are frozen: they are shared between builds. An agent keeps its snapshot while its config object,
 * last-seen time and silence are the same. Unchanged snapshots being the same objects also lets the attribution
 * worker be sent only what changed (attribution-thread.ts).
 */
export class SnapshotBuilder {
  private memory = new Map<string, Memory>();
  private slotOf = new WeakMap<TargetLive, { snap: SlotSnapshot; m: Memory }>();
  private agentOf = new WeakMap<AgentConfig, AgentSnapshot>();
  private uplinksOf = new WeakMap<AgentConfig, AgentSnapshot['uplinks']>();
  private passes = 0;

  constructor(
    private readonly dir: Directory,
    private readonly live: Pick<LiveState, 'all' | 'lastSeen'> & Partial<Pick<LiveState, 'commune'>>,
    private readonly opts: {
      agentTimeoutMs: number;
      /** when the server started: an agent never heard since counts as silent from then */
      startedAt: number;
      baselineTargets?: string[];
    },
  ) {}

  /** The whole pass at once (tests, small fleets). */
  build(now: number): IncidentSource {
    const pass = this.pass(now, Infinity);
    for (;;) {
      const r = pass.next();
      if (r.done) return r.value;
    }
  }

  /**
   * The same pass in slices of about `sliceSlots` slots, the event loop turning between them: at 10,000 sites one pass
   * walks 100,000 slots, and done at once it held every batch ack and live frame behind it (the largest share of the
   * send-to-screen p99 at that size). Communes read in different slices are a few milliseconds apart, less than the
   * skew between agents' rounds that attribution already allows for.
   */
  async buildSliced(now: number, sliceSlots = 10_000): Promise<IncidentSource> {
    const pass = this.pass(now, sliceSlots);
    for (;;) {
      const r = pass.next();
      if (r.done) return r.value;
      await new Promise<void>((res) => setImmediate(res));
    }
  }

  private *pass(now: number, sliceSlots: number): Generator<void, IncidentSource> {
    const pass = ++this.passes;
    const agents: AgentSnapshot[] = [];
    for (const a of this.dir.agents.values()) {
      const seen = this.live.lastSeen(a.id) ?? this.opts.startedAt;
      const silent = now - seen > this.opts.agentTimeoutMs;
      let snap = this.agentOf.get(a);
      if (!snap || snap.lastSeen !== seen || snap.silent !== silent) {
        let uplinks = this.uplinksOf.get(a);
        if (!uplinks) this.uplinksOf.set(a, (uplinks = a.uplinks.map((u) => Object.freeze({ name: u.name, carrier: u.carrier, ...(u.network ? { network: u.network } : {}) }))));
        this.agentOf.set(a, (snap = Object.freeze({ id: a.id, commune: a.commune, uplinks, silent, lastSeen: seen })));
      }
      agents.push(snap);
    }
    const slots: SlotSnapshot[] = [];
    // per (target, commune) within one build: thresholdsFor merges four objects per call
    const limits = new Map<string, number>();
    let sinceYield = 0;
    const live = this.live;
    // one commune at a time when the live state can hand them out singly (a slice reads only its communes)
    const communes = live.commune
      ? (function* (codes: Iterable<string>) {
          for (const code of codes) yield live.commune!(code);
        })(this.dir.communes.keys())
      : live.all();
    for (const c of communes) {
      if (sinceYield >= sliceSlots) {
        sinceYield = 0;
        yield;
      }
      sinceYield += c.targets.length;
      for (const t of c.targets) {
        const kept = this.slotOf.get(t);
        if (kept && !kept.m.dead) {
          kept.m.pass = pass;
          slots.push(kept.snap);
          continue;
        }
        const agent = t.agent ?? '';
        const uplink = t.uplink ?? '';
        const key = `${agent}\u0000${t.id}\u0000${uplink}`;
        let m = this.memory.get(key);
        if (!m) this.memory.set(key, (m = { status: t.status, since: now, lastKnown: null, pass, dead: false }));
        m.pass = pass;
        if (m.status !== t.status) {
          m.status = t.status;
          m.since = now;
        }
        // live slots exist only for configured targets: the fallback only satisfies the type
        const kind = this.dir.targets.get(t.id)?.kind ?? 'icmp';
        const lk = `${t.id}\u0000${c.code}`;
        let limit = limits.get(lk);
        if (limit === undefined) limits.set(lk, (limit = KINDS[kind].latencyLimitMs(this.dir.thresholdsFor(t.id, c.code))));
        // the same comparison the kind's classify makes (ICMP median RTT vs rttMs, the others vs responseMs)
        const latencyOver = t.latencyMs !== null && t.latencyMs > limit;
        if (t.status !== 'unknown') m.lastKnown = Object.freeze({ status: t.status, lossPct: t.lossPct, reason: t.reason, latencyOver });
        const snap: SlotSnapshot = Object.freeze({
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
        this.slotOf.set(t, { snap, m });
        slots.push(snap);
      }
    }
    for (const [k, m] of this.memory) {
      if (m.pass === pass) continue;
      m.dead = true;
      this.memory.delete(k);
    }
    // read per build: a gateway target added by a config reload is a baseline from the next round
    return { now, agents, slots, baselineTargets: this.opts.baselineTargets ?? defaultBaselineTargets(this.dir), siteOf: (id) => this.dir.siteOf(id) };
  }
}
