// Which sites (agents and where they measure from) a cause touches right now, so an incident can name the school
// or the health station and not only its commune. Pure, from attribution's own input.
import type { Site } from '../../config/schema.ts';
import { view } from '../state/attribution/paths.ts';
import type { AgentSnapshot, AttributionInput, AttributionThresholds, CauseFinding, SlotSnapshot } from '../state/attribution.ts';
import type { IncidentSite } from './types.ts';

/** Attribution's input plus each agent's site (SnapshotBuilder gives it; synthetic inputs may not). */
export type IncidentSource = AttributionInput & { siteOf?: (agentId: string) => Site | undefined };

/** One evaluation's input indexed by commune, built on first use (most evaluations open or update nothing). */
export class SiteIndex {
  private agents: Map<string, AgentSnapshot[]> | null = null;
  private slots: Map<string, SlotSnapshot[]> | null = null;

  constructor(
    private readonly input: IncidentSource,
    private readonly th: AttributionThresholds,
  ) {}

  private index() {
    if (this.agents && this.slots) return { agents: this.agents, slots: this.slots };
    const agents = new Map<string, AgentSnapshot[]>();
    const slots = new Map<string, SlotSnapshot[]>();
    for (const a of this.input.agents) push(agents, a.commune, a);
    for (const s of this.input.slots) push(slots, s.commune, s);
    this.agents = agents;
    this.slots = slots;
    return { agents, slots };
  }

  /** The agents of the finding's communes that it touches now: failing slots on its targets, or silence. */
  private affected(f: CauseFinding): Set<string> {
    const { agents, slots } = this.index();
    const out = new Set<string>();
    const targets = new Set(f.targets);
    for (const c of f.communes) {
      for (const a of agents.get(c) ?? []) {
        if (!a.silent) continue;
        // a silent agent counts when the cause is its silence, or when it hangs on the failing carrier
        if (f.cause === 'agent' || (f.cause === 'carrier' && a.uplinks.some((u) => u.carrier === f.carrier))) out.add(a.id);
      }
      if (f.cause === 'agent') continue;
      for (const s of slots.get(c) ?? []) {
        if (!targets.has(s.target) || out.has(s.agent)) continue;
        if (f.cause === 'carrier' && s.carrier && s.carrier !== f.carrier) continue;
        const h = view(s, this.th, false).h;
        if (h === 'hard' || h === 'soft') out.add(s.agent);
      }
    }
    // local links: the silent agents its evidence names (silent while a sibling reports the link down, or after it failed)
    for (const it of f.evidence.items) if ('agent' in it && typeof it.agent === 'string') out.add(it.agent);
    return out;
  }

  /**
   * The sites a finding names now, and the communes it touches whole. Carrier, service and grouped-silence causes
   * name a commune's sites only when fewer than all of them are affected; a commune measured only from its centre is
   * named by the commune alone.
   */
  sitesOf(f: CauseFinding): { sites: IncidentSite[]; whole: Set<string> } {
    const siteOf = this.input.siteOf;
    const whole = new Set<string>();
    if (!siteOf) return { sites: [], whole };
    const { agents } = this.index();
    const hit = this.affected(f);
    const wide = isWide(f);
    const sites: IncidentSite[] = [];
    for (const c of f.communes) {
      const all = agents.get(c) ?? [];
      const mine = all.filter((a) => hit.has(a.id));
      if (!mine.length) continue;
      if (mine.length === all.length) whole.add(c);
      if (wide && mine.length === all.length) continue;
      if (all.length === 1 && (siteOf(all[0]!.id)?.kind ?? 'commune_centre') === 'commune_centre') continue;
      for (const a of mine) {
        const s = siteOf(a.id);
        if (s) sites.push({ agent: a.id, commune: c, name: s.name, kind: s.kind });
      }
    }
    return { sites: sortSites(sites), whole };
  }
}

/**
 * An open incident's sites after an evaluation: the ones it named before plus the ones it names now, less those
 * of communes a wide cause now touches whole (the commune alone names them).
 */
export function mergeSites(before: IncidentSite[] | undefined, now: IncidentSite[], whole: Set<string>, wide: boolean): IncidentSite[] {
  const byAgent = new Map<string, IncidentSite>();
  for (const s of before ?? []) if (!(wide && whole.has(s.commune))) byAgent.set(s.agent, s);
  for (const s of now) byAgent.set(s.agent, s);
  return sortSites([...byAgent.values()]);
}

export const isWide = (i: { cause: string; subject: string }) => i.cause === 'carrier' || i.cause === 'service' || i.subject === '*';

const sortSites = (xs: IncidentSite[]) =>
  xs.sort((a, b) => (a.commune < b.commune ? -1 : a.commune > b.commune ? 1 : a.name.localeCompare(b.name, 'vi') || (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0)));

function push<T>(m: Map<string, T[]>, k: string, v: T) {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}
