// What a report says, independent of its format. The data layer (server/reports/data/*) computes these from the
// store; the renderers (csv.ts, xlsx.ts, pdf.ts) only lay them out. Numbers are plain (%, ms, minutes, hours);
// formatting to Vietnamese conventions happens in the renderers.
import type { Cause, IncidentSite } from '../incidents/types.ts';

export interface Period {
  /** inclusive, epoch ms */
  from: number;
  /** exclusive, epoch ms */
  to: number;
  /** e.g. "Tháng 10/2026", "Tuần 44/2026 (26/10–01/11/2026)", "01/10/2026–15/10/2026" */
  label: string;
}

export interface ReportIncident {
  id: string;
  cause: Cause;
  subject: string;
  openedAt: number;
  resolvedAt: number | null;
  /** clipped to the period */
  durationMin: number;
  communes: string[];
  /** the sites the incident names (a school's outage is reported under the school's name); absent when none */
  sites?: IncidentSite[];
  summary: string;
  maintenance: boolean;
}

/** The thresholds that make a commune a dead zone for a carrier; stated in the report. */
export interface DeadZoneDefinition {
  /** availability of the carrier's uplink below this (%) */
  minAvailabilityPct: number;
  /** or mean loss at/above this (%) */
  maxLossPct: number;
  /** or 95th-percentile RTT above this (ms) */
  maxRttP95Ms: number;
}

export interface CarrierCommuneRow {
  commune: string;
  name: string;
  /** share of rounds that were not failed, % (rounds measured over this carrier's uplinks only) */
  availabilityPct: number | null;
  lossPct: number | null;
  rttMedianMs: number | null;
  rttP95Ms: number | null;
  hoursDegraded: number;
  hoursDown: number;
  /** hours of the day (0-23, Asia/Ho_Chi_Minh) with the worst loss, worst first, at most 3 */
  worstHours: number[];
  /** incidents attributed to this carrier touching this commune */
  incidents: number;
  deadZone: boolean;
  /** which rule(s) made it a dead zone, in words */
  why: string | null;
}

/** The QCVN 34 figures the section compares with (config reports.qcvn); stated in the report. */
export interface QcvnThresholds {
  /** the standard cited, e.g. "QCVN 34:2022/BTTTT" */
  standard: string;
  /** a speed meets the standard at or above this share of the contracted speed (0.8) */
  minSpeedRatio: number;
  maxLatencyMs: number;
  minAvailabilityPct: number;
}

export interface QcvnFigures {
  /** speed tests stored in the period (every attempt) */
  tests: number;
  /** tests that measured both directions */
  okTests: number;
  /** share of okTests whose download (upload) reached minSpeedRatio × the contracted speed, % */
  downOkPct: number | null;
  upOkPct: number | null;
  /** mean of okTests' speeds, Mbit/s (null in the carrier total: contracts differ) */
  meanDownMbps: number | null;
  meanUpMbps: number | null;
  /** mean of the round medians of the ICMP rounds over the line, gateway targets left out, ms */
  latencyMs: number | null;
  /** rounds not failed / rounds over the line (every ICMP target), % */
  availabilityPct: number | null;
}

/** One line of the carrier with a contracted speed (config uplinks[].contractedMbps). */
export interface QcvnLineRow extends QcvnFigures {
  commune: string;
  name: string;
  agent: string;
  uplink: string;
  contractedMbps: { down: number; up: number };
  /** the figures below the standard, in words; null when every measured figure meets it */
  unmet: string | null;
}

export interface QcvnSection {
  thresholds: QcvnThresholds;
  /** by commune, agent, uplink */
  rows: QcvnLineRow[];
  /** all lines pooled */
  total: QcvnFigures;
}

export interface CarrierReport {
  kind: 'carrier';
  province: { code: string; name: string };
  carrier: { id: string; name: string };
  period: Period;
  generatedAt: number;
  definition: DeadZoneDefinition;
  /** worst first (dead zones first, then by availability ascending); its Internet lines only when it runs TSLCD lines */
  rows: CarrierCommuneRow[];
  /** the carrier's lines on the government data network (TSLCD), the same figures, apart; absent when it has none */
  tslcdRows?: CarrierCommuneRow[];
  incidents: ReportIncident[];
  /** link speed, latency and availability against QCVN 34; absent when no line of the carrier has a contracted speed */
  qcvn?: QcvnSection;
}

/** The "xanh" (green) bar of Plan 02-KH/BCĐTW as configured; stated in the report. */
export interface GreenDefinition {
  minUptimePct: number;
  /** no single outage longer than this (minutes) */
  maxOutageMin: number;
  /** at most this many incidents in the period */
  maxIncidents: number;
}

export interface OutageStats {
  uptimePct: number | null;
  incidents: number;
  downtimeMin: number;
  /** mean time to recovery of incidents resolved in the period */
  mttrMin: number | null;
  longestOutageMin: number;
  /** counted apart: maintenance time is neither uptime nor downtime */
  maintenanceMin: number;
  causes: Partial<Record<Cause, number>>;
}

export interface DostCommuneRow extends OutageStats {
  commune: string;
  name: string;
  green: boolean;
  /** why not green, in words (null when green) */
  reason: string | null;
  previous: OutageStats | null;
  /** uptime change from the previous period, percentage points */
  deltaUptimePct: number | null;
}

export interface DostServiceRow extends OutageStats {
  target: string;
  name: string;
  previous: OutageStats | null;
  deltaUptimePct: number | null;
}

/** A network beside the public Internet (the government data network, TSLCD): its own availability line. */
export interface DostNetworkRow extends OutageStats {
  /** config uplinks[].network: 'tslcd' */
  network: string;
  name: string;
  /** figures from the network-wide incidents (its lines failing in many communes at once) */
  previous: OutageStats | null;
  deltaUptimePct: number | null;
  /** incidents of single communes' lines on the network (a commune's TSLCD cut; its commune's row counts them too) */
  lineIncidents: number;
}

export interface DostReport {
  kind: 'dost';
  province: { code: string; name: string };
  period: Period;
  previousPeriod: Period;
  generatedAt: number;
  /** a report for one commune or one service only */
  scope: { commune?: string; target?: string };
  green: GreenDefinition;
  communes: DostCommuneRow[];
  services: DostServiceRow[];
  /** the TSLCD network's availability, when some agent has a TSLCD line and the report is not for one service */
  networks?: DostNetworkRow[];
  incidents: ReportIncident[];
  summary: { communes: number; green: number; notGreen: number; incidents: number; downtimeMin: number };
}

export type Report = CarrierReport | DostReport;
export type ReportKind = Report['kind'];
