// How healthy one path (an agent's uplink, or its default route) is, from its slots. Pure.
import { reasonLabel, type Reason, type Status } from '../../../config/vocabulary.ts';
import type { AgentSnapshot, AttributionThresholds, SlotSnapshot } from './types.ts';

export type Health = 'ok' | 'soft' | 'hard' | 'none';
export const HEALTH_RANK: Record<Health, number> = { none: 0, ok: 1, soft: 2, hard: 3 };
export type Level = 'hard' | 'soft';
export const LEVELS: readonly Level[] = ['hard', 'soft'];

export interface View {
  slot: SlotSnapshot;
  status: Status;
  lossPct: number | null;
  reason: Reason | null;
  h: Health;
}

function health(status: Status, lossPct: number | null, latencyOver: boolean, reason: Reason | null, th: AttributionThresholds): Health {
  switch (status) {
    case 'unknown':
      return 'none';
    case 'up':
      return 'ok';
    case 'down':
      return 'hard';
    case 'degraded':
      // `degraded` is both "slow/lossy" and "failed 1 or 2 rounds, not yet down" (status.ts): the latter has loss 100
      // (ICMP) or a streak (every kind: a portal's 503 has no loss figure). Hard either way; the engine's confirmSec
      // lets the agent's confirmation rounds, a few seconds apart, turn a single lost round back before anything opens.
      if (lossPct !== null && lossPct >= th.hardLossPct) return 'hard';
      if (reason?.streak) return 'hard';
      if (!latencyOver && lossPct !== null && lossPct > 0 && lossPct < th.softLossPct) return 'ok';
      return 'soft';
  }
}

export const view = (slot: SlotSnapshot, th: AttributionThresholds, useLastKnown: boolean): View => {
  const src = useLastKnown && slot.status === 'unknown' && slot.lastKnown ? slot.lastKnown : slot;
  return { slot, status: src.status, lossPct: src.lossPct, reason: src.reason, h: health(src.status, src.lossPct, src.latencyOver === true, src.reason, th) };
};

/** Fails at this level: hard counts at both levels, soft only at the soft one. */
export const isBad = (h: Health, level: Level) => h === 'hard' || (level === 'soft' && h === 'soft');

export interface Path {
  agent: AgentSnapshot;
  /** '' = the agent's default route (unbound probes of a multi-uplink agent) */
  uplink: string;
  carrier: string;
  slots: SlotSnapshot[];
}

export interface PathEval {
  path: Path;
  health: Health;
  /** health of the baseline (gateway) slots alone */
  baseline: Health;
  /** a contributing slot is confirmed `down` by the status machine */
  confirmed: boolean;
  /** the slots that make it fail */
  failing: View[];
  /** the gateway fails, or it answers and everything beyond it fails */
  why: 'baseline' | 'baseline-only' | 'beyond' | 'no data' | 'ok';
}

export function pathsOf(agent: AgentSnapshot, slots: SlotSnapshot[]): Path[] {
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

const worstOf = (vs: View[]): Health => vs.reduce<Health>((w, v) => (HEALTH_RANK[v.h] > HEALTH_RANK[w] ? v.h : w), 'none');

/**
 * Is this path (one uplink, or the default route) failing?
 * - baseline fails hard and nothing beyond it answers, or another target of the path fails hard too -> hard;
 * - the baseline answers (or there is none) but EVERY target beyond it fails (at least 2 targets known, at least one
 *   not explained by a service/carrier-target cause) -> the link beyond the LAN router is dead: hard if all are hard;
 * - the baseline is slow/lossy (or fails while targets beyond still answer) -> soft;
 * - no data -> none; else ok.
 * `exclude`: targets failing for a wider reason (service); they cannot make a path fail on their own.
 */
export function evalPath(p: Path, baseline: Set<string>, exclude: Set<string>, th: AttributionThresholds, useLastKnown: boolean): PathEval {
  const vs = p.slots.map((s) => view(s, th, useLastKnown)).filter((v) => v.h !== 'none');
  const base = vs.filter((v) => baseline.has(v.slot.target));
  const beyond = vs.filter((v) => !baseline.has(v.slot.target));
  const own = beyond.filter((v) => !exclude.has(v.slot.target));
  const b = worstOf(base);
  const beyondOk = beyond.some((v) => v.h === 'ok');
  const allBeyondBad = beyond.length >= 2 && own.length >= 1 && beyond.every((v) => v.h !== 'ok');
  const bad = (list: View[]) => list.filter((v) => v.h === 'hard' || v.h === 'soft');
  const mk = (h: Health, failing: View[], why: PathEval['why']): PathEval => ({
    path: p,
    health: h,
    baseline: b,
    confirmed: failing.some((v) => v.status === 'down'),
    failing,
    why,
  });
  // The gateway and another target of the link failing hard is a cut even while a target beyond still shows an
  // answer: that answer predates the cut (a portal is probed every 60 s and a round on a dead link lasts its whole
  // timeout), and waiting for it would delay the incident by a minute.
  const alsoBeyond = own.some((v) => v.h === 'hard');
  if (b === 'hard' && (!beyondOk || alsoBeyond)) return mk('hard', [...bad(base), ...bad(beyond)], 'baseline');
  if (allBeyondBad) {
    const h: Health = beyond.every((v) => v.h === 'hard') ? 'hard' : 'soft';
    return mk(h, [...bad(base), ...beyond], 'beyond');
  }
  if (b === 'soft' || b === 'hard') return mk('soft', bad(base), b === 'hard' ? 'baseline-only' : 'baseline');
  if (vs.length === 0) return mk('none', [], 'no data');
  return mk('ok', [], 'ok');
}

/** The first status reason among the views, as data. */
export function firstReason(vs: View[]): Reason | null {
  for (const v of vs) if (v.reason) return v.reason;
  return null;
}

/** The same, as the language-neutral label kept in the figures. */
export const firstReasonLabel = (vs: View[]): string | null => {
  const r = firstReason(vs);
  return r ? reasonLabel(r) : null;
};

export function earliestSince(vs: View[]): number | null {
  let m: number | null = null;
  for (const v of vs) if (v.slot.since !== null && (m === null || v.slot.since < m)) m = v.slot.since;
  return m;
}
