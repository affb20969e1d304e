// Attribution: looks across every agent and says WHAT failed, so one fault makes one incident.
// Pure: (snapshot of all live slots + which agents are silent, thresholds) -> the current causes, sorted.
//
// Causes:
//   local_link  the commune's own link: its baseline (the uplink gateway) fails, or every target beyond it fails,
//               or its agent fell silent while its link was failing / while a sibling agent reports the link down.
//   carrier     a large share of one carrier's communes fail together while the other carriers' communes are fine
//               (their links, or the same target reached through that carrier only).
//   service     most communes whose own link is fine fail the same target (a portal down everywhere).
//   agent       an agent silent with no evidence against its link (grey, not red): the PC, its power, the process.
// A commune covered by a carrier cause gets no local cause of its own; a target failing as a service is not
// held against any commune's link. Everything is sorted, so equal input gives equal output.
// The passes live in ./attribution/: paths (one path's health), carrier, service, local-link, agent, network.
import { CAUSE_ORDER } from '../../config/vocabulary.ts';
import { agentFindings } from './attribution/agent.ts';
import { carrierFindings, carrierLinkCauses, carrierRoutesTo, type CarrierLink, type CarrierRoute } from './attribution/carrier.ts';
import { localLinkPass } from './attribution/local-link.ts';
import { namedByNetwork, networkLinks, networkView } from './attribution/network.ts';
import { evalPath, pathsOf, view, type Path, type View } from './attribution/paths.ts';
import { serviceFailure, serviceFinding, type ServiceFailure } from './attribution/service.ts';
import { agentCarriers, DEFAULT_ATTRIBUTION, uniqSorted } from './attribution/types.ts';
import type { AgentSnapshot, AttributionInput, AttributionThresholds, CauseFinding, SlotSnapshot } from './attribution/types.ts';

// the input, output and settings types live with the passes; importers need only this file
export { attributionThresholds, DEFAULT_ATTRIBUTION } from './attribution/types.ts';
export type * from './attribution/types.ts';

export function attribute(given: AttributionInput, th: AttributionThresholds = DEFAULT_ATTRIBUTION): CauseFinding[] {
  // TSLCD lines are grouped by their network, not their carrier (./attribution/network.ts)
  const net = networkView(given);
  const input = net.input;
  const baseline = new Set(input.baselineTargets);
  const agents = [...input.agents].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const slotsOf = new Map<string, SlotSnapshot[]>();
  for (const s of input.slots) {
    const list = slotsOf.get(s.agent);
    if (list) list.push(s);
    else slotsOf.set(s.agent, [s]);
  }
  const known = new Set(agents.map((a) => a.id));
  const paths = new Map<string, Path[]>(agents.map((a) => [a.id, pathsOf(a, slotsOf.get(a.id) ?? [])]));
  const live = agents.filter((a) => !a.silent);
  const silent = agents.filter((a) => a.silent);
  const agentById = new Map(agents.map((a) => [a.id, a]));
  /** carrier of an agent's unbound probes: known only for single-carrier agents */
  const routeCarrier = (a: AgentSnapshot): string | null => {
    const cs = agentCarriers(a);
    return cs.length === 1 ? cs[0]! : null;
  };
  const evalAll = (exclude: (a: AgentSnapshot) => Set<string>) =>
    new Map(live.map((a) => [a.id, paths.get(a.id)!.map((p) => evalPath(p, baseline, exclude(a), th, false))]));

  // 1. Links with nothing excluded, to find the agents whose own link is fine.
  const eval0 = evalAll(() => new Set());
  // "Link fine" for service purposes is judged on the baseline when there is one: if two portals are down
  // everywhere, "every target beyond fails" would otherwise make every agent look cut and hide the service.
  const linkFine = (a: AgentSnapshot) =>
    eval0.get(a.id)!.every((e) => {
      const hasBase = e.path.slots.some((s) => baseline.has(s.target) && s.status !== 'unknown');
      return hasBase ? e.baseline !== 'hard' : e.health !== 'hard';
    });
  const carrierLinks0 = networkLinks(carrierLinkCauses(eval0, agents, live, silent, th), eval0, live, net, th);
  const inCarrierCause = (a: AgentSnapshot, causes: Map<string, CarrierLink>) =>
    agentCarriers(a).some((c) => causes.get(c)?.communes.has(a.commune));
  const healthy = live.filter((a) => linkFine(a) && !inCarrierCause(a, carrierLinks0));

  // 2. Targets failing for most healthy agents: a carrier's route to them (only that carrier's agents fail) or the
  //    service itself (most communes fail, whatever their carrier).
  const targetIds = uniqSorted(input.slots.filter((s) => known.has(s.agent) && !baseline.has(s.target)).map((s) => s.target));
  const reporters = new Map<string, View[]>(); // target -> healthy agents' views of it
  for (const a of healthy)
    for (const s of slotsOf.get(a.id) ?? []) {
      if (baseline.has(s.target)) continue;
      const v = view(s, th, false);
      if (v.h === 'none') continue;
      const list = reporters.get(s.target) ?? [];
      list.push(v);
      reporters.set(s.target, list);
    }
  const carrierIds = uniqSorted(agents.flatMap(agentCarriers));
  const carrierRoutes = new Map<string, CarrierRoute[]>();
  const services: ServiceFailure[] = [];
  for (const t of targetIds) {
    const reps = reporters.get(t) ?? [];
    const routes = carrierRoutesTo(t, reps, carrierIds, (id) => routeCarrier(agentById.get(id)!), th);
    for (const [k, r] of routes) carrierRoutes.set(k, [...(carrierRoutes.get(k) ?? []), r]);
    if (routes.size) continue;
    const s = serviceFailure(t, reps, th);
    if (s) services.push(s);
  }
  const serviceTargets = new Set(services.map((s) => s.target));

  // 3. Links again, not holding service / carrier-route failures against them; then carriers on the final links.
  const eval1 = evalAll((a) => {
    const ex = new Set(serviceTargets);
    const k = routeCarrier(a);
    if (k) for (const ct of carrierRoutes.get(k) ?? []) ex.add(ct.target);
    return ex;
  });
  const carrierLinks = networkLinks(carrierLinkCauses(eval1, agents, live, silent, th), eval1, live, net, th);
  const covered = (commune: string, carrier: string) => !!carrier && !!carrierLinks.get(carrier)?.communes.has(commune);
  const { locals, agentSilences } = localLinkPass({ live, silent, evals: eval1, paths, baseline, serviceTargets, covered, th });

  const out = namedByNetwork([
    ...carrierFindings(carrierIds, carrierLinks, carrierRoutes, serviceTargets),
    ...services.map(serviceFinding),
    ...locals,
    ...agentFindings(agentSilences, agents, input.now, th),
  ], net);
  return out.sort((x, y) => CAUSE_ORDER[x.cause] - CAUSE_ORDER[y.cause] || (x.subject < y.subject ? -1 : x.subject > y.subject ? 1 : 0));
}
