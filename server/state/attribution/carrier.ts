// Carrier pass: one carrier's communes failing together (their links, or single-carrier agents fallen silent), or
// one carrier's probes failing a target that the other carriers reach, while the other carriers are fine. Pure.
import type { EvidenceItem } from '../../../config/vocabulary.ts';
import { HEALTH_RANK, isBad, LEVELS, type Level, type PathEval, type View } from './paths.ts';
import { agentCarriers, byKey, round1, uniqSorted, type AgentSnapshot, type AttributionThresholds, type CauseFinding } from './types.ts';

interface Member {
  failing: View[];
  confirmed: boolean;
  silent: boolean;
  level: Level;
}

export interface CarrierLink {
  level: Level;
  communes: Map<string, Member>;
  members: number;
  share: number;
  otherShare: number;
}

/** Carriers whose communes fail together (links, or single-carrier agents fallen silent) while others are fine. */
export function carrierLinkCauses(
  evals: Map<string, PathEval[]>,
  agents: AgentSnapshot[],
  live: AgentSnapshot[],
  silent: AgentSnapshot[],
  th: AttributionThresholds,
): Map<string, CarrierLink> {
  const members = new Map<string, Set<string>>(); // carrier -> communes with a path on it
  const failing = new Map<string, Map<string, Member>>(); // carrier -> commune -> evidence
  const okOn = new Set<string>(); // `${commune}\0${carrier}`: a live agent's path on it works
  for (const a of agents)
    for (const c of agentCarriers(a)) {
      let set = members.get(c);
      if (!set) members.set(c, (set = new Set()));
      set.add(a.commune);
    }
  const mark = (c: string, commune: string, m: Member) => {
    let map = failing.get(c);
    if (!map) failing.set(c, (map = new Map()));
    const prev = map.get(commune);
    if (!prev || HEALTH_RANK[m.level] > HEALTH_RANK[prev.level]) map.set(commune, m);
  };
  for (const a of live)
    for (const e of evals.get(a.id)!) {
      if (!e.path.carrier) continue;
      if (e.health === 'ok') okOn.add(`${a.commune}\u0000${e.path.carrier}`);
      if (e.health === 'hard' || e.health === 'soft')
        mark(e.path.carrier, a.commune, { failing: e.failing, confirmed: e.health === 'hard' && e.confirmed, silent: false, level: e.health });
    }
  for (const a of silent) {
    const cs = agentCarriers(a);
    // A silent agent only says something about a carrier when that is its only one and no sibling works on it.
    if (cs.length !== 1 || okOn.has(`${a.commune}\u0000${cs[0]}`)) continue;
    mark(cs[0]!, a.commune, { failing: [], confirmed: true, silent: true, level: 'hard' });
  }
  const res = new Map<string, CarrierLink>();
  for (const [k, mem] of [...members].sort(byKey)) {
    const others = new Set<string>();
    for (const [c, set] of members) if (c !== k) for (const x of set) if (!mem.has(x)) others.add(x);
    for (const level of LEVELS) {
      const fk = [...(failing.get(k) ?? new Map<string, Member>())].filter(([, m]) => isBad(m.level, level));
      const otherFailing = [...others].filter((x) => [...failing].some(([c, map]) => c !== k && isBad(map.get(x)?.level ?? 'none', level))).length;
      const share = fk.length / mem.size;
      const otherShare = others.size ? otherFailing / others.size : 0;
      if (share >= th.carrierShare && fk.length >= th.carrierMinCommunes && otherShare < th.otherCarriersMaxShare) {
        res.set(k, { level, communes: new Map(fk), members: mem.size, share, otherShare });
        break;
      }
    }
  }
  return res;
}

export interface CarrierRoute {
  target: string;
  level: Level;
  failing: View[];
  share: number;
  otherShare: number;
  reporting: number;
}

/**
 * A target failing for one carrier's healthy probes only: the carrier's route to it. `reps` are the healthy agents'
 * views of the target; `routeCarrier` the carrier an agent's unbound probes leave by (null: unknown). Empty when
 * no carrier claims it (it may then be a service).
 */
export function carrierRoutesTo(
  target: string,
  reps: View[],
  carrierIds: string[],
  routeCarrier: (agent: string) => string | null,
  th: AttributionThresholds,
): Map<string, CarrierRoute> {
  const out = new Map<string, CarrierRoute>();
  for (const level of LEVELS) {
    for (const k of carrierIds) {
      const mine = reps.filter((v) => routeCarrier(v.slot.agent) === k);
      const others = reps.filter((v) => routeCarrier(v.slot.agent) !== k);
      const fail = mine.filter((v) => isBad(v.h, level));
      const failCommunes = new Set(fail.map((v) => v.slot.commune)).size;
      const otherShare = others.length ? others.filter((v) => isBad(v.h, level)).length / others.length : 0;
      if (mine.length && fail.length / mine.length >= th.carrierShare && failCommunes >= th.carrierMinCommunes && otherShare < th.otherCarriersMaxShare)
        out.set(k, { target, level, failing: fail, share: fail.length / mine.length, otherShare, reporting: mine.length });
    }
    if (out.size) break;
  }
  return out;
}

/** One carrier cause per carrier: its link failures and its routes to targets together. */
export function carrierFindings(
  carrierIds: string[],
  links: Map<string, CarrierLink>,
  routesOf: Map<string, CarrierRoute[]>,
  serviceTargets: Set<string>,
): CauseFinding[] {
  const out: CauseFinding[] = [];
  for (const k of carrierIds) {
    const link = links.get(k);
    const routes = routesOf.get(k) ?? [];
    if (!link && !routes.length) continue;
    const communes = new Set<string>(link ? link.communes.keys() : []);
    const targets = new Set<string>();
    const confirmed = new Set<string>(); // communes whose failure is confirmed (3 failed rounds, or silence)
    if (link) {
      for (const [c, m] of link.communes) {
        if (m.confirmed) confirmed.add(c);
        for (const v of m.failing) if (!serviceTargets.has(v.slot.target)) targets.add(v.slot.target);
      }
    }
    for (const r of routes) {
      targets.add(r.target);
      for (const v of r.failing) {
        communes.add(v.slot.commune);
        if (v.status === 'down') confirmed.add(v.slot.commune);
      }
    }
    const items: EvidenceItem[] = [];
    if (link) items.push({ code: 'carrier_share', carrier: k, failing: link.communes.size, of: link.members, otherPct: round1(link.otherShare * 100) });
    for (const r of routes)
      items.push({ code: 'carrier_route', carrier: k, target: r.target, failing: r.failing.length, of: r.reporting, otherPct: round1(r.otherShare * 100) });
    out.push({
      key: `carrier:${k}`,
      cause: 'carrier',
      subject: k,
      communes: uniqSorted(communes),
      targets: uniqSorted(targets),
      carrier: k,
      severity: communes.size && confirmed.size * 2 >= communes.size ? 'down' : 'degraded',
      hard: (link?.level ?? 'soft') === 'hard' || routes.some((r) => r.level === 'hard'),
      peers: 0,
      ...(!link ? { growing: true } : {}),
      evidence: {
        items,
        figures: {
          carrier: k,
          communesFailing: communes.size,
          carrierCommunes: link?.members ?? null,
          share: link ? round1(link.share * 100) : null,
          otherCarriersShare: link ? round1(link.otherShare * 100) : null,
          silentAgents: link ? [...link.communes.values()].filter((m) => m.silent).length : 0,
          routeTargets: routes.map((r) => r.target).join(',') || null,
        },
      },
    });
  }
  return out;
}
