// In-memory live state: per (commune, agent, target, uplink) status, rolled up per commune.
// Holds no decisions of its own: it applies status.ts, province-wide.ts and commune-status.ts and reports which
// communes changed.
import type { CommuneLive, ProbeResult, Status, TargetLive } from '../../config/wire.ts';
import { STATUS_RANK } from '../../config/vocabulary.ts';
import type { Directory } from '../directory.ts';
import { describesLink } from '../kinds/index.ts';
import { applyResult, INITIAL, markUnknown, type TargetState } from './status.ts';
import { communeStatus } from './commune-status.ts';
import { DEFAULT_PROVINCE_WIDE, serviceWideFailures, type ProvinceWideRule } from './province-wide.ts';

interface Slot {
  commune: string;
  agent: string;
  target: string;
  uplink: string;
  carrier: string;
  state: TargetState;
}

export type ChangeListener = (codes: Set<string>) => void;

export class LiveState {
  private slots = new Map<string, Slot>();
  /** slot keys per commune, for rollup */
  private byCommune = new Map<string, Set<string>>();
  private agentSeen = new Map<string, number>();
  private serviceWide = new Set<string>();
  private listeners = new Set<ChangeListener>();
  private served = new Map<string, Set<string>>();

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
    const changed = new Set<string>();
    for (const r of results) {
      const uplink = r.uplink ?? '';
      const key = `${agentId}\u0000${r.target}\u0000${uplink}`;
      let slot = this.slots.get(key);
      if (!slot) {
        slot = { commune: agent.commune, agent: agentId, target: r.target, uplink, carrier: this.dir.carrierOf(agentId, r.uplink), state: INITIAL };
        this.slots.set(key, slot);
        let set = this.byCommune.get(agent.commune);
        if (!set) this.byCommune.set(agent.commune, (set = new Set()));
        set.add(key);
      }
      const next = applyResult(slot.state, r, this.dir.thresholdsFor(r.target, agent.commune));
      if (next !== slot.state) {
        if (next.status !== slot.state.status || next.latencyMs !== slot.state.latencyMs || next.lossPct !== slot.state.lossPct || next.reason !== slot.state.reason)
          changed.add(agent.commune);
        slot.state = next;
      }
    }
    this.recomputeServiceWide(changed);
    this.emit(changed);
  }

  /** Mark targets of silent agents unknown. Call periodically. */
  sweep(): void {
    const t = this.now();
    const changed = new Set<string>();
    for (const slot of this.slots.values()) {
      const seen = this.agentSeen.get(slot.agent) ?? 0;
      if (t - seen > this.agentTimeoutMs && slot.state.status !== 'unknown') {
        slot.state = markUnknown(slot.state);
        changed.add(slot.commune);
      }
    }
    this.recomputeServiceWide(changed);
    this.emit(changed);
  }

  /**
   * The directory changed (an agent enrolled, revoked, moved; targets or uplinks changed): drop the slots that no
   * longer exist or now belong elsewhere (they come back with the next result, in the right commune), and redraw
   * the communes whose agents changed.
   */
  reconcile(): void {
    const changed = new Set<string>();
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
      this.slots.delete(key);
      this.byCommune.get(s.commune)?.delete(key);
      changed.add(s.commune);
    }
    for (const id of this.agentSeen.keys()) if (!this.dir.agents.has(id)) this.agentSeen.delete(id);
    const lists = new Map([...this.dir.communes.keys()].map((c) => [c, this.dir.agentsOfCommune(c).join('\u0000')]));
    for (const [c, l] of lists) if ((this.agentLists?.get(c) ?? '') !== l) changed.add(c);
    this.agentLists = lists;
    this.served.clear();
    this.recomputeServiceWide(changed);
    this.emit(changed);
  }
  /** each commune's agent ids as of the last reconcile */
  private agentLists: Map<string, string> | null = null;

  private recomputeServiceWide(changed: Set<string>) {
    // One vote per commune: its worst status for the target over its agents and uplinks.
    const byCommune = new Map<string, Map<string, Status>>();
    for (const s of this.slots.values()) {
      let m = byCommune.get(s.target);
      if (!m) byCommune.set(s.target, (m = new Map()));
      const prev = m.get(s.commune);
      if (prev === undefined || STATUS_RANK[s.state.status] > STATUS_RANK[prev]) m.set(s.commune, s.state.status);
    }
    const per = new Map([...byCommune].map(([target, m]) => [target, [...m.values()]]));
    const next = serviceWideFailures(per, this.provinceWide);
    const flipped = [...next].filter((x) => !this.serviceWide.has(x)).concat([...this.serviceWide].filter((x) => !next.has(x)));
    this.serviceWide = next;
    // A target crossing the province-wide line recolours every commune that has it.
    if (flipped.length) for (const s of this.slots.values()) if (flipped.includes(s.target)) changed.add(s.commune);
  }

  private emit(changed: Set<string>) {
    if (changed.size === 0) return;
    for (const fn of this.listeners) fn(changed);
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
    // Headline latency/loss: the first ICMP target beyond the LAN gateway that has data (the uplink's own figures),
    // else the gateway.
    const withData = slots.filter((s) => describesLink(this.dir.targets.get(s.target)) && s.state.lastTs !== null && s.state.status !== 'unknown');
    const icmp = withData.find((s) => (this.dir.targets.get(s.target) as { host?: string }).host !== 'gateway') ?? withData[0];
    const agents = this.dir.agentsOfCommune(code);
    const seen = agents.map((a) => this.agentSeen.get(a) ?? 0).reduce((m, x) => Math.max(m, x), 0);
    return {
      code,
      status,
      carrier: carrier ? (slots.length ? carrier : null) : this.dir.communeCarrier(code),
      latencyMs: icmp?.state.latencyMs ?? null,
      lossPct: icmp?.state.lossPct ?? null,
      lastSeen: seen || null,
      agents,
      targets,
    };
  }

  /** Every commune, or with `carrier` only the communes that carrier serves, scoped to its uplinks. */
  all(carrier?: string): CommuneLive[] {
    if (!carrier) return [...this.dir.communes.keys()].map((c) => this.commune(c));
    return [...this.servedBy(carrier)].sort().map((c) => this.commune(c, carrier));
  }

  private order(target: string): number {
    const i = this.dir.targetOrder.indexOf(target);
    return i < 0 ? 1e9 : i;
  }
}
