// Attribution: looks across every agent and says WHAT failed, so one fault makes one incident.
// Pure: (snapshot of all live slots + which agents are silent, thresholds) -> the current causes, sorted.
//
// Causes (DESIGN.md "Semantics"):
//   local_link  the commune's own link: its baseline (the uplink gateway) fails, or every target beyond it fails,
//               or its agent fell silent while its link was failing / while a sibling agent reports the link down.
//   carrier     a large share of one carrier's communes fail together while the other carriers' communes are fine
//               (their links, or the same target reached through that carrier only).
//   service     most agents whose own link is fine fail the same target (a portal down everywhere).
//   agent       an agent silent with no evidence against its link (grey, not red): the PC, its power, the process.
// A commune covered by a carrier cause gets no local cause of its own; a target failing as a service is not
// held against any commune's link. Everything is sorted, so equal input gives equal output.
import type { AttributionConfig, TargetKind } from '../../config/schema.ts';
import type { Status } from '../../config/wire.ts';
import type { Cause } from '../incidents/types.ts';
import { reasonLabel, type Reason } from '../../config/vocabulary.ts';

/** Defaults for config `attribution`; each value is justified where it is used. */
export const DEFAULT_ATTRIBUTION = {
  // Carrier: half of a carrier's communes failing at once is far beyond chance for independent local faults
  // (a few % of communes are cut at any time in the field), and 3 is the smallest count that is a pattern, not
  // a coincidence of two neighbours. "Others fine" below 10 %: the background rate of local cuts stays under it,
  // while a province-wide problem (power, the server's own network) pushes every carrier over it.
  carrierShare: 0.5,
  carrierMinCommunes: 3,
  otherCarriersMaxShare: 0.1,
  // Service: 60 % of the agents whose own link works failing the same portal cannot be explained by local links;
  // a portal outage hits them all within one round. 3 agents minimum so two unlucky communes are never a service.
  serviceShare: 0.6,
  serviceMinAgents: 3,
  // Five PCs dying independently within two minutes does not happen: that is one shared cause (the server's own
  // network, a regional power cut) and gets one grouped incident instead of five.
  massSilenceMin: 5,
  massSilenceWindowSec: 120,
  // A round losing >= 80 % of its echoes leaves TCP sessions stalled: users see an outage even though ICMP still
  // gets a reply, so it counts like a round with no reply at all. 5 % random loss never gets near it.
  hardLossPct: 80,
  // The map turns yellow at one lost echo in ten (status.ts), and 5 % random loss does that in ~40 % of rounds. For
  // attribution a round losing < 20 % with its latency fine is noise: two or more lost echoes happen in only ~9 % of
  // rounds at 5 % loss, but in ~85 % at a real 30 % loss, so the sustain rule below separates the two cleanly.
  softLossPct: 20,
  // Engine timing (server/incidents/engine.ts). Goal: an incident within the heartbeat timeout (20 s) + one round
  // (30 s) of a fault. A failed round arrives at most one round after the fault; 5 s (two 2-s evaluations) only
  // makes sure the evidence is not a half-applied batch.
  confirmSec: 5,
  // When other communes of the same carrier are failing too, a local link waits up to one ICMP round: by then every
  // agent has run a round since the fault and a carrier pattern, if there is one, is visible (one incident, not 30).
  groupWaitSec: 30,
  // A silent agent is grey, not red, and a PC reboot or an agent upgrade takes under a minute: wait 60 s beyond the
  // 20 s heartbeat timeout before calling it an incident.
  agentConfirmSec: 60,
  // Soft causes (slow, lossy, not dead) must persist: with 5 % random loss one echo in ten is lost in ~40 % of
  // rounds, so a lossy round alone means nothing. Present >= 80 % of 5 minutes (10 ICMP rounds) is a real, lasting
  // degradation (30 % loss: ~97 % of rounds), while 5 % noise (~40 %) never qualifies.
  degradedSustainSec: 300,
  degradedPresence: 0.8,
  // Resolve after the cause has been absent for two ICMP rounds: the status machine already needs 2 good rounds to
  // leave `down`; this also covers `degraded` causes and service/carrier shares hovering around their threshold.
  resolveSec: 60,
  // After a restart every slot is unknown until agents reconnect and run a round (backoff <= 30 s + one round):
  // reloaded incidents are not resolved before that.
  startupGraceSec: 120,
} satisfies Required<Omit<AttributionConfig, 'baselineTargets'>>;

export type AttributionThresholds = typeof DEFAULT_ATTRIBUTION;

export function attributionThresholds(cfg: AttributionConfig | undefined): AttributionThresholds {
  const out: AttributionThresholds = { ...DEFAULT_ATTRIBUTION };
  for (const k of Object.keys(out) as (keyof AttributionThresholds)[]) {
    const v = cfg?.[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

/** One live (commune, agent, target, uplink) slot. */
export interface SlotSnapshot {
  commune: string;
  agent: string;
  target: string;
  kind: TargetKind;
  /** '' when the probe is not bound to an uplink */
  uplink: string;
  /** '' when unknown */
  carrier: string;
  status: Status;
  latencyMs: number | null;
  lossPct: number | null;
  reason: Reason | null;
  /** epoch ms since when the slot has had this status (null: unknown) */
  since: number | null;
  /** the latency is past the slot's threshold (a `degraded` that is not about loss); absent = no */
  latencyOver?: boolean;
  /** the slot's state before it went `unknown` (what the agent saw last before falling silent) */
  lastKnown?: { status: Status; lossPct: number | null; reason: Reason | null; latencyOver?: boolean } | null;
}

export interface AgentSnapshot {
  id: string;
  commune: string;
  uplinks: { name: string; carrier: string }[];
  /** silent past the heartbeat timeout */
  silent: boolean;
  /** last time it was heard (or when the server started, if never since): epoch ms */
  lastSeen: number | null;
}

export interface AttributionInput {
  now: number;
  agents: AgentSnapshot[];
  slots: SlotSnapshot[];
  /** target ids that test the commune's own link (the uplink gateway) */
  baselineTargets: string[];
}

export interface CauseFinding {
  /** `${cause}:${subject}`: one incident per key */
  key: string;
  cause: Cause;
  subject: string;
  communes: string[];
  targets: string[];
  carrier: string | null;
  severity: 'down' | 'degraded';
  /** complete failure (nothing answered, or silence) rather than slow/lossy: opens fast instead of after sustaining */
  hard: boolean;
  /** local links: other communes of the same carrier failing now, at the same level (the engine may wait for a carrier pattern) */
  peers: number;
  evidence: { summary: string; figures: Record<string, number | string | null> };
}

// ---------------------------------------------------------------------------------------------------------------

type Health = 'ok' | 'soft' | 'hard' | 'none';
const RANK: Record<Health, number> = { none: 0, ok: 1, soft: 2, hard: 3 };
const CAUSE_ORDER: Record<Cause, number> = { carrier: 0, service: 1, local_link: 2, agent: 3 };

interface View {
  slot: SlotSnapshot;
  status: Status;
  lossPct: number | null;
  reason: Reason | null;
  h: Health;
}

function health(status: Status, lossPct: number | null, latencyOver: boolean, th: AttributionThresholds): Health {
  switch (status) {
    case 'unknown':
      return 'none';
    case 'up':
      return 'ok';
    case 'down':
      return 'hard';
    case 'degraded':
      // `degraded` is both "slow/lossy" and "failed 1 or 2 rounds, not yet down" (status.ts): the latter has loss 100.
      if (lossPct !== null && lossPct >= th.hardLossPct) return 'hard';
      if (!latencyOver && lossPct !== null && lossPct > 0 && lossPct < th.softLossPct) return 'ok';
      return 'soft';
  }
}

const view = (slot: SlotSnapshot, th: AttributionThresholds, useLastKnown: boolean): View => {
  const src = useLastKnown && slot.status === 'unknown' && slot.lastKnown ? slot.lastKnown : slot;
  return { slot, status: src.status, lossPct: src.lossPct, reason: src.reason, h: health(src.status, src.lossPct, src.latencyOver === true, th) };
};

interface Path {
  agent: AgentSnapshot;
  /** '' = the agent's default route (unbound probes of a multi-uplink agent) */
  uplink: string;
  carrier: string;
  slots: SlotSnapshot[];
}

interface PathEval {
  path: Path;
  health: Health;
  /** health of the baseline (gateway) slots alone */
  baseline: Health;
  /** a contributing slot is confirmed `down` by the status machine */
  confirmed: boolean;
  /** the slots that make it fail */
  failing: View[];
  why: string;
}

function pathsOf(agent: AgentSnapshot, slots: SlotSnapshot[]): Path[] {
  if (agent.uplinks.length <= 1) {
    const u = agent.uplinks[0];
    return [{ agent, uplink: u?.name ?? '', carrier: u?.carrier ?? '', slots }];
  }
  const names = new Set(agent.uplinks.map((u) => u.name));
  const out: Path[] = agent.uplinks.map((u) => ({ agent, uplink: u.name, carrier: u.carrier, slots: slots.filter((s) => s.uplink === u.name) }));
  const rest = slots.filter((s) => !names.has(s.uplink));
  // Unbound probes of a dual-uplink agent leave by whichever route is up: their carrier is unknown.
  if (rest.length) out.push({ agent, uplink: '', carrier: '', slots: rest });
  return out;
}

const worstOf = (vs: View[]): Health => vs.reduce<Health>((w, v) => (RANK[v.h] > RANK[w] ? v.h : w), 'none');

/**
 * Is this path (one uplink, or the default route) failing?
 * - baseline fails hard and nothing beyond it answers -> hard;
 * - the baseline answers (or there is none) but EVERY target beyond it fails (at least 2 targets known, at least one
 *   not explained by a service/carrier-target cause) -> the link beyond the LAN router is dead: hard if all are hard;
 * - the baseline is slow/lossy (or fails while targets beyond still answer) -> soft;
 * - no data -> none; else ok.
 * `exclude`: targets failing for a wider reason (service); they cannot make a path fail on their own.
 */
function evalPath(p: Path, baseline: Set<string>, exclude: Set<string>, th: AttributionThresholds, useLastKnown: boolean): PathEval {
  const vs = p.slots.map((s) => view(s, th, useLastKnown)).filter((v) => v.h !== 'none');
  const base = vs.filter((v) => baseline.has(v.slot.target));
  const beyond = vs.filter((v) => !baseline.has(v.slot.target));
  const own = beyond.filter((v) => !exclude.has(v.slot.target));
  const b = worstOf(base);
  const beyondOk = beyond.some((v) => v.h === 'ok');
  const allBeyondBad = beyond.length >= 2 && own.length >= 1 && beyond.every((v) => v.h !== 'ok');
  const bad = (list: View[]) => list.filter((v) => v.h === 'hard' || v.h === 'soft');
  const mk = (h: Health, failing: View[], why: string): PathEval => ({
    path: p,
    health: h,
    baseline: b,
    confirmed: failing.some((v) => v.status === 'down'),
    failing,
    why,
  });
  if (b === 'hard' && !beyondOk) return mk('hard', [...bad(base), ...bad(beyond)], 'baseline');
  if (allBeyondBad) {
    const h: Health = beyond.every((v) => v.h === 'hard') ? 'hard' : 'soft';
    return mk(h, [...bad(base), ...beyond], 'beyond');
  }
  if (b === 'soft' || b === 'hard') return mk('soft', bad(base), b === 'hard' ? 'baseline-only' : 'baseline');
  if (vs.length === 0) return mk('none', [], 'no data');
  return mk('ok', [], 'ok');
}

const uniqSorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
const agentCarriers = (a: AgentSnapshot) => uniqSorted(a.uplinks.map((u) => u.carrier).filter(Boolean));
const round1 = (x: number) => Math.round(x * 10) / 10;
const pct = (x: number) => `${Math.round(x * 100)}%`;
const isBad = (h: Health, level: 'hard' | 'soft') => h === 'hard' || (level === 'soft' && h === 'soft');

function firstReason(vs: View[]): string | null {
  for (const v of vs) if (v.reason) return reasonLabel(v.reason);
  return null;
}

function earliestSince(vs: View[]): number | null {
  let m: number | null = null;
  for (const v of vs) if (v.slot.since !== null && (m === null || v.slot.since < m)) m = v.slot.since;
  return m;
}

interface Member {
  failing: View[];
  confirmed: boolean;
  silent: boolean;
  level: 'hard' | 'soft';
}
interface CarrierLink {
  level: 'hard' | 'soft';
  communes: Map<string, Member>;
  members: number;
  share: number;
  otherShare: number;
}
/** Carriers whose communes fail together (links, or single-carrier agents fallen silent) while others are fine. */
function carrierLinkCauses(
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
    if (!prev || RANK[m.level] > RANK[prev.level]) map.set(commune, m);
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
  for (const [k, mem] of [...members].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    const others = new Set<string>();
    for (const [c, set] of members) if (c !== k) for (const x of set) if (!mem.has(x)) others.add(x);
    for (const level of ['hard', 'soft'] as const) {
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

export function attribute(input: AttributionInput, th: AttributionThresholds = DEFAULT_ATTRIBUTION): CauseFinding[] {
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
  const carrierLinks0 = carrierLinkCauses(eval0, agents, live, silent, th);
  const inCarrierCause = (a: AgentSnapshot, causes: Map<string, CarrierLink>) =>
    agentCarriers(a).some((c) => causes.get(c)?.communes.has(a.commune));
  const healthy = live.filter((a) => linkFine(a) && !inCarrierCause(a, carrierLinks0));

  // 2. Targets failing for most healthy agents: a carrier's route to them (only that carrier's agents fail) or the
  //    service itself (most agents fail, whatever their carrier).
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
  const agentById = new Map(agents.map((a) => [a.id, a]));
  const carrierTargets = new Map<string, { target: string; level: 'hard' | 'soft'; failing: View[]; share: number; otherShare: number; reporting: number }[]>();
  const services: { target: string; level: 'hard' | 'soft'; failing: View[]; reporting: number }[] = [];
  const carrierIds = uniqSorted(agents.flatMap(agentCarriers));
  for (const t of targetIds) {
    const reps = reporters.get(t) ?? [];
    let claimed = false;
    for (const level of ['hard', 'soft'] as const) {
      if (claimed) break;
      for (const k of carrierIds) {
        const mine = reps.filter((v) => routeCarrier(agentById.get(v.slot.agent)!) === k);
        const others = reps.filter((v) => routeCarrier(agentById.get(v.slot.agent)!) !== k);
        const fail = mine.filter((v) => isBad(v.h, level));
        const failCommunes = new Set(fail.map((v) => v.slot.commune)).size;
        const otherShare = others.length ? others.filter((v) => isBad(v.h, level)).length / others.length : 0;
        if (mine.length && fail.length / mine.length >= th.carrierShare && failCommunes >= th.carrierMinCommunes && otherShare < th.otherCarriersMaxShare) {
          const list = carrierTargets.get(k) ?? [];
          list.push({ target: t, level, failing: fail, share: fail.length / mine.length, otherShare, reporting: mine.length });
          carrierTargets.set(k, list);
          claimed = true;
        }
      }
    }
    if (claimed) continue;
    for (const level of ['hard', 'soft'] as const) {
      const fail = reps.filter((v) => isBad(v.h, level));
      if (reps.length && fail.length / reps.length >= th.serviceShare && fail.length >= th.serviceMinAgents) {
        services.push({ target: t, level, failing: fail, reporting: reps.length });
        break;
      }
    }
  }
  const serviceTargets = new Set(services.map((s) => s.target));

  // 3. Links again, not holding service / carrier-route failures against them; then carriers on the final links.
  const eval1 = evalAll((a) => {
    const ex = new Set(serviceTargets);
    const k = routeCarrier(a);
    if (k) for (const ct of carrierTargets.get(k) ?? []) ex.add(ct.target);
    return ex;
  });
  const carrierLinks = carrierLinkCauses(eval1, agents, live, silent, th);

  const out: CauseFinding[] = [];

  // ---- carrier causes: link failures and route-to-target failures of one carrier, one cause per carrier
  for (const k of carrierIds) {
    const link = carrierLinks.get(k);
    const routes = carrierTargets.get(k) ?? [];
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
    const hard = (link?.level ?? 'soft') === 'hard' || routes.some((r) => r.level === 'hard');
    const figures: Record<string, number | string | null> = {
      carrier: k,
      communesFailing: communes.size,
      carrierCommunes: link?.members ?? null,
      share: link ? round1(link.share * 100) : null,
      otherCarriersShare: link ? round1(link.otherShare * 100) : null,
      silentAgents: link ? [...link.communes.values()].filter((m) => m.silent).length : 0,
      routeTargets: routes.map((r) => r.target).join(',') || null,
    };
    const parts: string[] = [];
    if (link)
      parts.push(
        `${link.communes.size}/${link.members} xã của nhà mạng ${k} mất kết nối cùng lúc (${pct(link.share)}; các nhà mạng khác ${pct(link.otherShare)})`,
      );
    for (const r of routes)
      parts.push(`${r.failing.length}/${r.reporting} điểm đo qua ${k} không tới được ${r.target} (các nhà mạng khác ${pct(r.otherShare)})`);
    out.push({
      key: `carrier:${k}`,
      cause: 'carrier',
      subject: k,
      communes: uniqSorted(communes),
      targets: uniqSorted(targets),
      carrier: k,
      severity: communes.size && confirmed.size * 2 >= communes.size ? 'down' : 'degraded',
      hard,
      peers: 0,
      evidence: { summary: parts.join('; '), figures },
    });
  }

  // ---- service causes
  for (const s of services) {
    const down = s.failing.filter((v) => v.status === 'down').length;
    const reasons = new Map<string, number>();
    for (const v of s.failing) {
      const r = v.reason ? reasonLabel({ ...v.reason, streak: undefined }) : 'lỗi';
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    const top = [...reasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    out.push({
      key: `service:${s.target}`,
      cause: 'service',
      subject: s.target,
      communes: uniqSorted(s.failing.map((v) => v.slot.commune)),
      targets: [s.target],
      carrier: null,
      severity: down * 2 >= s.failing.length ? 'down' : 'degraded',
      hard: s.level === 'hard',
      peers: 0,
      evidence: {
        summary: `${s.failing.length}/${s.reporting} điểm đo có đường truyền tốt không truy cập được ${s.target}${top ? ` (${top[0]})` : ''}`,
        figures: {
          target: s.target,
          agentsFailing: s.failing.length,
          agentsHealthy: s.reporting,
          share: round1((s.failing.length / s.reporting) * 100),
          topReason: top?.[0] ?? null,
          since: earliestSince(s.failing),
        },
      },
    });
  }

  // ---- local links and silent agents, per commune, minus what a carrier cause covers
  const covered = (commune: string, carrier: string) => !!carrier && !!carrierLinks.get(carrier)?.communes.has(commune);
  interface LocalAcc {
    failing: PathEval[];
    ok: number;
    silent: { agent: AgentSnapshot; why: string }[];
  }
  const local = new Map<string, LocalAcc>();
  const acc = (c: string) => {
    let a = local.get(c);
    if (!a) local.set(c, (a = { failing: [], ok: 0, silent: [] }));
    return a;
  };
  for (const a of live) {
    for (const e of eval1.get(a.id)!) {
      if (e.health === 'ok') acc(a.commune).ok++;
      if (e.health !== 'hard' && e.health !== 'soft') continue;
      if (covered(a.commune, e.path.carrier)) continue;
      acc(a.commune).failing.push(e);
    }
  }
  const agentCauses: { agent: AgentSnapshot; why: string }[] = [];
  for (const a of silent) {
    const cs = agentCarriers(a);
    if (cs.length && cs.every((c) => covered(a.commune, c))) continue;
    const siblings = live.filter((b) => b.commune === a.commune);
    const sibEvals = siblings.flatMap((b) => eval1.get(b.id)!);
    if (sibEvals.some((e) => (e.health === 'hard' || e.health === 'soft') && !covered(a.commune, e.path.carrier))) {
      acc(a.commune).silent.push({ agent: a, why: 'sibling' });
      continue;
    }
    if (sibEvals.some((e) => e.health === 'ok')) {
      agentCauses.push({ agent: a, why: 'sibling-ok' });
      continue;
    }
    const before = paths.get(a.id)!.map((p) => evalPath(p, baseline, serviceTargets, th, true));
    if (before.some((e) => e.health === 'hard')) acc(a.commune).silent.push({ agent: a, why: 'failing-before' });
    else agentCauses.push({ agent: a, why: a.uplinks.length > 1 ? 'multi-uplink' : 'no-evidence' });
  }

  const locals: CauseFinding[] = [];
  for (const [commune, l] of [...local].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (!l.failing.length && !l.silent.length) continue;
    const views = l.failing.flatMap((e) => e.failing);
    const carriers = uniqSorted([...l.failing.map((e) => e.path.carrier), ...l.silent.flatMap((s) => s.agent.uplinks.map((u) => u.carrier))].filter(Boolean));
    const hard = l.failing.some((e) => e.health === 'hard') || l.silent.length > 0;
    // Down only when nothing of the commune still works and the failure is confirmed (3 failed rounds, or silence):
    // one of two uplinks failing leaves the commune online (degraded: redundancy lost).
    const confirmed = l.failing.some((e) => e.health === 'hard' && e.confirmed) || l.silent.length > 0;
    const severity = l.ok === 0 && confirmed ? 'down' : 'degraded';
    const first = l.failing[0];
    const gw = views.find((v) => baseline.has(v.slot.target));
    const summaryParts: string[] = [];
    for (const e of l.failing) {
      const where = e.path.uplink ? `${e.path.uplink}${e.path.carrier ? ` (${e.path.carrier})` : ''}` : 'tuyến mặc định';
      const r = firstReason(e.failing) ?? 'lỗi';
      summaryParts.push(
        e.why === 'beyond'
          ? `${where}: gateway trả lời nhưng mọi đích phía sau đều lỗi (${r})`
          : `${where}: gateway ${e.health === 'hard' ? 'không phản hồi' : 'chất lượng kém'} (${r})`,
      );
    }
    for (const s of l.silent)
      summaryParts.push(
        s.why === 'sibling' ? `điểm đo ${s.agent.id} mất liên lạc, điểm đo khác của xã báo đường truyền lỗi` : `điểm đo ${s.agent.id} mất liên lạc ngay sau khi đường truyền lỗi`,
      );
    locals.push({
      key: `local_link:${commune}`,
      cause: 'local_link',
      subject: commune,
      communes: [commune],
      targets: uniqSorted(views.map((v) => v.slot.target)),
      carrier: carriers.length === 1 ? carriers[0]! : null,
      severity,
      hard,
      peers: 0,
      evidence: {
        summary: summaryParts.join('; '),
        figures: {
          agent: first?.path.agent.id ?? l.silent[0]?.agent.id ?? null,
          uplink: first?.path.uplink || null,
          carrier: carriers.join(',') || null,
          lossPct: gw?.lossPct ?? views[0]?.lossPct ?? null,
          latencyMs: gw?.slot.latencyMs ?? null,
          reason: firstReason(views),
          pathsFailing: l.failing.length,
          pathsOk: l.ok,
          silentAgents: l.silent.map((s) => s.agent.id).join(',') || null,
          since: earliestSince(views) ?? l.silent[0]?.agent.lastSeen ?? null,
        },
      },
    });
  }
  // peers: other failing communes on the same carrier, at the same level (the engine waits for a carrier pattern)
  for (const c of locals) {
    if (!c.carrier) continue;
    c.peers = locals.filter((o) => o !== c && o.carrier === c.carrier && o.hard === c.hard).length;
  }
  out.push(...locals);

  // ---- silent agents: grouped when many fell silent together, else one cause per commune
  const byLastSeen = [...agentCauses].sort((x, y) => (x.agent.lastSeen ?? 0) - (y.agent.lastSeen ?? 0) || (x.agent.id < y.agent.id ? -1 : 1));
  let best: [number, number] = [0, 0]; // [start, end) in byLastSeen
  for (let i = 0, j = 0; i < byLastSeen.length; i++) {
    while (j < byLastSeen.length && (byLastSeen[j]!.agent.lastSeen ?? 0) - (byLastSeen[i]!.agent.lastSeen ?? 0) <= th.massSilenceWindowSec * 1000) j++;
    if (j - i > best[1] - best[0]) best = [i, j];
  }
  const grouped = best[1] - best[0] >= th.massSilenceMin ? byLastSeen.slice(best[0], best[1]) : [];
  const groupedIds = new Set(grouped.map((g) => g.agent.id));
  if (grouped.length) {
    const communes = uniqSorted(grouped.map((g) => g.agent.commune));
    const carriers = uniqSorted(grouped.flatMap((g) => agentCarriers(g.agent)));
    out.push({
      key: 'agent:*',
      cause: 'agent',
      subject: '*',
      communes,
      targets: [],
      carrier: carriers.length === 1 ? carriers[0]! : null,
      severity: 'degraded',
      hard: true,
      peers: 0,
      evidence: {
        summary: `${grouped.length}/${agents.length} điểm đo mất liên lạc cùng lúc (thuộc ${carriers.length} nhà mạng): có thể do mạng của máy chủ hoặc mất điện diện rộng`,
        figures: {
          agentsSilent: grouped.length,
          agentsTotal: agents.length,
          carriers: carriers.join(',') || null,
          firstLastSeen: grouped[0]!.agent.lastSeen,
          lastLastSeen: grouped[grouped.length - 1]!.agent.lastSeen,
        },
      },
    });
  }
  const perCommune = new Map<string, { agent: AgentSnapshot; why: string }[]>();
  for (const g of agentCauses) {
    if (groupedIds.has(g.agent.id)) continue;
    perCommune.set(g.agent.commune, [...(perCommune.get(g.agent.commune) ?? []), g]);
  }
  for (const [commune, list] of [...perCommune].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    const a = list[0]!.agent;
    const carriers = uniqSorted(list.flatMap((g) => agentCarriers(g.agent)));
    const silentFor = a.lastSeen !== null ? Math.round((input.now - a.lastSeen) / 1000) : null;
    const why = list[0]!.why;
    out.push({
      key: `agent:${commune}`,
      cause: 'agent',
      subject: commune,
      communes: [commune],
      targets: [],
      carrier: carriers.length === 1 ? carriers[0]! : null,
      // grey, not red: nothing says the commune's link or any service is down
      severity: 'degraded',
      hard: true,
      peers: 0,
      evidence: {
        summary:
          why === 'sibling-ok'
            ? `điểm đo ${list.map((g) => g.agent.id).join(', ')} mất liên lạc${silentFor !== null ? ` ${silentFor} s` : ''}; điểm đo khác của xã vẫn báo đường truyền tốt`
            : `điểm đo ${list.map((g) => g.agent.id).join(', ')} mất liên lạc${silentFor !== null ? ` ${silentFor} s` : ''}, không có dấu hiệu đường truyền lỗi (máy tính, nguồn điện hoặc phần mềm đo)`,
        figures: {
          agent: list.map((g) => g.agent.id).join(','),
          lastSeen: a.lastSeen,
          silentSec: silentFor,
          uplinks: a.uplinks.length,
          evidence: why,
        },
      },
    });
  }

  return out.sort((x, y) => CAUSE_ORDER[x.cause] - CAUSE_ORDER[y.cause] || (x.subject < y.subject ? -1 : x.subject > y.subject ? 1 : 0));
}
