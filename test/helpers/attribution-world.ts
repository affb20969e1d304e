// A mutable synthetic live state for attribution and engine tests: agents, their slots, faults applied by hand.
import type { Status } from '../../config/wire.ts';
import type { AgentSnapshot, AttributionInput, SlotSnapshot } from '../../server/state/attribution.ts';
import type { Kind } from '../../server/kinds/index.ts';

export const WORLD_NOW = Date.UTC(2025, 6, 1, 3, 0, 0);
const NOW = WORLD_NOW;
const TARGETS = [
  ['dc', 'icmp'],
  ['portal', 'http'],
  ['ioffice', 'http'],
] as const;

export class World {
  agents: AgentSnapshot[] = [];
  slots: SlotSnapshot[] = [];

  add(id: string, commune: string, carriers: string[] = ['vnpt'], targets: readonly (readonly [string, Kind])[] = TARGETS): this {
    const uplinks = carriers.map((c, i) => ({ name: `wan${i + 1}`, carrier: c }));
    this.agents.push({ id, commune, uplinks, silent: false, lastSeen: NOW - 2000 });
    for (const u of uplinks) this.slots.push(slot(id, commune, 'gw', 'icmp', u.name, u.carrier));
    for (const [t, kind] of targets) this.slots.push(slot(id, commune, t, kind, '', carriers.length === 1 ? carriers[0]! : ''));
    return this;
  }

  /** set a slot's status; lossPct defaults to what status.ts produces (100 for a failed round, 0 for up) */
  set(agent: string, target: string, status: Status, lossPct?: number | null, uplink?: string): this {
    const s = this.slots.filter((x) => x.agent === agent && x.target === target && (uplink === undefined || x.uplink === uplink));
    if (!s.length) throw new Error(`no slot ${agent}/${target}/${uplink ?? '*'}`);
    for (const x of s) {
      x.status = status;
      x.lossPct = lossPct !== undefined ? lossPct : status === 'up' ? 0 : 100;
      x.reason = status === 'up' ? null : status === 'down' ? { code: 'no_reply' } : { code: 'loss', pct: x.lossPct ?? 0 };
    }
    return this;
  }

  /** every target of the agent fails (a cut link): `down` after 3 rounds, `degraded` with loss 100 before */
  cut(agent: string, status: Status = 'down'): this {
    for (const x of this.slots.filter((s) => s.agent === agent)) this.set(agent, x.target, status, 100, x.uplink);
    return this;
  }

  /** the agent falls silent: its slots go unknown, keeping what they showed last */
  silence(agent: string, lastSeen = NOW - 25_000): this {
    const a = this.agents.find((x) => x.id === agent)!;
    a.silent = true;
    a.lastSeen = lastSeen;
    for (const s of this.slots.filter((x) => x.agent === agent)) {
      s.lastKnown = { status: s.status, lossPct: s.lossPct, reason: s.reason };
      s.status = 'unknown';
    }
    return this;
  }

  input(now = NOW): AttributionInput {
    return { now, agents: this.agents, slots: this.slots, baselineTargets: ['gw'] };
  }

  /** the agent speaks again with every target up */
  heal(agent: string, lastSeen = NOW): this {
    const a = this.agents.find((x) => x.id === agent)!;
    a.silent = false;
    a.lastSeen = lastSeen;
    for (const s of this.slots.filter((x) => x.agent === agent)) this.set(agent, s.target, 'up', 0, s.uplink);
    return this;
  }
}

function slot(agent: string, commune: string, target: string, kind: Kind, uplink: string, carrier: string): SlotSnapshot {
  return { commune, agent, target, kind, uplink, carrier, status: 'up', latencyMs: 12, lossPct: 0, reason: null, since: NOW - 600_000, lastKnown: null };
}

/** 20 communes: vnpt 8 (c01-c08), viettel 6 (c09-c14), mobifone 4 (c15-c18), fpt 2 (c19-c20). */
export const CARRIER_OF = (i: number) => (i <= 8 ? 'vnpt' : i <= 14 ? 'viettel' : i <= 18 ? 'mobifone' : 'fpt');
export const code = (i: number) => `2${String(i).padStart(4, '0')}`;
export function province(): World {
  const w = new World();
  for (let i = 1; i <= 20; i++) w.add(`ag-${code(i)}`, code(i), [CARRIER_OF(i)]);
  return w;
}
