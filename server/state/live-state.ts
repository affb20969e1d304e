// In-memory live state: per (commune, agent, target, uplink) status, rolled up per commune.
// Holds no decisions of its own: it applies status.ts, province-wide.ts and commune-status.ts and reports which
// communes (and which of their agents, i.e. sites) changed.
// Cost follows what changed, not the fleet: the province-wide rule is fed from per-(target, commune) status
// counts updated slot by slot, and a commune's view is built once per change and cached per scope.
import type { CommuneLive, ProbeResult, Status, TargetLive } from '../../config/wire.ts';
import { STATUS_RANK } from '../../config/vocabulary.ts';
import type { Directory } from '../directory.ts';
import { describesLink } from '../kinds/index.ts';
import { applyResult, INITIAL, markUnknown, type TargetState } from './status.ts';
import { communeStatus } from './commune-status.ts';
import { DEFAULT_PROVINCE_WIDE, isProvinceWide, type ProvinceWideRule } from './province-wide.ts';

interface Slot {
  commune: string;
  agent: string;
  target: string;
  uplink: string;
  carrier: string;
  state: TargetState;
}

/**
 * `codes`: the communes that changed; `agents`: per commune, the agents (sites) whose slots changed, or null when
 * the whole commune must be redrawn (a target crossed the province-wide line, the directory changed).
 */
export type ChangeListener = (codes: Set<string>, agents: ReadonlyMap<string, ReadonlySet<string> | null>) => void;

/** One target's votes for the province-wide rule: per commune, how many of its slots are in each status. */
interface TargetTally {
  /** commune -> slot counts indexed by STATUS_RANK */
  communes: Map<string, number[]>;
  /** communes whose worst status for the target is known (not unknown) */
  reporting: number;
  /** ... and is down or degraded */
  failing: number;
}

const RANKED: Status[] = (Object.keys(STATUS_RANK) as Status[]).sort((a, b) => STATUS_RANK[a] - STATUS_RANK[b]);
/** the commune's worst status for a target from its slot counts (the same order as worstStatus), null without slots */
function worstOf(counts: number[]): Status | null {
  for (let r = counts.length - 1; r >= 0; r--) if (counts[r]! > 0) return RANKED[r]!;
  return null;
}
const reports = (s: Status | null) => s !== null && s !== 'unknown';
const fails = (s: Status | null) => s === 'down' || s === 'degraded';

export class LiveState {
  private slots = new Map<string, Slot>();
  /** slot keys per commune, for rollup */
  private byCommune = new Map<string, Set<string>>();
  private agentSeen = new Map<string, number>();
  private serviceWide = new Set<string>();
  private listeners = new Set<ChangeListener>();
  private served = new Map<string, Set<string>>();
  /** slot keys per agent, for a site-sized delta */
  private byAgent = new Map<string, Set<string>>();
  private tallies = new Map<string, TargetTally>();
  /** what changed since the last emit: commune -> agents, or null for the whole commune */
  private pending = new Map<string, Set<string> | null>();
  /** commune views per `${carrier}\u0000${code}`, dropped when the commune changes */
  private views = new Map<string, Omit<CommuneLive, 'lastSeen'>>();
  /** carrier scopes with cached views ('' = unscoped) */
  private scopes = new Set<string>();

  constructor(
    private dir: Directory,
    private agentTimeoutMs: number,
    private now: () => number = Date.now,
    private provinceWide: ProvinceWideRule = DEFAULT_PROVINCE_WIDE,
  ) {}

  onChange(fn: ChangeListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The agent said something (hello, heartbeat, batch). */
  touchAgent(agentId: string) {
    this.agentSeen.set(agentId, this.now());
  }

  lastSeen(agentId: string): number | null {
    return this.agentSeen.get(agentId) ?? null;
  }

  /** Apply one agent's results. Commune comes from config, never from the agent. */
  apply(agentId: string, results: ProbeResult[]): void {
    const agent = this.dir.agents.get(agentId);
    if (!agent) return;
    this.touchAgent(agentId);
    for (const r of results) {
      const uplink = r.uplink ?? '';
      const key = `${agentId}\u0000${r.target}\u0000${uplink}`;
      let slot = this.slots.get(key);
      if (!slot) {
        slot = { commune: agent.commune, agent: agentId, target: r.target, uplink, carrier: this.dir.carrierOf(agentId, r.uplink), state: INITIAL };
        this.addSlot(key, slot);
      }
      const next = applyResult(slot.state, r, this.dir.thresholdsFor(r.target, agent.commune));
      if (next !== slot.state) {
        if (next.status !== slot.state.status || next.latencyMs !== slot.state.latencyMs || next.lossPct !== slot.state.lossPct || next.reason !== slot.state.reason)
          this.mark(slot.commune, slot.agent);
        this.setState(slot, next);
      }
    }
    this.emit();
  }

  private addSlot(key: string, slot: Slot) {
    this.slots.set(key, slot);
    let set = this.byCommune.get(slot.commune);
    if (!set) this.byCommune.set(slot.commune, (set = new Set()));
    set.add(key);
    let mine = this.byAgent.get(slot.agent);
    if (!mine) this.byAgent.set(slot.agent, (mine = new Set()));
    mine.add(key);
    this.count(slot, null, slot.state.status);
  }

  private dropSlot(key: string, slot: Slot) {
    this.slots.delete(key);
    this.byCommune.get(slot.commune)?.delete(key);
    this.byAgent.get(slot.agent)?.delete(key);
    this.count(slot, slot.state.status, null);
  }

  private setState(slot: Slot, next: TargetState) {
    const from = slot.state.status;
    slot.state = next;
    if (next.status !== from) this.count(slot, from, next.status);
  }

  /**
   * A slot entered (`to`), left (`from`) or moved between statuses: update its target's per-commune counts and
   * votes, and apply the province-wide rule to that one target. Crossing the line recolours every commune with it.
   */
  private count(slot: Slot, from: Status | null, to: Status | null) {
    let t = this.tallies.get(slot.target);
    if (!t) this.tallies.set(slot.target, (t = { communes: new Map(), reporting: 0, failing: 0 }));
    let counts = t.communes.get(slot.commune);
    if (!counts) t.communes.set(slot.commune, (counts = RANKED.map(() => 0)));
    const before = worstOf(counts);
    if (from !== null) counts[STATUS_RANK[from]]!--;
    if (to !== null) counts[STATUS_RANK[to]]!++;
    const after = worstOf(counts);
    if (after === null) t.communes.delete(slot.commune);
    if (before === after) return;
    t.reporting += Number(reports(after)) - Number(reports(before));
    t.failing += Number(fails(after)) - Number(fails(before));
    const wide = isProvinceWide(t.failing, t.reporting, this.provinceWide);
    if (wide === this.serviceWide.has(slot.target)) return;
    if (wide) this.serviceWide.add(slot.target);
    else this.serviceWide.delete(slot.target);
    for (const c of t.communes.keys()) this.mark(c, null);
    // a commune that just lost its last slot of the target still showed the old province-wide flag
    this.mark(slot.commune, null);
  }

  /** note a change: `agent` null redraws the whole commune */
  private mark(commune: string, agent: string | null) {
    const prev = this.pending.get(commune);
    if (agent === null) this.pending.set(commune, null);
    else if (prev === undefined) this.pending.set(commune, new Set([agent]));
    else prev?.add(agent);
  }

  /** Mark targets of silent agents unknown. Call periodically. */
  sweep(): void {
    const t = this.now();
    // per agent, not per slot: a silent agent is found by its last-seen time, its slots only then
    for (const [agent, keys] of this.byAgent) {
      const seen = this.agentSeen.get(agent) ?? 0;
      if (t - seen <= this.agentTimeoutMs) continue;
      for (const key of keys) {
        const slot = this.slots.get(key)!;
        if (slot.state.status === 'unknown') continue;
        this.setState(slot, markUnknown(slot.state));
        this.mark(slot.commune, slot.agent);
      }
    }
    this.emit();
  }

  /**
   * The directory changed (an agent enrolled, revoked, moved; targets or uplinks changed): drop the slots that no
   * longer exist or now belong elsewhere (they come back with the next result, in the right commune), and redraw
   * the communes whose agents changed.
   */
  reconcile(): void {
    const planned = new Map<string, Set<string> | null>();
    const plannedOf = (agent: string) => {
      if (!planned.has(agent)) planned.set(agent, this.dir.agents.has(agent) ? new Set(this.dir.planFor(agent, 0, 1)?.targets.map((t) => t.id)) : null);
      return planned.get(agent)!;
    };
    for (const [key, s] of this.slots) {
      const agent = this.dir.agents.get(s.agent);
      const keep =
        agent && agent.commune === s.commune && plannedOf(s.agent)?.has(s.target) && (s.uplink === '' || agent.uplinks.some((u) => u.name === s.uplink)) && this.dir.carrierOf(s.agent, s.uplink || undefined) === s.carrier;
      if (keep) continue;
      this.dropSlot(key, s);
      this.mark(s.commune, null);
    }
    for (const id of this.agentSeen.keys()) if (!this.dir.agents.has(id)) this.agentSeen.delete(id);
    for (const [id, keys] of this.byAgent) if (keys.size === 0) this.byAgent.delete(id);
    const lists = new Map([...this.dir.communes.keys()].map((c) => [c, this.dir.agentsOfCommune(c).join('\u0000')]));
    for (const [c, l] of lists) if ((this.agentLists?.get(c) ?? '') !== l) this.mark(c, null);
    this.agentLists = lists;
    this.served.clear();
    // carriers, target order and commune overrides may have changed: no cached view survives a directory change
    this.views.clear();
    this.orderOf = null;
    this.emit();
  }
  /** each commune's agent ids as of the last reconcile */
  private agentLists: Map<string, string> | null = null;

  private emit() {
    if (this.pending.size === 0) return;
    const agents = this.pending;
    this.pending = new Map();
    const codes = new Set(agents.keys());
    for (const code of codes) for (const scope of this.scopes) this.views.delete(`${scope}\u0000${code}`);
    for (const fn of this.listeners) fn(codes, agents);
  }

  /** communes a carrier serves (cached until the directory changes: reconcile) */
  servedBy(carrier: string): Set<string> {
    let s = this.served.get(carrier);
    if (!s) this.served.set(carrier, (s = this.dir.communesOfCarrier(carrier)));
    return s;
  }

  serviceWideTargets(): string[] {
    return [...this.serviceWide];
  }

  /** A commune's live view; with `carrier`, only what that carrier's uplinks measured (a carrier user's scope). */
  commune(code: string, carrier?: string): CommuneLive {
    const key = `${carrier ?? ''}\u0000${code}`;
    let view = this.views.get(key);
    if (!view) {
      this.scopes.add(carrier ?? '');
      this.views.set(key, (view = this.build(code, carrier)));
    }
    return { ...view, lastSeen: this.lastSeenOf(code) };
  }

  /**
   * A commune's view carrying only the slots of `agents` (the sites that changed): the commune's own figures are
   * whole, `targets` is partial and `only` names whose slots it replaces. A delta at the size of one site.
   */
  communePart(code: string, agents: ReadonlySet<string>, carrier?: string): CommuneLive {
    const whole = this.commune(code, carrier);
    const only = [...agents].filter((a) => this.dir.agents.get(a)?.commune === code);
    const set = new Set(only);
    return { ...whole, targets: whole.targets.filter((t) => t.agent !== undefined && set.has(t.agent)), sites: whole.sites?.filter((s) => set.has(s.agent)), only };
  }

  private lastSeenOf(code: string): number | null {
    let seen = 0;
    for (const a of this.dir.agentsOfCommune(code)) seen = Math.max(seen, this.agentSeen.get(a) ?? 0);
    return seen || null;
  }

  private build(code: string, carrier: string | undefined): Omit<CommuneLive, 'lastSeen'> {
    const keys = this.byCommune.get(code) ?? new Set<string>();
    const slots = [...keys].map((k) => this.slots.get(k)!).filter((s) => !carrier || s.carrier === carrier).sort((a, b) => this.order(a.target) - this.order(b.target) || a.uplink.localeCompare(b.uplink));
    const targets: TargetLive[] = slots.map((s) => ({
      id: s.target,
      agent: s.agent,
      uplink: s.uplink || undefined,
      carrier: s.carrier || null,
      status: s.state.status,
      latencyMs: s.state.latencyMs,
      lossPct: s.state.lossPct,
      lastTs: s.state.lastTs,
      reason: this.serviceWide.has(s.target) && s.state.status !== 'up' && s.state.reason ? { ...s.state.reason, provinceWide: true } : s.state.reason,
    }));
    const status = communeStatus(targets, this.serviceWide);
    // a site is judged like a commune, on its own targets
    const byAgent = new Map<string, TargetLive[]>();
    for (const t of targets) if (t.agent) byAgent.get(t.agent)?.push(t) ?? byAgent.set(t.agent, [t]);
    const sites = this.dir.agentsOfCommune(code).flatMap((agent) => {
      const site = this.dir.siteOf(agent);
      const own = byAgent.get(agent) ?? [];
      return site && (!carrier || own.length) ? [{ agent, ...site, status: communeStatus(own, this.serviceWide) }] : [];
    });
    // Headline latency/loss: the first ICMP target beyond the LAN gateway that has data (the uplink's own figures),
    // else the gateway.
    const withData = slots.filter((s) => describesLink(this.dir.targets.get(s.target)) && s.state.lastTs !== null && s.state.status !== 'unknown');
    const icmp = withData.find((s) => (this.dir.targets.get(s.target) as { host?: string }).host !== 'gateway') ?? withData[0];
    return {
      code,
      status,
      carrier: carrier ? (slots.length ? carrier : null) : this.dir.communeCarrier(code),
      latencyMs: icmp?.state.latencyMs ?? null,
      lossPct: icmp?.state.lossPct ?? null,
      agents: this.dir.agentsOfCommune(code),
      sites,
      targets,
    };
  }

  /** Every commune, or with `carrier` only the communes that carrier serves, scoped to its uplinks. */
  all(carrier?: string): CommuneLive[] {
    if (!carrier) return [...this.dir.communes.keys()].map((c) => this.commune(c));
    return [...this.servedBy(carrier)].sort().map((c) => this.commune(c, carrier));
  }

  private order(target: string): number {
    this.orderOf ??= new Map(this.dir.targetOrder.map((t, i) => [t, i]));
    return this.orderOf.get(target) ?? 1e9;
  }
  /** target order index, rebuilt after a directory change (reconcile) */
  private orderOf: Map<string, number> | null = null;
}
