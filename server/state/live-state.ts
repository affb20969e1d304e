// In-memory live state: per (commune, agent, target, uplink) status, rolled up per commune.
// Holds no decisions of its own: it applies status.ts, province-wide.ts and commune-status.ts and reports which
// communes (and which of their agents, i.e. sites) changed.
// Cost follows what changed, not the fleet: the province-wide rule is fed from per-(target, commune) status
// counts updated slot by slot; a site's view (its slots, status summary, headline candidates) is rebuilt only when
// its own slots change, and a commune's figures fold its sites' summaries; both cached per scope.
import type { CommuneLive, ProbeResult, SiteLive, Status, TargetLive } from '../../config/wire.ts';
import { STATUS_RANK } from '../../config/vocabulary.ts';
import type { Directory } from '../directory.ts';
import { describesLink, isLiveKind } from '../kinds/index.ts';
import { INITIAL, judgeResult, markUnknown, type TargetState, type Verdict } from './status.ts';
import { foldStatus, summarize, type StatusSummary } from './commune-status.ts';
import { DEFAULT_PROVINCE_WIDE, isProvinceWide, type ProvinceWideRule } from './province-wide.ts';
import { networkCapped } from './attribution/network.ts';

interface Slot {
  commune: string;
  agent: string;
  target: string;
  uplink: string;
  carrier: string;
  state: TargetState;
}

/** a round LiveState.apply applied, with its kind's verdict */
export interface AppliedRound {
  result: ProbeResult;
  verdict: Verdict;
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

/** one site's slots as shown, and its part of the commune's figures */
interface SiteView extends StatusSummary {
  targets: TargetLive[];
  /** its entry in the commune's site list (null: not listed in this scope) */
  entry: SiteLive | null;
  /** headline candidates: first link-describing slot with data beyond the LAN gateway, and first at all */
  beyond: TargetLive | undefined;
  any: TargetLive | undefined;
}

/** a commune's figures; its whole target list is joined from its sites only when asked for */
interface CommuneView {
  head: Omit<CommuneLive, 'lastSeen' | 'targets'>;
  targets: TargetLive[] | null;
}

/** the first candidate in target order, then uplink; ties keep the given (site) order */
function firstOf(cands: readonly (TargetLive | undefined)[], order: (target: string) => number): TargetLive | undefined {
  let best: TargetLive | undefined;
  for (const c of cands) if (c && (!best || (order(c.id) - order(best.id) || (c.uplink ?? '').localeCompare(best.uplink ?? '')) < 0)) best = c;
  return best;
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
  /** per commune, its agents holding slots there and how many */
  private byCommune = new Map<string, Map<string, number>>();
  private agentSeen = new Map<string, number>();
  /** per commune, when one of its agents last spoke (the newest of its agents' times) */
  private communeSeen = new Map<string, number>();
  private serviceWide = new Set<string>();
  private listeners = new Set<ChangeListener>();
  private served = new Map<string, Set<string>>();
  /** slot keys per agent, for a site-sized delta */
  private byAgent = new Map<string, Set<string>>();
  private tallies = new Map<string, TargetTally>();
  /** what changed since the last emit: commune -> agents, or null for the whole commune */
  private pending = new Map<string, Set<string> | null>();
  /** commune figures per `${carrier}\u0000${code}`, dropped when the commune changes */
  private views = new Map<string, CommuneView>();
  /** site views per `${carrier}\u0000${agent}`, dropped when one of the site's slots changes */
  private sites = new Map<string, SiteView>();
  /** each agent's cached site-view keys (one per scope asked for) */
  private siteKeys = new Map<string, Set<string>>();
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
    const t = this.now();
    this.agentSeen.set(agentId, t);
    const c = this.dir.agents.get(agentId)?.commune;
    if (c !== undefined && t > (this.communeSeen.get(c) ?? 0)) this.communeSeen.set(c, t);
  }

  lastSeen(agentId: string): number | null {
    return this.agentSeen.get(agentId) ?? null;
  }

  /**
   * Apply one agent's results. Commune comes from config, never from the agent. Returns the rounds that moved a
   * slot (live kinds, newer than the slot's last) with their verdicts, so the caller judges nothing twice.
   */
  apply(agentId: string, results: ProbeResult[]): AppliedRound[] {
    const agent = this.dir.agents.get(agentId);
    if (!agent) return [];
    this.touchAgent(agentId);
    const applied: AppliedRound[] = [];
    for (const r of results) {
      // stored and reported only (a few speed tests a day): no slot to turn red or unknown between them
      if (!isLiveKind(r.kind)) continue;
      const uplink = r.uplink ?? '';
      const key = `${agentId}\u0000${r.target}\u0000${uplink}`;
      let slot = this.slots.get(key);
      if (!slot) {
        slot = { commune: agent.commune, agent: agentId, target: r.target, uplink, carrier: this.dir.carrierOf(agentId, r.uplink), state: INITIAL };
        this.addSlot(key, slot);
      }
      const judged = judgeResult(slot.state, r, this.dir.thresholdsFor(r.target, agent.commune));
      // a result older than the slot's newest (a resent batch) is history only: not judged, not news
      if (!judged) continue;
      applied.push({ result: r, verdict: judged.verdict });
      const { next } = judged;
      // a new result time alone is not a change worth a frame, but the next view built shows it
      this.dropSite(slot.agent);
      if (next.status !== slot.state.status || next.latencyMs !== slot.state.latencyMs || next.lossPct !== slot.state.lossPct || next.reason !== slot.state.reason)
        this.mark(slot.commune, slot.agent);
      this.setState(slot, next);
    }
    this.emit();
    return applied;
  }

  private addSlot(key: string, slot: Slot) {
    this.slots.set(key, slot);
    let held = this.byCommune.get(slot.commune);
    if (!held) this.byCommune.set(slot.commune, (held = new Map()));
    held.set(slot.agent, (held.get(slot.agent) ?? 0) + 1);
    let mine = this.byAgent.get(slot.agent);
    if (!mine) this.byAgent.set(slot.agent, (mine = new Set()));
    mine.add(key);
    this.count(slot, null, slot.state.status);
  }

  private dropSlot(key: string, slot: Slot) {
    this.slots.delete(key);
    const held = this.byCommune.get(slot.commune);
    const n = (held?.get(slot.agent) ?? 0) - 1;
    if (n > 0) held!.set(slot.agent, n);
    else held?.delete(slot.agent);
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
    for (const scope of this.scopes) this.views.delete(`${scope}\u0000${commune}`);
    if (agent !== null) this.dropSite(agent);
    else {
      for (const a of this.dir.agentsOfCommune(commune)) this.dropSite(a);
      for (const a of this.byCommune.get(commune)?.keys() ?? []) this.dropSite(a);
    }
    const prev = this.pending.get(commune);
    if (agent === null) this.pending.set(commune, null);
    else if (prev === undefined) this.pending.set(commune, new Set([agent]));
    else prev?.add(agent);
  }

  private dropSite(agent: string) {
    const keys = this.siteKeys.get(agent);
    if (!keys) return;
    for (const k of keys) this.sites.delete(k);
    this.siteKeys.delete(agent);
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
    for (const [key, s] of this.slots) {
      const agent = this.dir.agents.get(s.agent);
      const keep =
        agent && agent.commune === s.commune && this.dir.plannedTargets(s.agent)?.has(s.target) && (s.uplink === '' || agent.uplinks.some((u) => u.name === s.uplink)) && this.dir.carrierOf(s.agent, s.uplink || undefined) === s.carrier;
      if (keep) continue;
      this.dropSlot(key, s);
      this.mark(s.commune, null);
    }
    for (const id of this.agentSeen.keys()) if (!this.dir.agents.has(id)) this.agentSeen.delete(id);
    // agents may have moved: each commune's time again from its agents'
    this.communeSeen.clear();
    for (const [id, t] of this.agentSeen) {
      const c = this.dir.agents.get(id)!.commune;
      if (t > (this.communeSeen.get(c) ?? 0)) this.communeSeen.set(c, t);
    }
    for (const [id, keys] of this.byAgent) if (keys.size === 0) this.byAgent.delete(id);
    const lists = new Map([...this.dir.communes.keys()].map((c) => [c, this.dir.agentsOfCommune(c).join('\u0000')]));
    for (const [c, l] of lists) if ((this.agentLists?.get(c) ?? '') !== l) this.mark(c, null);
    this.agentLists = lists;
    this.served.clear();
    // carriers, target order and commune overrides may have changed: no cached view survives a directory change
    this.views.clear();
    this.sites.clear();
    this.siteKeys.clear();
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
    const view = this.view(code, carrier);
    // the whole list is the sites' cached lists end to end, joined once per change of the commune
    view.targets ??= this.sitesIn(code).flatMap((a) => this.site(a, carrier).targets);
    return { ...view.head, targets: view.targets, lastSeen: this.lastSeenOf(code) };
  }

  /**
   * A commune's view carrying only the slots of `agents` (the sites that changed): the commune's own figures are
   * whole, `targets` is partial and `only` names whose slots it replaces. A delta at the size of one site: only
   * those sites' slots are read (the commune's figures come from its sites' cached summaries).
   */
  communePart(code: string, agents: ReadonlySet<string>, carrier?: string): CommuneLive {
    const { head } = this.view(code, carrier);
    const only = [...agents].filter((a) => this.dir.agents.get(a)?.commune === code);
    const set = new Set(only);
    return {
      ...head,
      targets: only.flatMap((a) => this.site(a, carrier).targets),
      sites: head.sites?.filter((s) => set.has(s.agent)),
      lastSeen: this.lastSeenOf(code),
      only,
    };
  }

  private lastSeenOf(code: string): number | null {
    return this.communeSeen.get(code) ?? null;
  }

  /** the agents with slots in a commune: its agents in directory order, then any the directory no longer places there */
  private sitesIn(code: string): string[] {
    const listed = this.dir.agentsOfCommune(code);
    const holding = this.byCommune.get(code);
    if (!holding) return listed;
    const out = listed.filter((a) => holding.has(a));
    if (out.length < holding.size) for (const a of holding.keys()) if (!out.includes(a)) out.push(a);
    return out;
  }

  /** one site's slots in target order (then uplink), and what the commune's figures need from them; cached per scope */
  private site(agent: string, carrier: string | undefined): SiteView {
    const key = `${carrier ?? ''}\u0000${agent}`;
    let v = this.sites.get(key);
    if (v) return v;
    const slots = [...(this.byAgent.get(agent) ?? [])]
      .map((k) => this.slots.get(k)!)
      .filter((s) => !carrier || s.carrier === carrier)
      .sort((a, b) => this.order(a.target) - this.order(b.target) || a.uplink.localeCompare(b.uplink));
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
    // headline candidates: the first link-describing slot with data, beyond the LAN gateway and any
    const withData = targets.filter((t) => describesLink(this.dir.targets.get(t.id)) && t.lastTs !== null && t.status !== 'unknown');
    const beyond = withData.find((t) => (this.dir.targets.get(t.id) as { host?: string }).host !== 'gateway');
    // a TSLCD line failing while the site's Internet works colours it degraded, not down (attribution/network.ts)
    const colour = networkCapped(targets, (agent, uplink) => this.dir.networkOf(agent, uplink));
    this.sites.set(key, (v = { targets, ...summarize(colour, this.serviceWide), beyond, any: withData[0], entry: null }));
    const site = this.dir.siteOf(agent);
    // a site is judged like a commune, on its own targets
    if (site && (!carrier || targets.length)) v.entry = { agent, ...site, status: foldStatus([v]) };
    let keys = this.siteKeys.get(agent);
    if (!keys) this.siteKeys.set(agent, (keys = new Set()));
    keys.add(key);
    return v;
  }

  /** a commune's figures, folded from its sites' summaries (a site is rebuilt only when its own slots changed) */
  private view(code: string, carrier: string | undefined): CommuneView {
    const key = `${carrier ?? ''}\u0000${code}`;
    let view = this.views.get(key);
    if (view) return view;
    this.scopes.add(carrier ?? '');
    const ordered = this.sitesIn(code).map((a) => [a, this.site(a, carrier)] as const);
    const status = foldStatus(ordered.map(([, v]) => v));
    const sites = this.dir.agentsOfCommune(code).flatMap((agent) => this.site(agent, carrier).entry ?? []);
    // Headline latency/loss: the first ICMP target beyond the LAN gateway that has data (the uplink's own figures),
    // else the gateway; first in target order, then uplink, then site order.
    const icmp = firstOf(ordered.map(([, v]) => v.beyond), this.rank) ?? firstOf(ordered.map(([, v]) => v.any), this.rank);
    const head = {
      code,
      status,
      carrier: carrier ? (ordered.some(([, v]) => v.targets.length) ? carrier : null) : this.dir.communeCarrier(code),
      latencyMs: icmp?.latencyMs ?? null,
      lossPct: icmp?.lossPct ?? null,
      agents: this.dir.agentsOfCommune(code),
      sites,
    };
    this.views.set(key, (view = { head, targets: null }));
    return view;
  }

  /** Every commune, or with `carrier` only the communes that carrier serves, scoped to its uplinks. */
  all(carrier?: string): CommuneLive[] {
    if (!carrier) return [...this.dir.communes.keys()].map((c) => this.commune(c));
    return [...this.servedBy(carrier)].sort().map((c) => this.commune(c, carrier));
  }

  private rank = (target: string) => this.order(target);
  private order(target: string): number {
    this.orderOf ??= new Map(this.dir.targetOrder.map((t, i) => [t, i]));
    return this.orderOf.get(target) ?? 1e9;
  }
  /** target order index, rebuilt after a directory change (reconcile) */
  private orderOf: Map<string, number> | null = null;
}
