// The incident model shared by the engine, the stores, the notifiers, the REST API and the UI.
// One incident per cause: a carrier outage touching 30 communes is one incident listing 30 communes.

import type { SiteKind } from '../../config/schema.ts';
import type { Cause, Evidence, Severity } from '../../config/vocabulary.ts';
export { CAUSES, type Cause } from '../../config/vocabulary.ts';

export interface IncidentNote {
  at: number;
  by: string;
  text: string;
}

/** A place inside a commune that an incident touched: the agent measuring there and its site. */
export interface IncidentSite {
  agent: string;
  commune: string;
  name: string;
  kind: SiteKind;
}

export interface Incident {
  /** stable id, e.g. `carrier:viettel:1795360000000` */
  id: string;
  cause: Cause;
  /** what failed: commune code (local_link, agent), carrier id (carrier), target id (service) */
  subject: string;
  /** epoch ms */
  openedAt: number;
  resolvedAt: number | null;
  /** affected commune codes, sorted */
  communes: string[];
  /** affected target ids, sorted */
  targets: string[];
  /** the carrier involved, when one is (carrier incidents, local links of a known carrier) */
  carrier: string | null;
  /** 'down' or 'degraded' at its worst */
  severity: Severity;
  /**
   * What triggered it, at its worst: typed items (worded by config/words.ts) plus machine-readable figures; incidents
   * stored before evidence was structured carry their sentence instead of items.
   */
  evidence: Evidence;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  notes: IncidentNote[];
  /** opened inside a maintenance window: no notifications, counted apart in uptime */
  maintenance: boolean;
  /**
   * Optional (added by the incident engine): the communes affected right now while open ([] once resolved).
   * `communes` keeps every commune the incident touched at any time, for history and reports.
   */
  activeCommunes?: string[];
  /** Optional: resolved because a wider incident (e.g. its carrier's) took its communes over; that incident's id */
  mergedInto?: string | null;
  /**
   * Optional (absent on incidents stored before sites, and when it names none): the sites it touched, sorted by
   * commune then name. Local-link and agent incidents name every affected site; carrier and service incidents only
   * those of communes where fewer than all sites are affected (a whole commune is named by the commune alone). A
   * commune measured only from its centre is named by the commune alone.
   */
  sites?: IncidentSite[];
}

export type IncidentEventKind = 'opened' | 'updated' | 'resolved' | 'acknowledged' | 'noted' | 'reminder';

export interface IncidentEvent {
  kind: IncidentEventKind;
  at: number;
  incident: Incident;
}
