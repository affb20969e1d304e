// The carrier report's QCVN 34 section (server/reports/data/qcvn.ts) against KNOWN DATA written through the store,
// on both stores: a week of ICMP rounds and speed tests over four lines. Expected shares and means are computed here
// from the generated points with plain loops, never with the code under test; the section is built from raw data
// and again once rolled up, and must not move. Then the section as every format shows it.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import JSZip from 'jszip';
import { beforeAll, expect, it } from 'vitest';
import { DEFAULT_QCVN, configSchema, reportsSchema, type ProvinceFile } from '../../config/schema.ts';
import { buildDirectory } from '../../server/directory.ts';
import { buildCarrierReport } from '../../server/reports/data/carrier.ts';
import type { CarrierReport, DeadZoneDefinition, Period, QcvnThresholds } from '../../server/reports/model.ts';
import { csvText } from '../../server/reports/render/csv.ts';
import { layout } from '../../server/reports/render/document.ts';
import { renderReport } from '../../server/reports/render/index.ts';
import type { Point, Store, Tags } from '../../server/stores/types.ts';
import { describeStores } from '../helpers/stores.ts';
import { LINK_TARGETS, TWO_CARRIERS, TEST_HASH as HASH } from './fixtures.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const H = 3_600_000;
const vn = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi) - 7 * H;
const WEEK: Period = { from: vn(2026, 10, 5), to: vn(2026, 10, 12), label: 'Tuần 41/2026 (05/10–11/10/2026)' };
const NOW = vn(2026, 10, 20, 9);
const DEAD: DeadZoneDefinition = { minAvailabilityPct: 99, maxLossPct: 2, maxRttP95Ms: 150 };

const province = JSON.parse(readFileSync(join(ROOT, 'config/provinces/51.json'), 'utf8')) as ProvinceFile;

/** The lines: two VNPT lines with a contract, one Viettel line with a contract, one VNPT line without. */
const LINES = [
  { agent: 'ag-a', commune: '21034', uplink: 'wan0', carrier: 'vnpt', contract: { down: 100, up: 50 }, baseRtt: 18, failEvery: 97 },
  { agent: 'ag-a', commune: '21034', uplink: 'wan1', carrier: 'viettel', contract: { down: 80, up: 40 }, baseRtt: 25, failEvery: 0 },
  // a single-uplink agent: some of its rounds carry no uplink tag
  { agent: 'ag-b', commune: '21040', uplink: 'fiber', carrier: 'vnpt', contract: { down: 50, up: 20 }, baseRtt: 41, failEvery: 31 },
  { agent: 'ag-c', commune: '21061', uplink: 'wan0', carrier: 'vnpt', contract: null, baseRtt: 30, failEvery: 0 },
] as const;

const config = configSchema.parse({
  province: { code: '51' },
  carriers: TWO_CARRIERS,
  targets: [
    ...LINK_TARGETS,
    { id: 'speed', name: 'Đo tốc độ', kind: 'throughput' },
  ],
  agents: ['ag-a', 'ag-b', 'ag-c'].map((id) => ({
    id,
    commune: LINES.find((l) => l.agent === id)!.commune,
    tokenHash: HASH,
    uplinks: LINES.filter((l) => l.agent === id).map((l) => ({ name: l.uplink, carrier: l.carrier, gateway: '192.0.2.1', ...(l.contract ? { contractedMbps: l.contract } : {}) })),
  })),
});
const dir = buildDirectory(config, province);

const ROUND = 15 * 60_000;
/** A week of rounds every 15 min per line and ICMP target; speed tests 4 a day, some failed; a few points outside. */
function generate(): Point[] {
  const out: Point[] = [];
  for (const [li, l] of LINES.entries()) {
    const tags = (target: string, i: number): Tags => ({
      province: '51',
      commune: l.commune,
      carrier: l.carrier,
      agent: l.agent,
      target,
      uplink: l.agent === 'ag-b' && i % 3 === 0 ? '' : l.uplink,
    });
    let i = 0;
    for (let ts = WEEK.from - 2 * H; ts < WEEK.to + 2 * H; ts += ROUND, i++) {
      const failed = l.failEvery > 0 && i % l.failEvery === 0;
      out.push(icmp(ts, tags('gateway', i), failed ? null : 1.5));
      out.push(icmp(ts, tags('ttdl', i), failed ? null : l.baseRtt + (i % 7) * 6.5));
    }
    // speed tests at 01:10, 03:40, 22:15, 23:50 local, each day of the week and the day around it
    i = 0;
    for (let day = vn(2026, 10, 4); day < vn(2026, 10, 13); day += 24 * H)
      for (const at of [1 * H + 10 * 60_000, 3 * H + 40 * 60_000, 22 * H + 15 * 60_000, 23 * H + 50 * 60_000]) {
        const ts = day + at;
        const k = i++ + li;
        // share of the contracted speed: 0.62 .. 1.05, and a busy link aborts one test in 6
        const f = 0.62 + ((k * 7) % 11) * 0.043;
        const aborted = k % 6 === 5;
        out.push({
          measurement: 'throughput',
          ts,
          tags: tags('speed', k),
          fields: aborted
            ? { ok: false, down_mbps: null, up_mbps: null, loaded_rtt_ms: null, idle_rtt_ms: null, duration_ms: 800, bytes: 0, error: 'busy', backfilled: false }
            : {
                ok: true,
                down_mbps: (l.contract?.down ?? 60) * f,
                up_mbps: (l.contract?.up ?? 30) * (1.25 - f / 2),
                loaded_rtt_ms: 80,
                idle_rtt_ms: 20,
                duration_ms: 20_000,
                bytes: 1_000_000,
                error: null,
                backfilled: false,
              },
        });
      }
  }
  return out;
}

function icmp(ts: number, tags: Tags, rtt: number | null): Point {
  const received = rtt === null ? 0 : 10;
  return {
    measurement: 'icmp',
    ts,
    tags,
    fields: { sent: 10, received, loss: rtt === null ? 100 : 0, rtt_min: rtt, rtt_median: rtt, rtt_avg: rtt, rtt_max: rtt, jitter: rtt === null ? null : 0.2, error: rtt === null ? 'timeout' : null, backfilled: false },
  };
}

const POINTS = generate();

/** The expected figures of one line (or of the carrier's contracted lines together), with plain loops. */
function expected(carrier: string, t: QcvnThresholds, only?: (typeof LINES)[number]) {
  const lines = LINES.filter((l) => l.carrier === carrier && l.contract && (!only || l === only));
  const mine = (p: Point) => {
    if (p.ts < WEEK.from || p.ts >= WEEK.to) return undefined;
    return lines.find((l) => l.agent === p.tags.agent && l.carrier === p.tags.carrier && (p.tags.uplink === l.uplink || p.tags.uplink === ''));
  };
  let tests = 0;
  let ok = 0;
  let downOk = 0;
  let upOk = 0;
  let downSum = 0;
  let upSum = 0;
  let rounds = 0;
  let failed = 0;
  let rttSum = 0;
  let rttN = 0;
  for (const p of POINTS) {
    const l = mine(p);
    if (!l) continue;
    if (p.measurement === 'throughput') {
      tests++;
      if (p.fields.ok !== true) continue;
      ok++;
      const down = p.fields.down_mbps as number;
      const up = p.fields.up_mbps as number;
      downSum += down;
      upSum += up;
      if (down >= t.minSpeedRatio * l.contract!.down) downOk++;
      if (up >= t.minSpeedRatio * l.contract!.up) upOk++;
    } else if (p.measurement === 'icmp') {
      rounds++;
      if (p.fields.received === 0) failed++;
      else if (p.tags.target === 'ttdl') {
        rttSum += p.fields.rtt_median as number;
        rttN++;
      }
    }
  }
  return {
    tests,
    okTests: ok,
    downOkPct: (downOk / ok) * 100,
    upOkPct: (upOk / ok) * 100,
    meanDownMbps: only ? downSum / ok : null,
    meanUpMbps: only ? upSum / ok : null,
    latencyMs: rttSum / rttN,
    availabilityPct: ((rounds - failed) / rounds) * 100,
  };
}

const close = (got: Record<string, unknown>, want: Record<string, number | null>) => {
  for (const [k, v] of Object.entries(want)) {
    if (v === null) expect(got[k], k).toBeNull();
    else expect(got[k] as number, k).toBeCloseTo(v, 6);
  }
};

describeStores('QCVN 34 section of the carrier report', 'qcvn', (h) => {
  let store: Store;
  let raw: CarrierReport;
  let rolled: CarrierReport;
  const T: QcvnThresholds = reportsSchema.parse({}).qcvn;

  beforeAll(async () => {
    store = await h.open();
    for (let i = 0; i < POINTS.length; i += 5000) await store.write(POINTS.slice(i, i + 5000));
    raw = await buildCarrierReport(store, dir, 'vnpt', WEEK, DEAD, NOW, { ensureRollups: false, qcvn: T });
    rolled = await buildCarrierReport(store, dir, 'vnpt', WEEK, DEAD, NOW, { qcvn: T });
  }, 120_000);

  it('the thresholds default to the figures of REFERENCES (configurable), the standard cited as QCVN 34:2022/BTTTT', () => {
    expect(T).toEqual({ standard: 'QCVN 34:2022/BTTTT', minSpeedRatio: 0.8, maxLatencyMs: 50, minAvailabilityPct: 99.5 });
    expect(T).toEqual(DEFAULT_QCVN);
    expect(raw.qcvn!.thresholds).toEqual(T);
  });

  it('one row per line of the carrier with a contracted speed; shares, means, latency and availability as computed here', () => {
    const q = raw.qcvn!;
    expect(q.rows.map((r) => [r.commune, r.agent, r.uplink, r.contractedMbps])).toEqual([
      ['21034', 'ag-a', 'wan0', { down: 100, up: 50 }],
      ['21040', 'ag-b', 'fiber', { down: 50, up: 20 }],
    ]);
    for (const row of q.rows) {
      const line = LINES.find((l) => l.agent === row.agent && l.uplink === row.uplink)!;
      const want = expected('vnpt', T, line);
      expect(row.tests).toBe(want.tests);
      expect(row.okTests).toBe(want.okTests);
      close(row as unknown as Record<string, unknown>, want);
    }
    // the week has 28 tests per line, one in 6 aborted (counted, not judged)
    expect(q.rows[0]!.tests).toBe(28);
    expect(q.rows[0]!.okTests).toBeLessThan(28);
    // totals pool the lines; no mean speed across different contracts
    const all = expected('vnpt', T);
    expect(q.total.tests).toBe(all.tests);
    close(q.total as unknown as Record<string, unknown>, all);
  });

  it('the lines below the standard say which figure, in words', () => {
    const [a, b] = raw.qcvn!.rows;
    // ag-a wan0: latency 18 + 0..39 ms, mean 37.5 ms; 1 round in 97 failed: availability below 99.5 %
    expect(a!.latencyMs!).toBeLessThan(50);
    expect(a!.availabilityPct!).toBeLessThan(99.5);
    expect(a!.unmet).toMatch(/^Khả dụng 98,\d+% < 99,5%$/);
    // ag-b: latency 41 + 0..39 ms: mean above 50 ms; 1 round in 31 failed
    expect(b!.unmet).toMatch(/^Độ trễ trung bình 6\d(,\d)? ms > 50 ms; /);
    expect(b!.unmet).toMatch(/khả dụng 96,\d+% < 99,5%/);
    // mean speeds: 0.62..1.05 of the contract on average above 80 % down
    expect(a!.meanDownMbps!).toBeGreaterThan(80);
    expect(a!.unmet).not.toMatch(/tải xuống/);
  });

  it('the same figures once the period is rolled up', () => {
    expect(rolled.qcvn).toEqual(raw.qcvn);
  });

  it('thresholds are configurable: a stricter bar changes the shares and the verdicts', async () => {
    const strict: QcvnThresholds = { standard: 'QCVN 34:2022/BTTTT', minSpeedRatio: 0.95, maxLatencyMs: 40, minAvailabilityPct: 98 };
    const r = await buildCarrierReport(store, dir, 'vnpt', WEEK, DEAD, NOW, { qcvn: strict });
    const [a] = r.qcvn!.rows;
    close(a as unknown as Record<string, unknown>, expected('vnpt', strict, LINES[0]));
    expect(a!.downOkPct!).toBeLessThan(raw.qcvn!.rows[0]!.downOkPct!);
    expect(a!.unmet).toMatch(/^Tải xuống trung bình [\d,]+ Mbit\/s < 95% × 100 Mbit\/s/);
    expect(a!.unmet).not.toMatch(/khả dụng/);
  });

  it('a carrier with a contracted line of its own gets its section; none without contracts', async () => {
    const v = await buildCarrierReport(store, dir, 'viettel', WEEK, DEAD, NOW, { qcvn: T });
    expect(v.qcvn!.rows.map((r) => r.uplink)).toEqual(['wan1']);
    close(v.qcvn!.rows[0] as unknown as Record<string, unknown>, expected('viettel', T, LINES[1]));
    const bare = buildDirectory({ ...config, agents: config.agents.map((a) => ({ ...a, uplinks: a.uplinks.map(({ contractedMbps: _, ...u }) => u) })) }, province);
    expect((await buildCarrierReport(store, bare, 'vnpt', WEEK, DEAD, NOW, { ensureRollups: false })).qcvn).toBeUndefined();
  });

  it('every format shows the section: its table, the thresholds and that they are not confirmed against the text', async () => {
    const doc = layout(raw, { province });
    const t = doc.tables.find((x) => x.sheet === 'QCVN 34')!;
    expect(t.title).toBe('Chất lượng đường truyền theo QCVN 34:2022/BTTTT (ngưỡng chưa đối chiếu với văn bản gốc)');
    expect(t.rows).toHaveLength(3);
    const q = raw.qcvn!;
    expect(t.rows[0]!.slice(0, 9)).toEqual(['21034', q.rows[0]!.name, 'ag-a', 'wan0', '100/50', q.rows[0]!.tests, q.rows[0]!.okTests, q.rows[0]!.downOkPct, q.rows[0]!.upOkPct]);
    expect(t.rows[2]!.slice(0, 2)).toEqual([null, 'Toàn nhà mạng']);
    expect(t.highlight).toEqual([true, true, false]);
    expect(doc.summary).toContainEqual(['Đường truyền đạt QCVN 34:2022/BTTTT', '0/2']);
    expect(doc.definitions.lines.join('\n')).toContain('QCVN 34:2022/BTTTT (chưa đối chiếu với văn bản gốc): tốc độ tải xuống và tải lên trung bình từ 80 % tốc độ hợp đồng trở lên, độ trễ trung bình không quá 50 ms, khả dụng từ 99,50 % trở lên');
    const csv = csvText(doc);
    expect(csv).toContain('Chất lượng đường truyền theo QCVN 34:2022/BTTTT (ngưỡng chưa đối chiếu với văn bản gốc)');
    expect(csv).toContain(`21034;${q.rows[0]!.name};ag-a;wan0;100/50;28;`);
    const docx = await JSZip.loadAsync((await renderReport(raw, 'docx', { province })).body);
    const xml = await docx.file('word/document.xml')!.async('string');
    expect(xml).toContain('CHẤT LƯỢNG ĐƯỜNG TRUYỀN THEO QCVN 34:2022/BTTTT (NGƯỠNG CHƯA ĐỐI CHIẾU VỚI VĂN BẢN GỐC)');
    const xlsx = await renderReport(raw, 'xlsx', { province });
    expect(xlsx.body.length).toBeGreaterThan(0);
  });
});
