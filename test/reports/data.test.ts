// Report models against KNOWN DATA, on both stores (DuckDB temp file, real influxd).
//
// A month (October 2026, Asia/Ho_Chi_Minh) of results for 6 real communes of Quảng Ngãi x 2 carriers (each commune's
// agent has a VNPT and a Viettel uplink) x 3 targets (gateway and data-centre pings, the national portal over HTTP):
// 321 408 points. Rounds are every 5 minutes, not 30 s: 30-s rounds would be 1.9 M points, too slow to write to
// influxd inside a test; the figures do not depend on the interval. Known faults: a Viettel outage in 3 communes,
// VNPT evening congestion in one, a VNPT local link down 36 h in another, a Viettel link losing every 4th round in a
// third, a VNPT maintenance window, a silent agent (no rounds), an outage cut by the start of the month and one
// still open at its end; and the incidents that go with them.
//
// Expected carrier figures are computed here, from the generated points, with plain loops (counts, nearest-rank
// quantiles, majority hours), never with the code under test; quantiles may differ from the exact value by at most one
// histogram bin (HIST_BIN_RATIO, documented). DOST figures are written out by hand from the incident list.
// The same report is built all from raw data, half rolled up / half raw (boundary mid-day), all rolled up, and after
// the raw data is pruned: the figures must not move.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { configSchema, type ProvinceFile } from '../../config/schema.ts';
import { buildDirectory, type Directory } from '../../server/directory.ts';
import type { CarrierReport, DeadZoneDefinition, DostReport, GreenDefinition, OutageStats, Period } from '../../server/reports/model.ts';
import { buildCarrierReport } from '../../server/reports/data/carrier.ts';
import { buildDostReport } from '../../server/reports/data/dost.ts';
import { roundClassifier, runRollup } from '../../server/reports/data/rollups.ts';
import { HIST_BIN_RATIO } from '../../server/stores/rollup.ts';
import type { Point, Store, Tags } from '../../server/stores/types.ts';
import { describeStores, incident, type SentenceIncident } from '../helpers/stores.ts';
import { LINK_TARGETS, TWO_CARRIERS, TEST_HASH as HASH } from './fixtures.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const H = 3_600_000;
const MIN = 60_000;
const ROUND = 5 * MIN;
/** local (UTC+7) wall time -> epoch ms */
const vn = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi) - 7 * H;

const OCT: Period = { from: vn(2026, 10, 1), to: vn(2026, 11, 1), label: 'Tháng 10/2026' };
const SEP: Period = { from: vn(2026, 9, 1), to: vn(2026, 10, 1), label: 'Tháng 9/2026' };
const NOW = vn(2026, 11, 5, 9);
const COMMUNES = ['21034', '21040', '21061', '21085', '21100', '21109'] as const;
const CARRIERS = [
  { id: 'vnpt', uplink: 'wan0' },
  { id: 'viettel', uplink: 'wan1' },
] as const;
const DEAD: DeadZoneDefinition = { minAvailabilityPct: 99, maxLossPct: 2, maxRttP95Ms: 150 };
const GREEN: GreenDefinition = { minUptimePct: 99, maxOutageMin: 240, maxIncidents: 2 };

// ---------- the world ----------

const province = JSON.parse(readFileSync(join(ROOT, 'config/provinces/51.json'), 'utf8')) as ProvinceFile;
const config = configSchema.parse({
  province: { code: '51' },
  carriers: TWO_CARRIERS,
  targets: [
    ...LINK_TARGETS,
    { id: 'dvc', name: 'Cổng Dịch vụ công quốc gia', kind: 'http', url: 'https://dichvucong.gov.vn/' },
  ],
  agents: COMMUNES.map((c) => ({
    id: `ag-${c}`,
    commune: c,
    tokenHash: HASH,
    uplinks: CARRIERS.map((k) => ({ name: k.uplink, carrier: k.id, gateway: '192.0.2.1' })),
  })),
});
const dir: Directory = buildDirectory(config, province);

/** Windows where a carrier's link in a commune answers nothing (icmp fails, http fails). */
const LINK_DOWN: { commune: string; carrier: string; from: number; to: number }[] = [
  ...['21034', '21040', '21061'].map((commune) => ({ commune, carrier: 'viettel', from: vn(2026, 10, 10, 8), to: vn(2026, 10, 10, 14) })),
  { commune: '21100', carrier: 'vnpt', from: vn(2026, 10, 20), to: vn(2026, 10, 21, 12) },
  { commune: '21034', carrier: 'vnpt', from: vn(2026, 10, 25, 1), to: vn(2026, 10, 25, 3) }, // maintenance
  { commune: '21040', carrier: 'vnpt', from: vn(2026, 10, 25, 1), to: vn(2026, 10, 25, 4) }, // maintenance + link
  { commune: '21109', carrier: 'viettel', from: vn(2026, 9, 30, 20), to: vn(2026, 10, 1, 2) },
  { commune: '21085', carrier: 'vnpt', from: vn(2026, 10, 31, 20), to: vn(2026, 11, 1) },
];
/** The agent of 21061 is silent: no rounds at all. */
const SILENT = { commune: '21061', from: vn(2026, 10, 10, 13), to: vn(2026, 10, 10, 16) };
/** VNPT evening congestion in 21085: [gateway loss %, ttdl loss %] per local hour; ttdl RTT 180 ms then. */
const EVENING: Record<number, [number, number]> = { 19: [20, 30], 20: [40, 50], 21: [10, 20] };
const PORTAL_DOWN = { from: vn(2026, 10, 15, 9), to: vn(2026, 10, 15, 11, 30) };
/** Viettel in 21085 loses the data-centre route for 2 h (gateway fine): exactly half the rounds fail, so the hours are
 *  not down; in the second hour one gateway round is also lossy, which makes that hour (13 of 24 bad) degraded. */
const ROUTE_DOWN = { commune: '21085', carrier: 'viettel', from: vn(2026, 10, 5, 10), to: vn(2026, 10, 5, 12), lossyGateway: vn(2026, 10, 5, 11, 30) };

const localHourOf = (ts: number) => new Date(ts + 7 * H).getUTCHours();
const inside = (ts: number, w: { from: number; to: number }) => ts >= w.from && ts < w.to;

function generate(): Point[] {
  const out: Point[] = [];
  COMMUNES.forEach((commune, ci) => {
    for (const k of CARRIERS) {
      let i = 0;
      for (let ts = OCT.from; ts < OCT.to; ts += ROUND, i++) {
        if (commune === SILENT.commune && inside(ts, SILENT)) continue;
        const down = LINK_DOWN.some((w) => w.commune === commune && w.carrier === k.id && inside(ts, w));
        const tags = (target: string): Tags => ({ province: '51', commune, carrier: k.id, agent: `ag-${commune}`, target, uplink: k.uplink });
        const evening = commune === '21085' && k.id === 'vnpt' ? EVENING[localHourOf(ts)] : undefined;
        // gateway
        const route = commune === ROUTE_DOWN.commune && k.id === ROUTE_DOWN.carrier && inside(ts, ROUTE_DOWN);
        const gwLoss = down ? 100 : route && ts === ROUTE_DOWN.lossyGateway ? 20 : (evening?.[0] ?? 0);
        out.push(icmpPoint(ts, tags('gateway'), gwLoss, down ? null : 1.5));
        // data centre
        const flaky = commune === '21109' && k.id === 'viettel' && i % 4 === 0;
        const ttLoss = down || flaky || route ? 100 : (evening?.[1] ?? 0);
        out.push(icmpPoint(ts, tags('ttdl'), ttLoss, ttLoss === 100 ? null : evening ? 180 : (k.id === 'vnpt' ? 20 : 32) + 4 * ci));
        // portal
        const ok = !down && !inside(ts, PORTAL_DOWN);
        out.push({
          measurement: 'http',
          ts,
          tags: tags('dvc'),
          fields: { ok, status: ok ? 200 : null, dns_ms: 5, connect_ms: 20, tls_ms: 30, ttfb_ms: 200, total_ms: ok ? 300 : 10_000, cert_days_left: 60, error: ok ? null : 'timeout', backfilled: false },
        });
      }
    }
  });
  return out;
}

function icmpPoint(ts: number, tags: Tags, loss: number, rtt: number | null): Point {
  const received = 10 - loss / 10;
  return {
    measurement: 'icmp',
    ts,
    tags,
    fields: { sent: 10, received, loss, rtt_min: rtt, rtt_median: rtt, rtt_avg: rtt, rtt_max: rtt, jitter: rtt === null ? null : 0.2, error: received === 0 ? 'timeout' : null, backfilled: false },
  };
}

const INCIDENTS: Record<string, SentenceIncident> = {
  I1: incident({ id: 'I1', cause: 'carrier', subject: 'viettel', carrier: 'viettel', communes: ['21034', '21040', '21061'], targets: ['gateway', 'ttdl'], openedAt: vn(2026, 10, 10, 8), resolvedAt: vn(2026, 10, 10, 14) }),
  I2: incident({ id: 'I2', cause: 'local_link', subject: '21100', carrier: 'vnpt', communes: ['21100'], targets: ['gateway'], openedAt: vn(2026, 10, 20), resolvedAt: vn(2026, 10, 21, 12) }),
  I3: incident({ id: 'I3', cause: 'service', subject: 'dvc', communes: [...COMMUNES], targets: ['dvc'], openedAt: PORTAL_DOWN.from, resolvedAt: PORTAL_DOWN.to }),
  I4: incident({ id: 'I4', cause: 'carrier', subject: 'vnpt', carrier: 'vnpt', communes: ['21034', '21040'], targets: ['gateway'], openedAt: vn(2026, 10, 25, 1), resolvedAt: vn(2026, 10, 25, 3), maintenance: true }),
  I5: incident({ id: 'I5', cause: 'agent', subject: '21061', communes: ['21061'], openedAt: SILENT.from, resolvedAt: SILENT.to }),
  I6: incident({ id: 'I6', cause: 'local_link', subject: '21109', carrier: 'viettel', communes: ['21109'], targets: ['gateway'], openedAt: vn(2026, 9, 30, 20), resolvedAt: vn(2026, 10, 1, 2) }),
  I7: incident({ id: 'I7', cause: 'local_link', subject: '21085', carrier: 'vnpt', communes: ['21085'], targets: ['gateway'], openedAt: vn(2026, 10, 31, 20), resolvedAt: null }),
  I8a: incident({ id: 'I8a', cause: 'service', subject: 'dvc', communes: [...COMMUNES], targets: ['dvc'], openedAt: vn(2026, 9, 12, 10), resolvedAt: vn(2026, 9, 12, 10, 45) }),
  I8b: incident({ id: 'I8b', cause: 'local_link', subject: '21034', carrier: 'vnpt', communes: ['21034'], targets: ['gateway'], openedAt: vn(2026, 9, 5, 8), resolvedAt: vn(2026, 9, 5, 9) }),
  I9: incident({ id: 'I9', cause: 'local_link', subject: '21040', carrier: 'vnpt', communes: ['21040'], targets: ['gateway'], openedAt: vn(2026, 10, 25, 2), resolvedAt: vn(2026, 10, 25, 4) }),
  // another carrier's and an old one: must not show anywhere
  X1: incident({ id: 'X1', cause: 'carrier', subject: 'fpt', carrier: 'fpt', communes: ['99999'], openedAt: vn(2026, 10, 3), resolvedAt: vn(2026, 10, 3, 1) }),
  X2: incident({ id: 'X2', cause: 'local_link', subject: '21034', carrier: 'vnpt', communes: ['21034'], openedAt: vn(2026, 8, 3), resolvedAt: vn(2026, 8, 3, 1) }),
};

// ---------- expected carrier figures, from the points ----------

interface ExpectedRow {
  commune: string;
  availabilityPct: number;
  lossPct: number;
  rttMedianMs: number;
  rttP95Ms: number;
  hoursDegraded: number;
  hoursDown: number;
  worstHours: number[];
  deadZone: boolean;
  rules: string[];
}

const nearestRank = (sorted: number[], q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;

function expectedCarrierRows(points: Point[], carrier: string): ExpectedRow[] {
  const rows: ExpectedRow[] = [];
  for (const commune of COMMUNES) {
    const mine = points.filter((p) => p.measurement === 'icmp' && p.tags.carrier === carrier && p.tags.commune === commune);
    let failed = 0;
    let lossSum = 0;
    const rtts: number[] = [];
    const hours = new Map<number, { n: number; failed: number; bad: number }>();
    const byHourOfDay = Array.from({ length: 24 }, () => ({ sum: 0, n: 0 }));
    for (const p of mine) {
      const loss = p.fields.loss as number;
      const rtt = p.fields.rtt_median as number | null;
      const isFail = p.fields.received === 0;
      const isSlow = !isFail && (loss >= 10 || (rtt !== null && rtt > 150));
      if (isFail) failed++;
      else rtts.push(rtt!);
      lossSum += loss;
      const hk = Math.floor(p.ts / H);
      const h = hours.get(hk) ?? { n: 0, failed: 0, bad: 0 };
      h.n++;
      if (isFail) h.failed++;
      if (isFail || isSlow) h.bad++;
      hours.set(hk, h);
      const d = byHourOfDay[localHourOf(p.ts)]!;
      d.sum += loss;
      d.n++;
    }
    rtts.sort((a, b) => a - b);
    const hs = [...hours.values()];
    const hoursDown = hs.filter((h) => h.failed * 2 > h.n).length;
    const hoursDegraded = hs.filter((h) => !(h.failed * 2 > h.n) && h.bad * 2 > h.n).length;
    const availabilityPct = ((mine.length - failed) / mine.length) * 100;
    const lossPct = lossSum / mine.length;
    const rttP95Ms = nearestRank(rtts, 0.95);
    const worstHours = byHourOfDay
      .map((d, hour) => ({ hour, loss: d.n ? d.sum / d.n : 0 }))
      .filter((d) => d.loss > 0)
      .sort((a, b) => b.loss - a.loss || a.hour - b.hour)
      .slice(0, 3)
      .map((d) => d.hour);
    const rules = [
      ...(availabilityPct < DEAD.minAvailabilityPct ? ['khả dụng'] : []),
      ...(lossPct >= DEAD.maxLossPct ? ['mất gói'] : []),
      ...(rttP95Ms > DEAD.maxRttP95Ms ? ['RTT p95'] : []),
    ];
    rows.push({ commune, availabilityPct, lossPct, rttMedianMs: nearestRank(rtts, 0.5), rttP95Ms, hoursDegraded, hoursDown, worstHours, deadZone: rules.length > 0, rules });
  }
  return rows.sort(
    (a, b) => Number(b.deadZone) - Number(a.deadZone) || a.availabilityPct - b.availabilityPct || b.lossPct - a.lossPct || a.commune.localeCompare(b.commune),
  );
}

/** Carrier incidents per commune, counted by hand from the incident list (maintenance I4 is listed, not counted). */
const CARRIER_INCIDENTS: Record<string, { list: string[]; perCommune: Record<string, number> }> = {
  vnpt: { list: ['I2', 'I4', 'I9', 'I7'], perCommune: { '21034': 0, '21040': 1, '21061': 0, '21085': 1, '21100': 1, '21109': 0 } },
  viettel: { list: ['I6', 'I1'], perCommune: { '21034': 1, '21040': 1, '21061': 1, '21085': 0, '21100': 0, '21109': 1 } },
};

function checkCarrier(r: CarrierReport, points: Point[], carrier: string): void {
  expect(r.kind).toBe('carrier');
  expect(r.carrier).toEqual({ id: carrier, name: carrier === 'vnpt' ? 'VNPT' : 'Viettel' });
  expect(r.period).toEqual(OCT);
  expect(r.definition).toEqual(DEAD);
  expect(r.province).toEqual({ code: '51', name: 'Quảng Ngãi' });
  const want = expectedCarrierRows(points, carrier);
  expect(r.rows.map((x) => x.commune)).toEqual(want.map((x) => x.commune));
  r.rows.forEach((got, i) => {
    const w = want[i]!;
    const where = `${carrier} ${w.commune}`;
    expect(got.name, where).toBe(province.communes.find((c) => c.code === w.commune)!.fullName);
    expect(got.availabilityPct, where).toBeCloseTo(w.availabilityPct, 9);
    expect(got.lossPct, where).toBeCloseTo(w.lossPct, 9);
    for (const [key, exact] of [['rttMedianMs', w.rttMedianMs], ['rttP95Ms', w.rttP95Ms]] as const) {
      const v = got[key];
      expect(v, `${where} ${key}`).not.toBeNull();
      expect(Math.abs(Math.log(v! / exact)), `${where} ${key}: ${v} vs exact ${exact}`).toBeLessThanOrEqual(Math.log(HIST_BIN_RATIO) + 1e-9);
    }
    expect(got.hoursDown, where).toBe(w.hoursDown);
    expect(got.hoursDegraded, where).toBe(w.hoursDegraded);
    expect(got.worstHours, where).toEqual(w.worstHours);
    expect(got.incidents, where).toBe(CARRIER_INCIDENTS[carrier]!.perCommune[w.commune]);
    expect(got.deadZone, where).toBe(w.deadZone);
    if (!w.deadZone) expect(got.why, where).toBeNull();
    else for (const rule of ['khả dụng', 'mất gói', 'RTT p95']) expect(got.why!.toLowerCase().includes(rule.toLowerCase()), `${where} why "${got.why}" / ${rule}`).toBe(w.rules.includes(rule));
  });
  expect(r.incidents.map((i) => i.id)).toEqual(CARRIER_INCIDENTS[carrier]!.list);
  for (const ri of r.incidents) {
    const src = INCIDENTS[ri.id]!;
    const clipped = (Math.min(src.resolvedAt ?? NOW, OCT.to) - Math.max(src.openedAt, OCT.from)) / MIN;
    expect(ri).toEqual({
      id: src.id,
      cause: src.cause,
      subject: src.subject,
      openedAt: src.openedAt,
      resolvedAt: src.resolvedAt,
      durationMin: clipped,
      communes: src.communes,
      summary: src.evidence.summary,
      maintenance: src.maintenance,
    });
  }
}

/** The story the generator tells, checked literally too (guards the expectation code above). */
function checkStory(vnpt: CarrierReport, viettel: CarrierReport): void {
  const row = (r: CarrierReport, c: string) => r.rows.find((x) => x.commune === c)!;
  expect(row(vnpt, '21100').hoursDown).toBe(36);
  expect(row(vnpt, '21085').hoursDegraded).toBe(31 * 3 - 2); // the last evening is down from 20 h: only its 19 h is degraded
  expect(row(vnpt, '21085').hoursDown).toBe(4);
  expect(row(vnpt, '21085').worstHours).toEqual([20, 19, 21]); // 20 h: (30 x 45 + 100) / 31; 19 h: 25; 21 h: (30 x 15 + 100) / 31
  // 2 h down on the 1st (24 rounds x 2 targets) and every 4th data-centre round after it: (8928 - 24) / 4
  expect(row(viettel, '21109').availabilityPct).toBeCloseTo(((8928 * 2 - 48 - (8928 - 24) / 4) / (8928 * 2)) * 100, 9);
  expect(row(viettel, '21061').hoursDown).toBe(5); // 08-13 h; 13-14 h has no rounds (agent silent)
  expect(row(vnpt, '21040').hoursDown).toBe(3);
  expect(row(vnpt, '21034').hoursDown).toBe(2);
  expect([row(viettel, '21085').hoursDown, row(viettel, '21085').hoursDegraded]).toEqual([0, 1]);
  expect(vnpt.rows[0]!.commune).toBe('21100');
  expect(row(vnpt, '21061').deadZone).toBe(false);
}

// ---------- expected DOST figures, by hand ----------

const OCT_MIN = 31 * 24 * 60;
const SEP_MIN = 30 * 24 * 60;
const up = (span: number, maint: number, down: number) => ((span - maint - down) / (span - maint)) * 100;
type Want = Omit<OutageStats, 'uptimePct'> & { maint?: number };
const stats = (span: number, w: Want): OutageStats => ({
  uptimePct: up(span, w.maintenanceMin, w.downtimeMin),
  incidents: w.incidents,
  downtimeMin: w.downtimeMin,
  mttrMin: w.mttrMin,
  longestOutageMin: w.longestOutageMin,
  maintenanceMin: w.maintenanceMin,
  causes: w.causes,
});
const DOST_OCT: Record<string, OutageStats> = {
  // I1 360 + I3 150; I4 maintenance 120
  '21034': stats(OCT_MIN, { incidents: 2, downtimeMin: 510, mttrMin: 255, longestOutageMin: 360, maintenanceMin: 120, causes: { carrier: 1, service: 1 } }),
  // I1 360 + I3 150 + I9 02-04 h minus maintenance 01-03 h = 60; MTTR over full durations 360, 150, 120
  '21040': stats(OCT_MIN, { incidents: 3, downtimeMin: 570, mttrMin: 210, longestOutageMin: 360, maintenanceMin: 120, causes: { carrier: 1, service: 1, local_link: 1 } }),
  // I1 08-14 h and I5 13-16 h merge into 480; I3 150
  '21061': stats(OCT_MIN, { incidents: 3, downtimeMin: 630, mttrMin: 230, longestOutageMin: 480, maintenanceMin: 0, causes: { carrier: 1, service: 1, agent: 1 } }),
  // I3 150; I7 still open: 20-24 h on the 31st = 240, not in MTTR
  '21085': stats(OCT_MIN, { incidents: 2, downtimeMin: 390, mttrMin: 150, longestOutageMin: 240, maintenanceMin: 0, causes: { service: 1, local_link: 1 } }),
  // I2 36 h = 2160; I3 150
  '21100': stats(OCT_MIN, { incidents: 2, downtimeMin: 2310, mttrMin: 1155, longestOutageMin: 2160, maintenanceMin: 0, causes: { local_link: 1, service: 1 } }),
  // I6 cut by the month start: 00-02 h = 120 (MTTR: its full 360); I3 150
  '21109': stats(OCT_MIN, { incidents: 2, downtimeMin: 270, mttrMin: 255, longestOutageMin: 150, maintenanceMin: 0, causes: { local_link: 1, service: 1 } }),
};
const DOST_SEP: Record<string, OutageStats> = {
  '21034': stats(SEP_MIN, { incidents: 2, downtimeMin: 105, mttrMin: 52.5, longestOutageMin: 60, maintenanceMin: 0, causes: { service: 1, local_link: 1 } }),
  '21040': stats(SEP_MIN, { incidents: 1, downtimeMin: 45, mttrMin: 45, longestOutageMin: 45, maintenanceMin: 0, causes: { service: 1 } }),
  '21061': stats(SEP_MIN, { incidents: 1, downtimeMin: 45, mttrMin: 45, longestOutageMin: 45, maintenanceMin: 0, causes: { service: 1 } }),
  '21085': stats(SEP_MIN, { incidents: 1, downtimeMin: 45, mttrMin: 45, longestOutageMin: 45, maintenanceMin: 0, causes: { service: 1 } }),
  '21100': stats(SEP_MIN, { incidents: 1, downtimeMin: 45, mttrMin: 45, longestOutageMin: 45, maintenanceMin: 0, causes: { service: 1 } }),
  // I6 20-24 h on the 30th = 240, resolved in October: not in September's MTTR
  '21109': stats(SEP_MIN, { incidents: 2, downtimeMin: 285, mttrMin: 45, longestOutageMin: 240, maintenanceMin: 0, causes: { local_link: 1, service: 1 } }),
};
/** Which green rules each commune misses (uptime >= 99 %, longest <= 240 min, <= 2 incidents). */
const NOT_GREEN: Record<string, string[]> = {
  '21034': ['thời gian hoạt động', 'sự cố dài nhất'],
  '21040': ['thời gian hoạt động', 'sự cố dài nhất', 'sự cố >'],
  '21061': ['thời gian hoạt động', 'sự cố dài nhất', 'sự cố >'],
  '21100': ['thời gian hoạt động', 'sự cố dài nhất'],
};
const UNMONITORED: OutageStats = { uptimePct: null, incidents: 0, downtimeMin: 0, mttrMin: null, longestOutageMin: 0, maintenanceMin: 0, causes: {} };
const pick = (o: OutageStats): OutageStats => ({
  uptimePct: o.uptimePct,
  incidents: o.incidents,
  downtimeMin: o.downtimeMin,
  mttrMin: o.mttrMin,
  longestOutageMin: o.longestOutageMin,
  maintenanceMin: o.maintenanceMin,
  causes: o.causes,
});

function closeStats(got: OutageStats, want: OutageStats, where: string): void {
  expect({ ...pick(got), uptimePct: null, mttrMin: null }, where).toEqual({ ...want, uptimePct: null, mttrMin: null });
  for (const k of ['uptimePct', 'mttrMin'] as const) {
    if (want[k] === null) expect(got[k], `${where} ${k}`).toBeNull();
    else expect(got[k], `${where} ${k}`).toBeCloseTo(want[k]!, 9);
  }
}

function checkDost(r: DostReport): void {
  expect(r.period).toEqual(OCT);
  expect(r.previousPeriod).toEqual(SEP);
  expect(r.green).toEqual(GREEN);
  expect(r.scope).toEqual({});
  expect(r.communes.map((c) => c.commune)).toEqual(province.communes.map((c) => c.code));
  for (const row of r.communes) {
    const want = DOST_OCT[row.commune];
    if (!want) {
      closeStats(row, UNMONITORED, row.commune);
      expect(row.green).toBe(false);
      expect(row.reason).toMatch(/giám sát/);
      continue;
    }
    closeStats(row, want, row.commune);
    closeStats(row.previous!, DOST_SEP[row.commune]!, `${row.commune} previous`);
    expect(row.deltaUptimePct).toBeCloseTo(want.uptimePct! - DOST_SEP[row.commune]!.uptimePct!, 9);
    const missed = NOT_GREEN[row.commune];
    expect(row.green, row.commune).toBe(!missed);
    if (!missed) expect(row.reason).toBeNull();
    else for (const rule of ['thời gian hoạt động', 'sự cố dài nhất', 'sự cố >']) expect(row.reason!.toLowerCase().includes(rule), `${row.commune}: "${row.reason}" / ${rule}`).toBe(missed.includes(rule));
  }
  // services: the data centre ping had no service incident; the portal I3 (Sep: I8a)
  expect(r.services.map((s) => s.target)).toEqual(['ttdl', 'dvc']);
  closeStats(r.services[0]!, { uptimePct: 100, incidents: 0, downtimeMin: 0, mttrMin: null, longestOutageMin: 0, maintenanceMin: 0, causes: {} }, 'ttdl');
  closeStats(r.services[1]!, stats(OCT_MIN, { incidents: 1, downtimeMin: 150, mttrMin: 150, longestOutageMin: 150, maintenanceMin: 0, causes: { service: 1 } }), 'dvc');
  closeStats(r.services[1]!.previous!, stats(SEP_MIN, { incidents: 1, downtimeMin: 45, mttrMin: 45, longestOutageMin: 45, maintenanceMin: 0, causes: { service: 1 } }), 'dvc prev');
  expect(r.services[1]!.name).toBe('Cổng Dịch vụ công quốc gia');
  expect(r.incidents.map((i) => i.id)).toEqual(['I6', 'I1', 'I5', 'I3', 'I2', 'I4', 'I9', 'I7']);
  expect(r.incidents.find((i) => i.id === 'I6')!.durationMin).toBe(120);
  expect(r.incidents.find((i) => i.id === 'I7')!.durationMin).toBe(240);
  expect(r.summary).toEqual({ communes: 96, green: 2, notGreen: 94, incidents: 7, downtimeMin: 510 + 570 + 630 + 390 + 2310 + 270 });
}

const POINTS = generate();

/** Figures to compare between builds (rounding off float summation order). */
function figures(r: CarrierReport | DostReport): unknown {
  return JSON.parse(JSON.stringify({ ...r, generatedAt: 0 }), (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v));
}

describeStores('report data on known data', 'reports', (h) => {
  let store: Store;
  beforeAll(async () => {
    // No rawRetentionDays: the month is older than 30 days, an InfluxDB retention policy would refuse it.
    store = await h.open();
    await store.write(POINTS);
    for (const i of Object.values(INCIDENTS)) await store.writeIncident(i);
  }, 300_000);

  const carrierReport = (carrier: string, ensureRollups: boolean) => buildCarrierReport(store, dir, carrier, OCT, DEAD, NOW, { ensureRollups });
  const built: Record<string, unknown[]> = { vnpt: [], viettel: [] };
  /** each carrier's report has the figures first built from raw data (and, with `check`, still matches the points) */
  async function sameFigures(ensureRollups: boolean, check: boolean) {
    for (const carrier of ['vnpt', 'viettel']) {
      const rep = await carrierReport(carrier, ensureRollups);
      if (check) checkCarrier(rep, POINTS, carrier);
      expect(figures(rep)).toEqual(built[carrier]![0]);
    }
  }

  it('writes the whole month (sanity: the generator made what the header says)', async () => {
    expect(POINTS.length).toBe(6 * 2 * 3 * 8928 - 2 * 3 * 36);
    expect(await store.queryRaw({ measurement: 'http', from: OCT.from, to: OCT.from + H })).toHaveLength(6 * 2 * 12);
  });

  it('carrier reports from raw data only match the figures computed from the points', async () => {
    expect(await store.rollupCoverage(OCT.from, OCT.to)).toEqual([]);
    const vnpt = await carrierReport('vnpt', false);
    const viettel = await carrierReport('viettel', false);
    checkCarrier(vnpt, POINTS, 'vnpt');
    checkCarrier(viettel, POINTS, 'viettel');
    checkStory(vnpt, viettel);
    built.vnpt!.push(figures(vnpt));
    built.viettel!.push(figures(viettel));
  }, 120_000);

  it('half rolled up, half raw (boundary at 13:00 on the 16th): the same figures', async () => {
    const mid = vn(2026, 10, 16, 13);
    const classify = roundClassifier(dir);
    const r = await runRollup(store, classify, { from: OCT.from, to: mid, now: NOW, maxPoints: 20_000 });
    expect(r.hours).toBe((mid - OCT.from) / H);
    expect(r.chunks).toBeGreaterThan(1);
    const cov = await store.rollupCoverage(OCT.from, OCT.to);
    expect(cov.length).toBe((mid - OCT.from) / H);
    expect(cov[cov.length - 1]).toBe(mid - H);
    await sameFigures(false, true);
  }, 120_000);

  it('all rolled up (on demand by the report), then raw pruned: the same figures', async () => {
    await sameFigures(true, false);
    expect((await store.rollupCoverage(OCT.from, OCT.to)).length).toBe(31 * 24);
    await store.pruneRaw(OCT.to);
    expect(await store.queryRaw({ measurement: 'icmp', from: OCT.from, to: OCT.to, limit: 1 })).toEqual([]);
    await sameFigures(true, true);
  }, 120_000);

  it('DOST report: every commune and service, previous period, green bar, summary', async () => {
    const r = await buildDostReport(store, dir, OCT, SEP, GREEN, {}, NOW);
    checkDost(r);
  });

  it('DOST report for one commune and for one service', async () => {
    const one = await buildDostReport(store, dir, OCT, SEP, GREEN, { commune: '21040' }, NOW);
    expect(one.scope).toEqual({ commune: '21040' });
    expect(one.communes).toHaveLength(1);
    closeStats(one.communes[0]!, DOST_OCT['21040']!, '21040');
    // services seen from 21040: the portal incident lists it
    expect(one.services.map((s) => [s.target, s.incidents, s.downtimeMin])).toEqual([['ttdl', 0, 0], ['dvc', 1, 150]]);
    expect(one.incidents.map((i) => i.id)).toEqual(['I1', 'I3', 'I4', 'I9']);
    expect(one.summary).toEqual({ communes: 1, green: 0, notGreen: 1, incidents: 3, downtimeMin: 570 });

    const svc = await buildDostReport(store, dir, OCT, SEP, GREEN, { target: 'dvc' }, NOW);
    expect(svc.services.map((s) => s.target)).toEqual(['dvc']);
    for (const c of svc.communes.filter((x) => COMMUNES.includes(x.commune as never))) {
      closeStats(c, stats(OCT_MIN, { incidents: 1, downtimeMin: 150, mttrMin: 150, longestOutageMin: 150, maintenanceMin: 0, causes: { service: 1 } }), `dvc ${c.commune}`);
      expect(c.green).toBe(true);
    }
    expect(svc.summary.green).toBe(6);
    await expect(buildDostReport(store, dir, OCT, SEP, GREEN, { commune: '99999' }, NOW)).rejects.toThrow(/unknown commune/);
  });

  it('a period still running is observed up to now; an open incident counts until now', async () => {
    const now = vn(2026, 10, 31, 22); // I7 open for 2 h
    const r = await buildDostReport(store, dir, OCT, SEP, GREEN, { commune: '21085' }, now);
    const span = OCT_MIN - 2 * 60;
    closeStats(r.communes[0]!, stats(span, { incidents: 2, downtimeMin: 150 + 120, mttrMin: 150, longestOutageMin: 150, maintenanceMin: 0, causes: { service: 1, local_link: 1 } }), '21085 running');
  });
});
