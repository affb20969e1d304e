// Network pass: the government data network (TSLCD, mạng truyền số liệu chuyên dùng) beside the public Internet.
// A commune centre has a TSLCD line and one or more Internet lines, and one carrier (VNPT) often runs both. Grouped by
// carrier, a TSLCD outage would read as that carrier's Internet failing, and its TSLCD lines (in every commune) would
// dilute its real Internet outages below the carrier share. So the other passes see each non-Internet line under its
// network's name, as a carrier of its own (`networkView`); a network-wide cause is kept only while the same communes'
// Internet lines work (`networkLinks`); and the findings name the network and the real carrier (`namedByNetwork`).
// Internet lines keep today's carrier / local-link logic. Pure.
import type { UplinkNetwork } from '../../../config/schema.ts';
import type { EvidenceItem, Status } from '../../../config/vocabulary.ts';
import type { CarrierLink } from './carrier.ts';
import { isBad, type PathEval } from './paths.ts';
import { uniqSorted, type AgentSnapshot, type AttributionInput, type AttributionThresholds, type CauseFinding } from './types.ts';

const networkOf = (u: { network?: UplinkNetwork }): UplinkNetwork => u.network ?? 'internet';
const lineKey = (a: string, uplink: string) => `${a}\u0000${uplink}`;

export interface NetworkView {
  /** the input with every non-Internet line's carrier replaced by its network id */
  input: AttributionInput;
  /** network id -> the carriers that run its lines */
  carriersOf: Map<string, string[]>;
  /** `${commune}\0${uplink}` -> the real carrier of a renamed line */
  lineCarrier: Map<string, string>;
}

export function networkView(input: AttributionInput): NetworkView {
  const renamed = new Map<string, string>(); // `${agent}\0${uplink}` -> network
  const lineCarrier = new Map<string, string>();
  const carriers = new Map<string, Set<string>>();
  const agents = input.agents.map((a): AgentSnapshot => {
    if (a.uplinks.every((u) => networkOf(u) === 'internet')) return a;
    const uplinks = a.uplinks.map((u) => {
      const n = networkOf(u);
      if (n === 'internet') return u;
      renamed.set(lineKey(a.id, u.name), n);
      // a probe of a single-uplink agent may come without its uplink's name
      if (a.uplinks.length === 1) renamed.set(lineKey(a.id, ''), n);
      lineCarrier.set(lineKey(a.commune, u.name), u.carrier);
      if (!carriers.has(n)) carriers.set(n, new Set());
      if (u.carrier) carriers.get(n)!.add(u.carrier);
      return { ...u, carrier: n };
    });
    return { ...a, uplinks };
  });
  const carriersOf = new Map([...carriers].map(([n, cs]) => [n, uniqSorted(cs)]));
  if (!renamed.size) return { input, carriersOf, lineCarrier };
  const slots = input.slots.map((s) => {
    const n = renamed.get(lineKey(s.agent, s.uplink));
    return n ? { ...s, carrier: n } : s;
  });
  return { input: { ...input, agents, slots }, carriersOf, lineCarrier };
}

/**
 * A network's lines failing together is the network's outage only while those communes' Internet lines work: when
 * their Internet fails too it is the communes' power, the server's own network or a province-wide fault, and the
 * local and carrier passes name it. "Work" uses the carrier rule's bound (otherCarriersMaxShare, 10 %): the same
 * background rate of independent local cuts. Communes without an Internet line measured do not count either way.
 */
export function networkLinks(
  links: Map<string, CarrierLink>,
  evals: Map<string, PathEval[]>,
  live: AgentSnapshot[],
  net: NetworkView,
  th: AttributionThresholds,
): Map<string, CarrierLink> {
  if (![...links.keys()].some((k) => net.carriersOf.has(k))) return links;
  const out = new Map<string, CarrierLink>();
  for (const [k, link] of links) {
    if (!net.carriersOf.has(k)) {
      out.set(k, link);
      continue;
    }
    let measured = 0;
    let failing = 0;
    for (const c of link.communes.keys()) {
      const internet = live
        .filter((a) => a.commune === c)
        .flatMap((a) => evals.get(a.id) ?? [])
        .filter((e) => !net.carriersOf.has(e.path.carrier) && e.health !== 'none');
      if (!internet.length) continue;
      measured++;
      if (!internet.some((e) => e.health === 'ok') && internet.some((e) => isBad(e.health, link.level))) failing++;
    }
    const share = measured ? failing / measured : 0;
    if (share < th.otherCarriersMaxShare) out.set(k, { ...link, otherShare: share });
  }
  return out;
}

/** The findings with each network named: a network-wide cause and a commune's network line say so. */
export function namedByNetwork(findings: CauseFinding[], net: NetworkView): CauseFinding[] {
  if (!net.carriersOf.size) return findings;
  const isNet = (c: string | null | undefined) => !!c && net.carriersOf.has(c);
  const runBy = (n: string) => {
    const cs = net.carriersOf.get(n) ?? [];
    return cs.length === 1 ? cs[0]! : null;
  };
  return findings.map((f) => {
    if (f.cause === 'carrier' && isNet(f.subject)) {
      const n = f.subject;
      const items = f.evidence.items.map((it): EvidenceItem =>
        it.code === 'carrier_share' ? { code: 'network_share', network: n, carrier: runBy(n), failing: it.failing, of: it.of, internetPct: it.otherPct } : it,
      );
      const { otherCarriersShare, ...rest } = f.evidence.figures;
      const figures = { ...rest, carrier: runBy(n), network: n, internetShare: otherCarriersShare ?? null };
      return { ...f, carrier: runBy(n), evidence: { items, figures } };
    }
    if (f.cause !== 'local_link') return f;
    const real = (uplink: string | null, c: string | null) => (isNet(c) ? (net.lineCarrier.get(lineKey(f.subject, uplink ?? '')) ?? runBy(c!)) : c);
    const paths = f.evidence.items.filter((it) => it.code === 'gateway_failing' || it.code === 'beyond_failing');
    const onNet = paths.filter((it) => isNet(it.carrier));
    if (!onNet.length) return f;
    // every failing line is a network line and some line still works: that is the commune's Internet
    const internetOk = onNet.length === paths.length && Number(f.evidence.figures.pathsOk ?? 0) > 0;
    const named: EvidenceItem[] = onNet.map((it) => ({ code: 'network_path', network: it.carrier!, uplink: it.uplink, carrier: real(it.uplink, it.carrier), internetOk }));
    const items = [
      ...named,
      ...f.evidence.items.map((it): EvidenceItem =>
        (it.code === 'gateway_failing' || it.code === 'beyond_failing') && isNet(it.carrier) ? { ...it, carrier: real(it.uplink, it.carrier) } : it,
      ),
    ];
    const carriers = String(f.evidence.figures.carrier ?? '')
      .split(',')
      .filter(Boolean)
      .map((c) => (isNet(c) ? runBy(c) : c))
      .filter((c): c is string => !!c);
    const figures = {
      ...f.evidence.figures,
      carrier: uniqSorted(carriers).join(',') || null,
      network: uniqSorted(onNet.map((it) => it.carrier!)).join(','),
      internetOk: internetOk ? 1 : 0,
    };
    return { ...f, carrier: isNet(f.carrier) ? runBy(f.carrier!) : f.carrier, evidence: { items, figures } };
  });
}

/**
 * The map's colour for one site's slots: a non-Internet line (TSLCD) that fails while the site's Internet works makes
 * the site `degraded`, not `down`. Red means the commune is cut off: citizens' services and the national portal need
 * the Internet, and with it the commune keeps working (the provincial systems are also published on the Internet);
 * losing the TSLCD line loses the private path and its redundancy, like one of two lines failing, which is also what
 * the incident's severity says (a local link with a line still working is `degraded`). The slots themselves keep
 * their status (the panel shows the TSLCD gateway down); only the colour they make is capped.
 */
export function networkCapped<T extends { status: Status; agent?: string; uplink?: string }>(
  slots: readonly T[],
  networkOfLine: (agent: string, uplink: string | undefined) => UplinkNetwork,
): readonly T[] {
  const onInternet = (s: T) => networkOfLine(s.agent ?? '', s.uplink) === 'internet';
  if (slots.every(onInternet)) return slots;
  const internetUp = new Set(slots.filter((s) => onInternet(s) && s.status === 'up').map((s) => s.agent ?? ''));
  return slots.map((s) => (s.status === 'down' && !onInternet(s) && internetUp.has(s.agent ?? '') ? { ...s, status: 'degraded' as const } : s));
}
