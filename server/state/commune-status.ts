// Commune colour: the worst of its targets, except targets failing province-wide (a portal down everywhere is the
// portal's incident, not every commune's). Pure.
import type { Status } from '../../config/wire.ts';

const RANK: Record<Status, number> = { unknown: 0, up: 1, degraded: 2, down: 3 };

export function worst(statuses: Iterable<Status>): Status {
  let best: Status = 'unknown';
  for (const s of statuses) if (RANK[s] > RANK[best]) best = s;
  return best;
}

/**
 * A target is failing province-wide when at least `minCommunes` communes report it and at least `share` of those
 * see it down or degraded. Defaults: 60 % of at least 3 communes - a real local fault rarely hits most communes at
 * once, while a portal outage hits all of them within one round.
 */
export function serviceWideFailures(
  perTarget: Map<string, Status[]>,
  opts: { share: number; minCommunes: number } = { share: 0.6, minCommunes: 3 },
): Set<string> {
  const out = new Set<string>();
  for (const [target, statuses] of perTarget) {
    const known = statuses.filter((s) => s !== 'unknown');
    if (known.length < opts.minCommunes) continue;
    const bad = known.filter((s) => s === 'down' || s === 'degraded').length;
    if (bad / known.length >= opts.share) out.add(target);
  }
  return out;
}

/** Commune status from its targets' statuses, ignoring the ones failing province-wide. */
export function communeStatus(targets: { id: string; status: Status }[], serviceWide: Set<string>): Status {
  const local = targets.filter((t) => !serviceWide.has(t.id));
  // If only province-wide-failing targets are known, the commune itself is fine as far as we can tell.
  if (local.length === 0 && targets.some((t) => t.status !== 'unknown')) return 'up';
  return worst(local.map((t) => t.status));
}
