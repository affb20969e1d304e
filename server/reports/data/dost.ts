// DOST outage history: per commune and per service, from the stored incidents clipped to the period.
//
// Which incidents count:
//   commune C   every incident listing C (any cause: a commune whose only link fails usually shows as a silent agent,
//               so 'agent' counts too); with scope.target, only those whose targets include that target
//   service T   'service' incidents of T (subject or targets); with scope.commune, only those listing the commune.
//               Services are the configured targets except the per-uplink `gateway` pings (not a service)
// Figures over the observed span [period.from, min(period.to, now)):
//   maintenanceMin    length of the union of maintenance incidents (maintenance = true): neither up nor down
//   downtimeMin       length of the union of the other incidents, minus maintenance time
//   uptimePct         (span − maintenance − downtime) / (span − maintenance) × 100; null when nothing is observed or
//                     the commune has no agent (not monitored: not green, said so)
//   incidents/causes  non-maintenance incidents overlapping the span, by cause
//   longestOutageMin  longest stretch of downtime (overlapping incidents merged)
//   mttrMin           mean opened→resolved time of the non-maintenance incidents resolved inside the period
// Green: monitored, uptime >= minUptimePct, longest outage <= maxOutageMin, incidents <= maxIncidents; the reason lists
// every rule missed. The previous period gets the same figures; deltaUptimePct = uptime now − uptime then.
// TSLCD network (when an agent has a TSLCD line and the report is not for one service): uptime from the network-wide
//   TSLCD incidents (cause 'carrier', subject 'tslcd'), and a count of single communes' TSLCD-line incidents.
// Summary: rows, green / not green communes, distinct non-maintenance incidents, downtime summed over communes.
import { networkText } from '../../../config/words.ts';
import type { Directory } from '../../directory.ts';
import type { Incident } from '../../incidents/types.ts';
import { isGatewayTarget } from '../../kinds/index.ts';
import type { Store } from '../../stores/types.ts';
import type { DostCommuneRow, DostNetworkRow, DostReport, DostServiceRow, GreenDefinition, OutageStats, Period } from '../model.ts';
import { directoryNames, reportIncident } from './carrier.ts';
import { fmtNum } from './format.ts';

const MIN = 60_000;

type Interval = [number, number];

/** Sorted, merged union of intervals. */
function union(xs: Interval[]): Interval[] {
  const s = xs.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** xs minus ys, both merged unions. */
function subtract(xs: Interval[], ys: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const [a0, b] of xs) {
    let a = a0;
    for (const [c, d] of ys) {
      if (d <= a || c >= b) continue;
      if (c > a) out.push([a, c]);
      a = Math.max(a, d);
      if (a >= b) break;
    }
    if (a < b) out.push([a, b]);
  }
  return out;
}

const total = (xs: Interval[]) => xs.reduce((n, [a, b]) => n + (b - a), 0);

/** Outage figures of `incs` over a period, observed up to `now`. `monitored` false: uptime null. */
export function outageStats(incs: readonly Incident[], period: Pick<Period, 'from' | 'to'>, now: number, monitored = true): OutageStats {
  const a = period.from;
  const b = Math.max(a, Math.min(period.to, now));
  const overlapping = incs.filter((i) => i.openedAt < b && (i.resolvedAt === null || i.resolvedAt > a));
  const clip = (i: Incident): Interval => [Math.max(i.openedAt, a), Math.min(i.resolvedAt ?? now, b)];
  const maint = union(overlapping.filter((i) => i.maintenance).map(clip));
  const outages = overlapping.filter((i) => !i.maintenance);
  const down = subtract(union(outages.map(clip)), maint);
  const maintenanceMs = total(maint);
  const downMs = total(down);
  const base = b - a - maintenanceMs;
  const causes: OutageStats['causes'] = {};
  for (const i of outages) causes[i.cause] = (causes[i.cause] ?? 0) + 1;
  const resolved = outages.filter((i) => i.resolvedAt !== null && i.resolvedAt >= period.from && i.resolvedAt < period.to && i.resolvedAt <= now);
  return {
    uptimePct: monitored && base > 0 ? ((base - downMs) / base) * 100 : null,
    incidents: outages.length,
    downtimeMin: downMs / MIN,
    mttrMin: resolved.length ? resolved.reduce((n, i) => n + (i.resolvedAt! - i.openedAt), 0) / resolved.length / MIN : null,
    longestOutageMin: down.reduce((m, [x, y]) => Math.max(m, y - x), 0) / MIN,
    maintenanceMin: maintenanceMs / MIN,
    causes,
  };
}

function greenVerdict(s: OutageStats, g: GreenDefinition, monitored: boolean): { green: boolean; reason: string | null } {
  if (!monitored) return { green: false, reason: 'Chưa được giám sát (xã không có máy đo)' };
  const why: string[] = [];
  if (s.uptimePct === null) why.push('không có thời gian quan sát trong kỳ');
  else if (s.uptimePct < g.minUptimePct) why.push(`thời gian hoạt động ${fmtNum(s.uptimePct, 3)}% < ${fmtNum(g.minUptimePct, 3)}%`);
  if (s.longestOutageMin > g.maxOutageMin) why.push(`sự cố dài nhất ${fmtNum(s.longestOutageMin, 1)} phút > ${fmtNum(g.maxOutageMin)} phút`);
  if (s.incidents > g.maxIncidents) why.push(`${s.incidents} sự cố > ${g.maxIncidents} sự cố cho phép`);
  return why.length ? { green: false, reason: why.join('; ').replace(/^./, (c) => c.toUpperCase()) } : { green: true, reason: null };
}

export async function buildDostReport(
  store: Store,
  dir: Directory,
  period: Period,
  previousPeriod: Period,
  green: GreenDefinition,
  scope: { commune?: string; target?: string },
  now: number,
): Promise<DostReport> {
  if (scope.commune !== undefined && !dir.communes.has(scope.commune)) throw new Error(`unknown commune "${scope.commune}"`);
  if (scope.target !== undefined && !dir.targets.has(scope.target)) throw new Error(`unknown target "${scope.target}"`);
  const all = await store.queryIncidents({ from: Math.min(period.from, previousPeriod.from), to: Math.max(period.to, previousPeriod.to) });

  const forCommune = (code: string) => all.filter((i) => i.communes.includes(code) && (scope.target === undefined || i.targets.includes(scope.target)));
  const forService = (t: string) =>
    all.filter((i) => i.cause === 'service' && (i.subject === t || i.targets.includes(t)) && (scope.commune === undefined || i.communes.includes(scope.commune)));
  const listedExtra = new Map<string, Incident>();
  const delta = (cur: OutageStats, prev: OutageStats) => (cur.uptimePct !== null && prev.uptimePct !== null ? cur.uptimePct - prev.uptimePct : null);

  const communeCodes = scope.commune !== undefined ? [scope.commune] : dir.province.communes.map((c) => c.code);
  const communes: DostCommuneRow[] = communeCodes.map((code) => {
    const incs = forCommune(code);
    const monitored = dir.agentsOfCommune(code).length > 0;
    const cur = outageStats(incs, period, now, monitored);
    const prev = outageStats(incs, previousPeriod, now, monitored);
    return {
      commune: code,
      name: dir.communes.get(code)?.fullName ?? code,
      ...cur,
      ...greenVerdict(cur, green, monitored),
      previous: prev,
      deltaUptimePct: delta(cur, prev),
    };
  });

  const serviceIds =
    scope.target !== undefined ? [scope.target] : dir.targetOrder.filter((t) => {
      const def = dir.targets.get(t);
      return !(def && isGatewayTarget(def));
    });
  const services: DostServiceRow[] = serviceIds.map((t) => {
    const incs = forService(t);
    const cur = outageStats(incs, period, now);
    const prev = outageStats(incs, previousPeriod, now);
    return { target: t, name: dir.targets.get(t)?.name ?? t, ...cur, previous: prev, deltaUptimePct: delta(cur, prev) };
  });

  // The TSLCD network as its own line: its network-wide incidents (attribution/network.ts: a carrier-like cause whose
  // subject is the network) make its uptime; one commune's TSLCD cut is counted beside it, as that commune's line.
  const networks: DostNetworkRow[] = [];
  const tslcdLines = [...dir.agents.values()].filter((a) => a.uplinks.some((u) => u.network === 'tslcd'));
  if (scope.target === undefined && tslcdLines.length) {
    const inScopeCommune = (i: Incident) => scope.commune === undefined || i.communes.includes(scope.commune);
    const wide = all.filter((i) => i.cause === 'carrier' && i.subject === 'tslcd' && inScopeCommune(i));
    const lines = all.filter(
      (i) => i.cause === 'local_link' && !i.maintenance && 'figures' in i.evidence && String(i.evidence.figures.network ?? '').split(',').includes('tslcd') && inScopeCommune(i),
    );
    const cur = outageStats(wide, period, now);
    const prev = outageStats(wide, previousPeriod, now);
    const end = Math.max(period.from, Math.min(period.to, now));
    networks.push({
      network: 'tslcd',
      name: networkText('tslcd', 'vi').replace(/^./, (c) => c.toUpperCase()),
      ...cur,
      previous: prev,
      deltaUptimePct: delta(cur, prev),
      lineIncidents: lines.filter((i) => i.openedAt < end && (i.resolvedAt === null || i.resolvedAt > period.from)).length,
    });
    for (const i of wide) if (i.openedAt < end && (i.resolvedAt === null || i.resolvedAt > period.from)) listedExtra.set(i.id, i);
  }

  // Every incident the report's rows were computed from, overlapping the period.
  const inScope = new Map<string, Incident>();
  for (const code of communeCodes) for (const i of forCommune(code)) inScope.set(i.id, i);
  for (const t of serviceIds) for (const i of forService(t)) inScope.set(i.id, i);
  for (const [id, i] of listedExtra) inScope.set(id, i);
  const end = Math.max(period.from, Math.min(period.to, now));
  const listed = [...inScope.values()].filter((i) => i.openedAt < end && (i.resolvedAt === null || i.resolvedAt > period.from));
  const greenCount = communes.filter((c) => c.green).length;

  return {
    kind: 'dost',
    province: { code: dir.province.code, name: dir.province.name },
    period,
    previousPeriod,
    generatedAt: now,
    scope: { ...(scope.commune !== undefined ? { commune: scope.commune } : {}), ...(scope.target !== undefined ? { target: scope.target } : {}) },
    green,
    communes,
    services,
    ...(networks.length ? { networks } : {}),
    incidents: listed.map((i) => reportIncident(i, period, now, directoryNames(dir))).sort((a, b) => a.openedAt - b.openedAt || (a.id < b.id ? -1 : 1)),
    summary: {
      communes: communes.length,
      green: greenCount,
      notGreen: communes.length - greenCount,
      incidents: listed.filter((i) => !i.maintenance).length,
      downtimeMin: communes.reduce((n, c) => n + c.downtimeMin, 0),
    },
  };
}
