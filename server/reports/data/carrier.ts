// Carrier dead-zone report: for one carrier and a period, every commune where the carrier has an uplink (or figures),
// from the ICMP rounds measured over that carrier's uplinks only (tag `carrier`; every ICMP target: loss and RTT are
// ICMP figures, HTTP/DNS failures are the services' matter, see the DOST report). It reads the link rows
// (stores/types.ts LinkRow: rolled up per commune, carrier and hour) and folds raw points the same way where not
// rolled up, so a year is one merged query.
//
// Per commune, the rounds of all the carrier's agents/uplinks and targets there are pooled:
//   availabilityPct   rounds not failed / rounds × 100 (failed = nothing answered, status.ts classify)
//   lossPct           mean loss of the rounds (a failed round counts 100 %)
//   rttMedianMs/P95   quantiles of the rounds' median RTT (rounds that answered), from the rollup histogram: within
//                     one bin (26 %) of the exact value, exact when the values are equal (server/stores/rollup.ts)
//   hoursDown         clock hours of the period where more than half of the pooled rounds failed (failed × 2 > rounds)
//   hoursDegraded     clock hours not down where more than half failed or were slow ((failed + slow) × 2 > rounds);
//                     slow = answered past the loss/RTT thresholds of the target and commune. Hours without rounds
//                     are neither (unknown); an hour cut by the period's edge counts with its rounds inside the period.
//   worstHours        hours of the day (Asia/Ho_Chi_Minh) by mean loss over the period, worst first, at most 3, only
//                     hours with some loss (ties: earlier hour first)
//   incidents         incidents attributed to the carrier touching the commune: cause 'carrier' of this carrier and
//                     'local_link' whose carrier is it; maintenance incidents are listed, not counted
//   deadZone/why      any rule of the definition broken (availability < min, loss >= max, p95 > max), in words
// Rows: dead zones first, then availability ascending (no data last), then loss descending, then commune code.
import { evidenceSummary, type NameLookup } from '../../../config/words.ts';
import type { Directory } from '../../directory.ts';
import { emptyFigures, histQuantile, mergeFigures } from '../../stores/rollup.ts';
import type { RollupFigures, Store } from '../../stores/types.ts';
import type { Incident } from '../../incidents/types.ts';
import type { CarrierCommuneRow, CarrierReport, DeadZoneDefinition, Period, QcvnThresholds, ReportIncident } from '../model.ts';
import { readLinks, roundClassifier, runRollup } from './rollups.ts';
import { fmtNum } from './format.ts';
import { buildQcvnSection } from './qcvn.ts';
import { DEFAULT_QCVN } from '../../../config/schema.ts';

export interface CarrierReportOptions {
  /** roll up the period's closed hours first (default true; false reads raw data where not rolled up) */
  ensureRollups?: boolean;
  /** the QCVN 34 section's thresholds (default DEFAULT_QCVN) */
  qcvn?: QcvnThresholds;
}

export async function buildCarrierReport(
  store: Store,
  dir: Directory,
  carrierId: string,
  period: Period,
  definition: DeadZoneDefinition,
  now: number,
  opts: CarrierReportOptions = {},
): Promise<CarrierReport> {
  const carrier = dir.carriers.get(carrierId);
  if (!carrier) throw new Error(`unknown carrier "${carrierId}"`);
  const classify = roundClassifier(dir);
  if (opts.ensureRollups !== false) await runRollup(store, classify, { from: period.from, to: period.to, now });

  // One read: the carrier's link rows merged per (commune, hour of the day).
  const links = await readLinks(store, { from: period.from, to: period.to, where: { carrier: carrierId }, groupBy: ['commune', 'hod'], histogram: true }, classify);
  const perCommune = new Map<string, { fig: RollupFigures; down: number; degraded: number; byHour: { hod: number; loss: number }[] }>();
  for (const a of links) {
    const c = a.tags.commune ?? '';
    let e = perCommune.get(c);
    if (!e) perCommune.set(c, (e = { fig: emptyFigures(), down: 0, degraded: 0, byHour: [] }));
    mergeFigures(e.fig, a);
    e.down += a.hoursDown;
    e.degraded += a.hoursDegraded;
    if (a.lossN > 0) e.byHour.push({ hod: Number(a.tags.hod), loss: a.lossSum / a.lossN });
  }

  const incidents = (await store.queryIncidents({ from: period.from, to: period.to, carrier: carrierId })).filter(
    (i) => i.carrier === carrierId && (i.cause === 'carrier' || i.cause === 'local_link'),
  );
  const counted = new Map<string, number>();
  for (const i of incidents) if (!i.maintenance) for (const c of i.communes) counted.set(c, (counted.get(c) ?? 0) + 1);

  const codes = new Set<string>([...dir.communesOfCarrier(carrierId), ...perCommune.keys()]);
  const rows: CarrierCommuneRow[] = [...codes].map((code) => {
    const e = perCommune.get(code);
    const f = e?.fig;
    const availabilityPct = f && f.rounds > 0 ? ((f.rounds - f.failed) / f.rounds) * 100 : null;
    const lossPct = f && f.lossN > 0 ? f.lossSum / f.lossN : null;
    const rttMedianMs = f ? histQuantile(f.hist, 0.5, f.latMin, f.latMax) : null;
    const rttP95Ms = f ? histQuantile(f.hist, 0.95, f.latMin, f.latMax) : null;
    const why: string[] = [];
    if (availabilityPct !== null && availabilityPct < definition.minAvailabilityPct)
      why.push(`khả dụng ${fmtNum(availabilityPct)}% < ${fmtNum(definition.minAvailabilityPct)}%`);
    if (lossPct !== null && lossPct >= definition.maxLossPct) why.push(`mất gói trung bình ${fmtNum(lossPct)}% ≥ ${fmtNum(definition.maxLossPct)}%`);
    if (rttP95Ms !== null && rttP95Ms > definition.maxRttP95Ms) why.push(`RTT p95 ${fmtNum(rttP95Ms, 0)} ms > ${fmtNum(definition.maxRttP95Ms)} ms`);
    const worstHours = (e?.byHour ?? [])
      .filter((s) => s.loss > 0)
      .sort((a, b) => b.loss - a.loss || a.hod - b.hod)
      .slice(0, 3)
      .map((s) => s.hod);
    const c = dir.communes.get(code);
    return {
      commune: code,
      name: c?.fullName ?? code,
      availabilityPct,
      lossPct,
      rttMedianMs,
      rttP95Ms,
      hoursDegraded: e?.degraded ?? 0,
      hoursDown: e?.down ?? 0,
      worstHours,
      incidents: counted.get(code) ?? 0,
      deadZone: why.length > 0,
      why: why.length ? capitalize(why.join('; ')) : null,
    };
  });
  rows.sort(
    (a, b) =>
      Number(b.deadZone) - Number(a.deadZone) ||
      (a.availabilityPct ?? Infinity) - (b.availabilityPct ?? Infinity) ||
      (b.lossPct ?? -1) - (a.lossPct ?? -1) ||
      (a.commune < b.commune ? -1 : a.commune > b.commune ? 1 : 0),
  );

  const qcvn = await buildQcvnSection(store, dir, carrierId, period, opts.qcvn ?? DEFAULT_QCVN, classify);
  return {
    kind: 'carrier',
    province: { code: dir.province.code, name: dir.province.name },
    carrier: { id: carrier.id, name: carrier.name },
    period,
    generatedAt: now,
    definition,
    rows,
    incidents: incidents.map((i) => reportIncident(i, period, now, directoryNames(dir))).sort((a, b) => a.openedAt - b.openedAt || (a.id < b.id ? -1 : 1)),
    ...(qcvn ? { qcvn } : {}),
  };
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Names for the ids an incident's evidence carries, from the config (ids when unknown). */
export function directoryNames(dir: Directory): NameLookup {
  return {
    commune: (c) => dir.communes.get(c)?.fullName ?? c,
    carrier: (c) => dir.carriers.get(c)?.name ?? c,
    target: (t) => dir.targets.get(t)?.name ?? t,
  };
}

/**
 * An incident as reports list it: its duration clipped to the period (and to now while open), its evidence in words
 * in the reports' language (Vietnamese).
 */
export function reportIncident(i: Incident, period: Period, now: number, names?: NameLookup): ReportIncident {
  const from = Math.max(i.openedAt, period.from);
  const to = Math.min(i.resolvedAt ?? now, period.to);
  return {
    id: i.id,
    cause: i.cause,
    subject: i.subject,
    openedAt: i.openedAt,
    resolvedAt: i.resolvedAt,
    durationMin: Math.max(0, to - from) / 60_000,
    communes: [...i.communes],
    ...(i.sites?.length ? { sites: i.sites.map((s) => ({ ...s })) } : {}),
    summary: evidenceSummary(i.evidence, 'vi', names),
    maintenance: i.maintenance,
  };
}
