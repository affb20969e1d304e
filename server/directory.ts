// Lookup tables derived from the config and the province file: communes, agents, targets, plans.
// Pure: no I/O, so the plan an agent receives can be table-tested. Changes at run time (enrolments, the agents
// page, a YAML reload) replace the tables in place: `replace(cfg)` refills the same Map objects, so whoever holds
// the directory or one of its maps sees the new contents, and `onChange` tells those that keep derived state
// (live state, agent connections) to catch up.
import { createHash } from 'node:crypto';
import { DEFAULT_THRESHOLDS, type AgentConfig, type Config, type ProvinceCommune, type ProvinceFile, type Site, type Target, type Thresholds, type UplinkNetwork } from '../config/schema.ts';
import { PROTOCOL_VERSION, type Plan, type PlanTarget } from '../config/wire.ts';
import { kindOf } from './kinds/index.ts';

export interface Directory {
  province: ProvinceFile;
  communes: Map<string, ProvinceCommune>;
  agents: Map<string, AgentConfig>;
  targets: Map<string, Target>;
  /** target ids in config order */
  targetOrder: string[];
  carriers: Map<string, { id: string; name: string; color?: string }>;
  thresholdsFor(targetId: string, commune: string): Thresholds;
  planFor(agentId: string, now: number, heartbeatSec: number): Plan | undefined;
  /** the target ids of the agent's plan, without building (and hashing) the plan; cached until the directory changes */
  plannedTargets(agentId: string): ReadonlySet<string> | undefined;
  /** carrier of an agent's uplink ('' when unknown) */
  carrierOf(agentId: string, uplink: string | undefined): string;
  /** the commune's carrier for display: override, else its first agent's first uplink */
  communeCarrier(code: string): string | null;
  agentsOfCommune(code: string): string[];
  /** the agent's site; an agent configured without one is its commune's centre */
  siteOf(agentId: string): Site | undefined;
  /** communes where some agent has an uplink of this carrier (of this network, when given) */
  communesOfCarrier(carrier: string, network?: UplinkNetwork): Set<string>;
  /** the network an agent's uplink belongs to ('internet' when not said, or when the uplink is unknown) */
  networkOf(agentId: string, uplink: string | undefined): UplinkNetwork;
}

/** The parts of the config the directory is built from; the rest needs a restart to change. */
export type DirectoryConfig = Pick<Config, 'carriers' | 'targets' | 'agents' | 'communes' | 'defaults'>;

export interface LiveDirectory extends Directory {
  /** counts replacements (0 for the one built at start) */
  readonly generation: number;
  /** swap in new agents, targets, carriers, thresholds; the province stays */
  replace(cfg: DirectoryConfig): void;
  /** called after each replace */
  onChange(fn: () => void): () => void;
}

export function buildDirectory(initial: DirectoryConfig, province: ProvinceFile): LiveDirectory {
  let cfg = initial;
  let generation = 0;
  const communes = new Map(province.communes.map((c) => [c.code, c]));
  const agents = new Map<string, AgentConfig>();
  const targets = new Map<string, Target>();
  const carriers = new Map<string, { id: string; name: string; color?: string }>();
  const targetOrder: string[] = [];
  const byCommune = new Map<string, string[]>();
  const listeners = new Set<() => void>();
  /** plannedTargets per agent for this directory version */
  const planned = new Map<string, ReadonlySet<string>>();
  // Across versions too: an enrolment replaces the directory, and planning 10,000 agents again blocks for about a
  // second. An agent's planned ids depend only on its own config and the targets and defaults, which an enrolment
  // hands over as the same objects: kept while those are the same and the agent's config reads the same.
  const plannedBefore = new Map<string, { sig: string; ids: ReadonlySet<string> }>();
  let plannedFrom: { targets: Target[] | null; defaults: DirectoryConfig['defaults'] | null } = { targets: null, defaults: null };

  const fill = () => {
    refill(agents, cfg.agents.map((a) => [a.id, a]));
    refill(targets, cfg.targets.map((t) => [t.id, t]));
    refill(carriers, cfg.carriers.map((c) => [c.id, c]));
    targetOrder.splice(0, targetOrder.length, ...cfg.targets.map((t) => t.id));
    byCommune.clear();
    planned.clear();
    if (cfg.targets !== plannedFrom.targets || cfg.defaults !== plannedFrom.defaults) {
      plannedBefore.clear();
      plannedFrom = { targets: cfg.targets, defaults: cfg.defaults };
    }
    for (const id of plannedBefore.keys()) if (!agents.has(id)) plannedBefore.delete(id);
    for (const a of cfg.agents) byCommune.set(a.commune, [...(byCommune.get(a.commune) ?? []), a.id]);
  };
  fill();

  const thresholdsFor = (targetId: string, commune: string): Thresholds => ({
    ...DEFAULT_THRESHOLDS,
    ...strip(cfg.defaults.thresholds),
    ...strip(targets.get(targetId)?.thresholds),
    ...strip(cfg.communes[commune]?.thresholds),
  });

  const planTargets = (a: AgentConfig): PlanTarget[] => {
    const out: PlanTarget[] = [];
    for (const t of cfg.targets) {
      if (a.targets && !a.targets.includes(t.id)) continue;
      if (t.communes && !t.communes.includes(a.commune)) continue;
      const kind = kindOf(t.kind);
      const base = {
        id: t.id,
        intervalSec: t.intervalSec ?? kind.defaultIntervalSec(cfg.defaults),
        timeoutMs: t.timeoutMs ?? cfg.defaults.timeoutMs,
      };
      out.push(...onNetwork(t, a, kind.plan(t, a, base)));
    }
    return out;
  };

  return {
    province,
    communes,
    agents,
    targets,
    targetOrder,
    carriers,
    thresholdsFor,
    get generation() {
      return generation;
    },
    replace(next) {
      cfg = next;
      fill();
      generation++;
      for (const fn of listeners) fn();
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    planFor(agentId, now, heartbeatSec) {
      const a = agents.get(agentId);
      if (!a) return undefined;
      const uplinks = a.uplinks.map((u) => ({ name: u.name, carrier: u.carrier, interface: u.interface, sourceAddress: u.sourceAddress }));
      const ts = planTargets(a);
      const rev = createHash('sha256').update(JSON.stringify({ uplinks, ts, heartbeatSec })).digest('hex').slice(0, 16);
      return { type: 'plan', v: PROTOCOL_VERSION, rev, serverTime: now, heartbeatSec, uplinks, targets: ts };
    },
    plannedTargets(agentId) {
      const a = agents.get(agentId);
      if (!a) return undefined;
      let ids = planned.get(agentId);
      if (ids) return ids;
      const sig = JSON.stringify(a);
      const before = plannedBefore.get(agentId);
      ids = before?.sig === sig ? before.ids : new Set(planTargets(a).map((t) => t.id));
      plannedBefore.set(agentId, { sig, ids });
      planned.set(agentId, ids);
      return ids;
    },
    carrierOf(agentId, uplink) {
      const a = agents.get(agentId);
      if (!a) return '';
      const u = (uplink && a.uplinks.find((x) => x.name === uplink)) || (a.uplinks.length === 1 ? a.uplinks[0] : undefined);
      return u?.carrier ?? '';
    },
    communeCarrier(code) {
      const o = cfg.communes[code]?.carrier;
      if (o) return o;
      const first = byCommune.get(code)?.[0];
      return first ? (agents.get(first)?.uplinks[0]?.carrier ?? null) : null;
    },
    agentsOfCommune: (code) => byCommune.get(code) ?? [],
    siteOf(agentId) {
      const a = agents.get(agentId);
      if (!a) return undefined;
      if (a.site) return a.site;
      const c = communes.get(a.commune);
      return { name: c ? `UBND ${c.type.toLowerCase()} ${c.name}` : a.commune, kind: 'commune_centre' };
    },
    networkOf(agentId, uplink) {
      const a = agents.get(agentId);
      const u = a && ((uplink && a.uplinks.find((x) => x.name === uplink)) || (a.uplinks.length === 1 ? a.uplinks[0] : undefined));
      return uplinkNetwork(u);
    },
    communesOfCarrier(carrier, network) {
      const mine = (u: AgentConfig['uplinks'][number]) => u.carrier === carrier && (!network || uplinkNetwork(u) === network);
      return new Set(cfg.agents.filter((a) => a.uplinks.some(mine)).map((a) => a.commune));
    },
  };
}

export const uplinkNetwork = (u: { network?: UplinkNetwork } | undefined): UplinkNetwork => u?.network ?? 'internet';

/**
 * A network-scoped target runs only on the agent's uplinks of that network: pinned to each of them, since an unpinned
 * target runs on every bound uplink (agent/scheduler.ts runsFor) and the national portal cannot be reached over the
 * TSLCD line. When every uplink matches nothing changes; when none does the agent does not run it.
 */
function onNetwork<P extends PlanTarget>(t: Target, a: AgentConfig, planned: P[]): P[] {
  if (!t.network) return planned;
  const mine = a.uplinks.filter((u) => uplinkNetwork(u) === t.network).map((u) => u.name);
  if (mine.length === a.uplinks.length) return planned;
  return planned.flatMap((p) => (p.uplink !== undefined ? (mine.includes(p.uplink) ? [p] : []) : mine.map((uplink) => ({ ...p, uplink }))));
}

function refill<K, V>(m: Map<K, V>, entries: [K, V][]) {
  m.clear();
  for (const [k, v] of entries) m.set(k, v);
}

function strip<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
