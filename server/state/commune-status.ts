// Commune colour: the worst of its targets, except targets failing province-wide (a portal down everywhere is the
// portal's incident, not every commune's; the rule is province-wide.ts). Pure.
// Kept as a summary per group of targets (a site) that folds into the commune's, so a commune's colour follows
// from its sites' summaries without reading every slot again.
import { STATUS_RANK, type Status } from '../../config/vocabulary.ts';

export interface StatusSummary {
  /** worst status of the targets not failing province-wide; null without such targets */
  localWorst: Status | null;
  /** some target (province-wide failing or not) has a known status */
  anyKnown: boolean;
}

export function summarize(targets: readonly { id: string; status: Status }[], serviceWide: ReadonlySet<string>): StatusSummary {
  let localWorst: Status | null = null;
  let anyKnown = false;
  for (const t of targets) {
    anyKnown ||= t.status !== 'unknown';
    if (!serviceWide.has(t.id) && (localWorst === null || STATUS_RANK[t.status] > STATUS_RANK[localWorst])) localWorst = t.status;
  }
  return { localWorst, anyKnown };
}

/** The status of the union of the summarised groups. */
export function foldStatus(parts: Iterable<StatusSummary>): Status {
  let worst: Status | null = null;
  let known = false;
  for (const p of parts) {
    known ||= p.anyKnown;
    if (p.localWorst !== null && (worst === null || STATUS_RANK[p.localWorst] > STATUS_RANK[worst])) worst = p.localWorst;
  }
  // If only province-wide-failing targets are known, the commune itself is fine as far as we can tell.
  return worst ?? (known ? 'up' : 'unknown');
}

/** Commune status from its targets' statuses, ignoring the ones failing province-wide. */
export function communeStatus(targets: readonly { id: string; status: Status }[], serviceWide: ReadonlySet<string>): Status {
  return foldStatus([summarize(targets, serviceWide)]);
}
