// Service pass: a target failing for most communes whose own link is fine (a portal down everywhere), by the
// province-wide rule the live map uses too. Pure.
import { reasonLabel, type Reason } from '../../../config/vocabulary.ts';
import { isProvinceWide } from '../province-wide.ts';
import { earliestSince, HEALTH_RANK, isBad, LEVELS, type Health, type Level, type View } from './paths.ts';
import { round1, uniqSorted, type AttributionThresholds, type CauseFinding } from './types.ts';

export interface ServiceFailure {
  target: string;
  level: Level;
  /** the failing views (one per healthy agent and uplink probing it) */
  failing: View[];
  failingCommunes: number;
  reportingCommunes: number;
  reporting: number;
}

/** Is `target` failing province-wide among the healthy agents' views `reps`? Hard first, then soft. */
export function serviceFailure(target: string, reps: View[], th: AttributionThresholds): ServiceFailure | null {
  // One vote per commune: its worst view of the target.
  const perCommune = new Map<string, Health>();
  for (const v of reps) {
    const prev = perCommune.get(v.slot.commune);
    if (prev === undefined || HEALTH_RANK[v.h] > HEALTH_RANK[prev]) perCommune.set(v.slot.commune, v.h);
  }
  const rule = { share: th.serviceShare, minCommunes: th.serviceMinCommunes };
  for (const level of LEVELS) {
    const failingCommunes = [...perCommune.values()].filter((h) => isBad(h, level)).length;
    if (isProvinceWide(failingCommunes, perCommune.size, rule))
      return { target, level, failing: reps.filter((v) => isBad(v.h, level)), failingCommunes, reportingCommunes: perCommune.size, reporting: reps.length };
  }
  return null;
}

/** The reason most failing views give (ties: the smallest label), without its streak. */
function topReason(vs: View[]): Reason | null {
  const counts = new Map<string, { r: Reason; n: number }>();
  for (const v of vs) {
    if (!v.reason) continue;
    const r: Reason = { ...v.reason, streak: undefined, provinceWide: undefined };
    const k = reasonLabel(r);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { r, n: 1 });
  }
  const top = [...counts].sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1))[0];
  return top ? stripUndefined(top[1].r) : null;
}

// `{...reason, streak: undefined}` would carry explicit undefined keys into stored JSON and deep-equal checks.
const stripUndefined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export function serviceFinding(s: ServiceFailure): CauseFinding {
  const down = s.failing.filter((v) => v.status === 'down').length;
  const reason = topReason(s.failing);
  return {
    key: `service:${s.target}`,
    cause: 'service',
    subject: s.target,
    communes: uniqSorted(s.failing.map((v) => v.slot.commune)),
    targets: [s.target],
    carrier: null,
    severity: down * 2 >= s.failing.length ? 'down' : 'degraded',
    hard: s.level === 'hard',
    peers: 0,
    ...(s.failingCommunes < s.reportingCommunes ? { growing: true } : {}),
    evidence: {
      items: [{ code: 'service_share', target: s.target, failing: s.failingCommunes, of: s.reportingCommunes, reason }],
      figures: {
        target: s.target,
        communesFailing: s.failingCommunes,
        communesReporting: s.reportingCommunes,
        agentsFailing: s.failing.length,
        agentsHealthy: s.reporting,
        share: round1((s.failingCommunes / s.reportingCommunes) * 100),
        topReason: reason ? reasonLabel(reason) : null,
        since: earliestSince(s.failing),
      },
    },
  };
}
