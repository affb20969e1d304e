// Reports keep the TSLCD lines apart, on known data in a real DuckDB store: one day, rounds every 5 minutes, three
// communes each with a TSLCD line (VNPT) and an Internet line (VNPT in the first, Viettel in the others).
// Known faults: the first commune's TSLCD line answers nothing 08:00-14:00 (its Internet works); the TSLCD network
// fails in two communes 09:00-11:00 (one network-wide incident). Expected figures are counted by hand from these.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { buildDirectory } from '../../server/directory.ts';
import { province, LINK_TARGETS, TWO_CARRIERS, TEST_HASH as HASH } from '../reports/fixtures.ts';
import { buildCarrierReport } from '../../server/reports/data/carrier.ts';
import { buildDostReport } from '../../server/reports/data/dost.ts';
import type { CarrierCommuneRow, Period } from '../../server/reports/model.ts';
import { layout } from '../../server/reports/render/document.ts';
import type { Point, Store, Tags } from '../../server/stores/types.ts';
import { incident, storeHarness } from '../helpers/stores.ts';

const H = 3_600_000;
const vn = (y: number, mo: number, d: number, h = 0) => Date.UTC(y, mo - 1, d, h) - 7 * H;
const DAY: Period = { from: vn(2026, 10, 1), to: vn(2026, 10, 2), label: 'Ngày 01/10/2026' };
const PREV: Period = { from: vn(2026, 9, 30), to: vn(2026, 10, 1), label: 'Ngày 30/09/2026' };
const NOW = vn(2026, 10, 3);
const [C1, C2, C3] = ['21034', '21040', '21061'] as const;
const INTERNET: Record<string, string> = { [C1]: 'vnpt', [C2]: 'viettel', [C3]: 'viettel' };

const config = configSchema.parse({
  province: { code: '51' },
  carriers: TWO_CARRIERS,
  targets: [
    ...LINK_TARGETS,
  ],
  agents: [C1, C2, C3].map((c) => ({
    id: `ag-${c}`,
    commune: c,
    tokenHash: HASH,
    uplinks: [
      { name: 'tslcd', carrier: 'vnpt', gateway: '10.0.0.1', network: 'tslcd' },
      { name: 'ftth', carrier: INTERNET[c], gateway: '192.0.2.1' },
    ],
  })),
});
const dir = buildDirectory(config, province);

const TSLCD_CUT = { commune: C1, from: vn(2026, 10, 1, 8), to: vn(2026, 10, 1, 14) };
const NETWORK_DOWN = { communes: [C1, C2] as string[], from: vn(2026, 10, 1, 9), to: vn(2026, 10, 1, 11) };
const inside = (ts: number, w: { from: number; to: number }) => ts >= w.from && ts < w.to;

function points(): Point[] {
  const out: Point[] = [];
  for (const commune of [C1, C2, C3])
    for (const [uplink, carrier] of [['tslcd', 'vnpt'], ['ftth', INTERNET[commune]!]] as const)
      for (let ts = DAY.from; ts < DAY.to; ts += 5 * 60_000) {
        const down =
          uplink === 'tslcd' && ((commune === TSLCD_CUT.commune && inside(ts, TSLCD_CUT)) || (NETWORK_DOWN.communes.includes(commune) && inside(ts, NETWORK_DOWN)));
        for (const target of ['gateway', 'ttdl']) {
          const tags: Tags = { province: '51', commune, carrier, agent: `ag-${commune}`, target, uplink };
          const rtt = down ? null : uplink === 'tslcd' ? 8 : 20;
          out.push({
            measurement: 'icmp',
            ts,
            tags,
            fields: { sent: 10, received: down ? 0 : 10, loss: down ? 100 : 0, rtt_min: rtt, rtt_median: rtt, rtt_avg: rtt, rtt_max: rtt, jitter: down ? null : 0.2, error: down ? 'timeout' : null, backfilled: false },
          });
        }
      }
  return out;
}

const INCIDENTS = [
  incident({ id: 'net', cause: 'carrier', subject: 'tslcd', carrier: 'vnpt', communes: NETWORK_DOWN.communes, openedAt: NETWORK_DOWN.from, resolvedAt: NETWORK_DOWN.to }),
  { ...incident({ id: 'line', cause: 'local_link', subject: C1, carrier: 'vnpt', communes: [C1], openedAt: TSLCD_CUT.from, resolvedAt: TSLCD_CUT.to, severity: 'degraded' }), evidence: { items: [], figures: { network: 'tslcd', internetOk: 1 } } },
  incident({ id: 'ftth', cause: 'local_link', subject: C1, carrier: 'vnpt', communes: [C1], openedAt: vn(2026, 10, 1, 20), resolvedAt: vn(2026, 10, 1, 21) }),
];

const brief = (rows: CarrierCommuneRow[] | undefined) =>
  rows?.map((r) => ({ commune: r.commune, availabilityPct: r.availabilityPct, hoursDown: r.hoursDown, incidents: r.incidents, deadZone: r.deadZone }));
const DEAD = { minAvailabilityPct: 99, maxLossPct: 2, maxRttP95Ms: 150 };

describe('reports keep the TSLCD lines apart (DuckDB, known data)', () => {
  const h = storeHarness('duckdb', 'tslcd');
  let store: Store;
  beforeAll(async () => {
    await h.setup();
    store = await h.open();
    await store.write(points());
    for (const i of INCIDENTS) await store.writeIncident(i);
  }, 120_000);
  afterAll(() => h.teardown());

  // C1's TSLCD line: 6 h cut (08-14, which holds the network outage 09-11): 18 of 24 hours, 75 %; C2's: 2 h, 22/24.
  const VNPT_TSLCD = [
    { commune: C1, availabilityPct: 75, hoursDown: 6, incidents: 2, deadZone: true },
    { commune: C2, availabilityPct: (22 / 24) * 100, hoursDown: 2, incidents: 1, deadZone: true },
    { commune: C3, availabilityPct: 100, hoursDown: 0, incidents: 0, deadZone: false },
  ];

  for (const ensureRollups of [false, true])
    it(`the VNPT report: its Internet line in C1 at 100 %, its TSLCD lines apart (${ensureRollups ? 'rolled up' : 'raw'})`, async () => {
      const r = await buildCarrierReport(store, dir, 'vnpt', DAY, DEAD, NOW, { ensureRollups });
      // pooled with the TSLCD line C1 would read 87.5 %: the Internet row is its Internet line alone
      expect(brief(r.rows)).toEqual([{ commune: C1, availabilityPct: 100, hoursDown: 0, incidents: 1, deadZone: false }]);
      expect(brief(r.tslcdRows)).toEqual(VNPT_TSLCD);
      expect(r.rows[0]!.rttMedianMs).toBeCloseTo(20, 0);
      expect(r.tslcdRows![2]!.rttMedianMs).toBeCloseTo(8, 0);
      const doc = layout(r, { province });
      const t = doc.tables.find((x) => x.sheet === 'TSLCD')!;
      expect(t.title).toBe('Đường truyền số liệu chuyên dùng (TSLCD) của VNPT, theo mức độ (tệ nhất trước)');
      expect(t.rows.map((row) => row[1])).toEqual([C1, C2, C3]);
      expect(doc.summary).toContainEqual(['Số xã/phường có đường TSLCD dưới ngưỡng', '2']);
    });

  it('a carrier without TSLCD lines: no TSLCD table, figures as before', async () => {
    const r = await buildCarrierReport(store, dir, 'viettel', DAY, DEAD, NOW, { ensureRollups: true });
    expect(brief(r.rows)).toEqual([
      { commune: C2, availabilityPct: 100, hoursDown: 0, incidents: 0, deadZone: false },
      { commune: C3, availabilityPct: 100, hoursDown: 0, incidents: 0, deadZone: false },
    ]);
    expect(r.tslcdRows).toBeUndefined();
    expect(layout(r, { province }).tables.some((x) => x.sheet === 'TSLCD')).toBe(false);
  });

  it('the DOST report: the TSLCD network\'s availability as its own line', async () => {
    const r = await buildDostReport(store, dir, DAY, PREV, { minUptimePct: 99, maxOutageMin: 240, maxIncidents: 2 }, {}, NOW);
    expect(r.networks).toHaveLength(1);
    const n = r.networks![0]!;
    expect({ network: n.network, name: n.name, uptimePct: n.uptimePct, incidents: n.incidents, downtimeMin: n.downtimeMin, lineIncidents: n.lineIncidents }).toEqual({
      network: 'tslcd',
      name: 'Mạng truyền số liệu chuyên dùng (TSLCD)',
      uptimePct: (22 / 24) * 100,
      incidents: 1,
      downtimeMin: 120,
      lineIncidents: 1,
    });
    const doc = layout(r, { province });
    expect(doc.tables.find((x) => x.sheet === 'TSLCD')!.rows[0]![0]).toBe('Mạng truyền số liệu chuyên dùng (TSLCD)');
    expect(doc.summary.find(([k]) => k.startsWith('Khả dụng mạng truyền số liệu'))).toBeDefined();
    // a report for one service has no network line
    expect((await buildDostReport(store, dir, DAY, PREV, { minUptimePct: 99, maxOutageMin: 240, maxIncidents: 2 }, { target: 'ttdl' }, NOW)).networks).toBeUndefined();
  });
});
