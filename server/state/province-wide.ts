// "This target is failing everywhere": one rule for the live map (a portal down everywhere does not paint every
// commune red) and for attribution (a service incident). Counted per commune, so a commune with two agents or two
// uplinks is one vote, and a commune failing a target once or four times is the same evidence. Pure.
import type { AttributionConfig } from '../../config/schema.ts';
import type { Status } from '../../config/vocabulary.ts';

export interface ProvinceWideRule {
  /** at least this share of the communes reporting the target fail it ... */
  share: number;
  /** ... and at least this many communes fail it */
  minCommunes: number;
}

/**
 * 60 % of the communes reporting a portal failing it cannot be explained by local links, and a portal outage hits
 * them all within one round. At least 3 failing communes, so two unlucky neighbours are never a province-wide fault.
 */
export const DEFAULT_PROVINCE_WIDE: ProvinceWideRule = { share: 0.6, minCommunes: 3 };

/** The rule from config `attribution` (`serviceMinAgents` is the old name of `serviceMinCommunes`). */
export function provinceWideRule(cfg: Pick<AttributionConfig, 'serviceShare' | 'serviceMinCommunes' | 'serviceMinAgents'> | undefined): ProvinceWideRule {
  return {
    share: cfg?.serviceShare ?? DEFAULT_PROVINCE_WIDE.share,
    minCommunes: cfg?.serviceMinCommunes ?? cfg?.serviceMinAgents ?? DEFAULT_PROVINCE_WIDE.minCommunes,
  };
}

/** The rule itself, on commune counts. */
export function isProvinceWide(failingCommunes: number, reportingCommunes: number, rule: ProvinceWideRule = DEFAULT_PROVINCE_WIDE): boolean {
  return reportingCommunes > 0 && failingCommunes >= rule.minCommunes && failingCommunes / reportingCommunes >= rule.share;
}

/**
 * Targets failing province-wide, from one status per (target, commune) that reports it: the commune's worst known
 * status for the target. Down or degraded counts as failing; unknown is not reporting.
 */
export function serviceWideFailures(perTarget: Map<string, Status[]>, rule: ProvinceWideRule = DEFAULT_PROVINCE_WIDE): Set<string> {
  const out = new Set<string>();
  for (const [target, statuses] of perTarget) {
    const known = statuses.filter((s) => s !== 'unknown');
    const failing = known.filter((s) => s === 'down' || s === 'degraded').length;
    if (isProvinceWide(failing, known.length, rule)) out.add(target);
  }
  return out;
}
