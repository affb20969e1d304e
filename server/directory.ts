// Lookup tables derived once from the config and the province file: communes, agents, targets, plans.
// Pure: no I/O, so the plan an agent receives can be table-tested.
import { createHash } from 'node:crypto';
import { DEFAULT_THRESHOLDS, type AgentConfig, type Config, type ProvinceCommune, type ProvinceFile, type Target, type Thresholds } from '../config/schema.ts';
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
  /** carrier of an agent's uplink ('' when unknown) */
  carrierOf(agentId: string, uplink: string | undefined): string;
  /** the commune's carrier for display: override, else its first agent's first uplink */
  communeCarrier(code: string): string | null;
  agentsOfCommune(code: string): string[];
  /** communes where some agent has an uplink of this carrier */
  communesOfCarrier(carrier: string): Set<string>;
}

export function buildDirectory(cfg: Config, province: ProvinceFile): Directory {
  const communes = new Map(province.communes.map((c) => [c.code, c]));
  const agents = new Map(cfg.agents.map((a) => [a.id, a]));
  const targets = new Map(cfg.targets.map((t) => [t.id, t]));
  const carriers = new Map(cfg.carriers.map((c) => [c.id, c]));
  const byCommune = new Map<string, string[]>();
  for (const a of cfg.agents) byCommune.set(a.commune, [...(byCommune.get(a.commune) ?? []), a.id]);

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
      out.push(...kind.plan(t, a, base));
    }
    return out;
  };

  return {
    province,
    communes,
    agents,
    targets,
    targetOrder: cfg.targets.map((t) => t.id),
    carriers,
    thresholdsFor,
    planFor(agentId, now, heartbeatSec) {
      const a = agents.get(agentId);
      if (!a) return undefined;
      const uplinks = a.uplinks.map((u) => ({ name: u.name, carrier: u.carrier, interface: u.interface, sourceAddress: u.sourceAddress }));
      const ts = planTargets(a);
      const rev = createHash('sha256').update(JSON.stringify({ uplinks, ts, heartbeatSec })).digest('hex').slice(0, 16);
      return { type: 'plan', v: PROTOCOL_VERSION, rev, serverTime: now, heartbeatSec, uplinks, targets: ts };
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
    communesOfCarrier(carrier) {
      return new Set(cfg.agents.filter((a) => a.uplinks.some((u) => u.carrier === carrier)).map((a) => a.commune));
    },
  };
}

function strip<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
