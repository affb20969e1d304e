// Commune colour: the worst of its targets, except targets failing province-wide (a portal down everywhere is the
// portal's incident, not every commune's; the rule is province-wide.ts). Pure.
import { worstStatus, type Status } from '../../config/vocabulary.ts';

/** Commune status from its targets' statuses, ignoring the ones failing province-wide. */
export function communeStatus(targets: { id: string; status: Status }[], serviceWide: Set<string>): Status {
  const local = targets.filter((t) => !serviceWide.has(t.id));
  // If only province-wide-failing targets are known, the commune itself is fine as far as we can tell.
  if (local.length === 0 && targets.some((t) => t.status !== 'unknown')) return 'up';
  return worstStatus(local.map((t) => t.status));
}
