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
import { emptyFigures, histQuantile, hourOfDay, mergeFigures, type RoundClassifier } from '../../stores/rollup.ts';
import { ROLLUP_BUCKET_MS, type RollupFigures, type Store, type TagKey } from '../../stores/types.ts';
import type { Incident } from '../../incidents/types.ts';
import type { CarrierCommuneRow, CarrierReport, DeadZoneDefinition, Period, QcvnThresholds, ReportIncident } from '../model.ts';
import { readAggregates, readLinks, roundClassifier, runRollup } from './rollups.ts';
import { LINK_KINDS } from '../../kinds/index.ts';
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

  // The carrier's TSLCD lines (config: uplinks[].network) are listed apart from its Internet lines. Link rows pool
  // every line of a carrier in a commune, so a carrier running TSLCD lines is read per line from the series rollups.
  const tslcd = tslcdLines(dir, carrierId);
  const perCommune = tslcd.size
    ? await perCommuneByLine(store, classify, carrierId, period, (agent, uplink) => tslcd.has(lineKey(agent, uplink)))
    : { internet: await perCommuneFromLinks(store, classify, carrierId, period), tslcd: new Map<string, CommuneFigures>() };

  const incidents = (await store.queryIncidents({ from: period.from, to: period.to, carrier: carrierId })).filter(
    (i) => i.carrier === carrierId && (i.cause === 'carrier' || i.cause === 'local_link'),
  );
  const counted = { internet: new Map<string, number>(), tslcd: new Map<string, number>() };
  for (const i of incidents) {
    if (i.maintenance) continue;
    const m = counted[isTslcdIncident(i) ? 'tslcd' : 'internet'];
    for (const c of i.communes) m.set(c, (m.get(c) ?? 0) + 1);
  }

  const codes = new Set<string>([...dir.communesOfCarrier(carrierId, 'internet'), ...perCommune.internet.keys()]);
  const rows = [...codes].map((code) => communeRow(dir, code, perCommune.internet.get(code), counted.internet.get(code) ?? 0, definition));
  const tslcdCodes = new Set<string>([...dir.communesOfCarrier(carrierId, 'tslcd'), ...perCommune.tslcd.keys()]);
  const tslcdRows = [...tslcdCodes].map((code) => communeRow(dir, code, perCommune.tslcd.get(code), counted.tslcd.get(code) ?? 0, definition));
  rows.sort(worstFirst);
  tslcdRows.sort(worstFirst);

  const qcvn = await buildQcvnSection(store, dir, carrierId, period, opts.qcvn ?? DEFAULT_QCVN, classify);
  return {
    kind: 'carrier',
    province: { code: dir.province.code, name: dir.province.name },
    carrier: { id: carrier.id, name: carrier.name },
    period,
    generatedAt: now,
    definition,
    rows,
    ...(tslcdRows.length ? { tslcdRows } : {}),
    incidents: incidents.map((i) => reportIncident(i, period, now, directoryNames(dir))).sort((a, b) => a.openedAt - b.openedAt || (a.id < b.id ? -1 : 1)),
    ...(qcvn ? { qcvn } : {}),
  };
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const worstFirst = (a: CarrierCommuneRow, b: CarrierCommuneRow) =>
  Number(b.deadZone) - Number(a.deadZone) ||
  (a.availabilityPct ?? Infinity) - (b.availabilityPct ?? Infinity) ||
  (b.lossPct ?? -1) - (a.lossPct ?? -1) ||
  (a.commune < b.commune ? -1 : a.commune > b.commune ? 1 : 0);

/** One commune's pooled figures over the period, its down/degraded hours and its mean loss per hour of the day. */
interface CommuneFigures {
  fig: RollupFigures;
  down: number;
  degraded: number;
  byHour: { hod: number; loss: number }[];
}

/** The carrier's link rows (every line of it in a commune pooled), merged per (commune, hour of the day). */
async function perCommuneFromLinks(store: Store, classify: RoundClassifier, carrierId: string, period: Period): Promise<Map<string, CommuneFigures>> {
  const links = await readLinks(store, { from: period.from, to: period.to, where: { carrier: carrierId }, groupBy: ['commune', 'hod'], histogram: true }, classify);
  const perCommune = new Map<string, CommuneFigures>();
  for (const a of links) {
    const c = a.tags.commune ?? '';
    let e = perCommune.get(c);
    if (!e) perCommune.set(c, (e = { fig: emptyFigures(), down: 0, degraded: 0, byHour: [] }));
    mergeFigures(e.fig, a);
    e.down += a.hoursDown;
    e.degraded += a.hoursDegraded;
    if (a.lossN > 0) e.byHour.push({ hod: Number(a.tags.hod), loss: a.lossSum / a.lossN });
  }
  return perCommune;
}

const lineKey = (agent: string, uplink: string) => `${agent}\u0000${uplink}`;

/** The carrier's TSLCD lines in the config, as (agent, uplink) keys. */
function tslcdLines(dir: Directory, carrierId: string): Set<string> {
  const out = new Set<string>();
  for (const a of dir.agents.values())
    for (const u of a.uplinks)
      if (u.carrier === carrierId && u.network === 'tslcd') {
        out.add(lineKey(a.id, u.name));
        if (a.uplinks.length === 1) out.add(lineKey(a.id, ''));
      }
  return out;
}

/** A network-wide TSLCD cause, or a commune's TSLCD line (attribution/network.ts names them). */
const isTslcdIncident = (i: Incident) =>
  (i.cause === 'carrier' && i.subject === 'tslcd') || ('figures' in i.evidence && String(i.evidence.figures.network ?? '').split(',').includes('tslcd'));

/**
 * The same figures as the link rows, split by line: the series rollups of the link kinds (per commune, agent, uplink
 * and hour) folded into the carrier's Internet lines and its TSLCD lines, each hour judged by the link rows' rule
 * (stores/rollup.ts linkRows: down when more than half the pooled rounds failed). A round without an uplink tag comes
 * from a single-uplink agent and is judged by that uplink.
 */
async function perCommuneByLine(
  store: Store,
  classify: RoundClassifier,
  carrierId: string,
  period: Period,
  isTslcd: (agent: string, uplink: string) => boolean,
): Promise<{ internet: Map<string, CommuneFigures>; tslcd: Map<string, CommuneFigures> }> {
  const hours = new Map<string, { net: 'internet' | 'tslcd'; commune: string; hour: number; fig: RollupFigures }>();
  const total = new Map<string, RollupFigures>(); // `${net}\0${commune}` -> whole period, with the histogram
  for (const measurement of LINK_KINDS) {
    const q = { measurement, from: period.from, to: period.to, where: { carrier: carrierId }, groupBy: ['commune', 'agent', 'uplink'] as TagKey[] };
    for (const a of await readAggregates(store, { ...q, bucketMs: ROLLUP_BUCKET_MS, figures: 'counts' }, classify)) {
      const net = isTslcd(a.tags.agent ?? '', a.tags.uplink ?? '') ? 'tslcd' : 'internet';
      const key = `${net}\u0000${a.tags.commune}\u0000${a.t}`;
      const h = hours.get(key);
      if (h) mergeFigures(h.fig, a);
      else hours.set(key, { net, commune: a.tags.commune ?? '', hour: a.t ?? 0, fig: { ...a, hist: [] } });
    }
    for (const a of await readAggregates(store, { ...q, histogram: true }, classify)) {
      const net = isTslcd(a.tags.agent ?? '', a.tags.uplink ?? '') ? 'tslcd' : 'internet';
      const key = `${net}\u0000${a.tags.commune}`;
      const f = total.get(key);
      if (f) mergeFigures(f, a);
      else total.set(key, { ...a, hist: [...a.hist] });
    }
  }
  const out = { internet: new Map<string, CommuneFigures>(), tslcd: new Map<string, CommuneFigures>() };
  const byHod = new Map<string, { lossSum: number; lossN: number }>();
  for (const h of hours.values()) {
    const m = out[h.net];
    let e = m.get(h.commune);
    if (!e) m.set(h.commune, (e = { fig: total.get(`${h.net}\u0000${h.commune}`) ?? emptyFigures(), down: 0, degraded: 0, byHour: [] }));
    const f = h.fig;
    const down = f.rounds > 0 && f.failed * 2 > f.rounds;
    if (down) e.down++;
    else if (f.rounds > 0 && (f.failed + f.slow) * 2 > f.rounds) e.degraded++;
    const k = `${h.net}\u0000${h.commune}\u0000${hourOfDay(h.hour)}`;
    const acc = byHod.get(k) ?? { lossSum: 0, lossN: 0 };
    acc.lossSum += f.lossSum;
    acc.lossN += f.lossN;
    byHod.set(k, acc);
  }
  for (const [k, acc] of byHod) {
    const [net, commune, hod] = k.split('\u0000') as ['internet' | 'tslcd', string, string];
    if (acc.lossN > 0) out[net].get(commune)!.byHour.push({ hod: Number(hod), loss: acc.lossSum / acc.lossN });
  }
  return out;
}

/** One commune's row: its figures against the dead-zone definition. */
function communeRow(dir: Directory, code: string, e: CommuneFigures | undefined, incidents: number, definition: DeadZoneDefinition): CarrierCommuneRow {
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
    incidents,
    deadZone: why.length > 0,
    why: why.length ? capitalize(why.join('; ')) : null,
  };
}

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
