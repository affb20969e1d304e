// Hand-built report models for the renderer and delivery tests: real communes of province 51 (Quảng Ngãi,
// config/provinces/51.json), figures chosen so every format rule shows (decimal comma, thousands dot, nulls,
// a negative change, a multi-day duration, an ongoing incident).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { provinceFileSchema, type ProvinceFile } from '../../config/schema.ts';
import type { CarrierReport, DostReport, OutageStats } from '../../server/reports/model.ts';

export const province: ProvinceFile = provinceFileSchema.parse(
  JSON.parse(readFileSync(fileURLToPath(new URL('../../config/provinces/51.json', import.meta.url)), 'utf8')),
);

export const BA_TO = '21484'; // Xã Ba Tơ
export const LY_SON = '21548'; // Đặc khu Lý Sơn
export const CAM_THANH = '21025'; // Phường Cẩm Thành
export const TRA_BONG = '21115'; // Xã Trà Bồng
export const DAK_SAO = '23416'; // Xã Đăk Sao

const nameOf = (code: string) => {
  const c = province.communes.find((x) => x.code === code);
  if (!c) throw new Error(`no commune ${code} in province 51`);
  return c.fullName;
};

const H = 3_600_000;
/** 00:00 01/10/2026 in Asia/Ho_Chi_Minh (UTC+7) */
export const OCT_1 = Date.UTC(2026, 9, 1) - 7 * H;
export const NOV_1 = Date.UTC(2026, 10, 1) - 7 * H;
export const SEP_1 = Date.UTC(2026, 8, 1) - 7 * H;
/** 07:00 15/11/2026 Asia/Ho_Chi_Minh */
export const GENERATED = Date.UTC(2026, 10, 15, 0, 0);

export function carrierReport(over: Partial<CarrierReport> = {}): CarrierReport {
  return {
    kind: 'carrier',
    province: { code: '51', name: 'Quảng Ngãi' },
    carrier: { id: 'vnpt', name: 'VNPT' },
    period: { from: OCT_1, to: NOV_1, label: 'Tháng 10/2026' },
    generatedAt: GENERATED,
    definition: { minAvailabilityPct: 99, maxLossPct: 2, maxRttP95Ms: 150 },
    rows: [
      {
        commune: BA_TO, name: nameOf(BA_TO), availabilityPct: 97.125, lossPct: 3.5, rttMedianMs: 48.25, rttP95Ms: 212.4,
        hoursDegraded: 31.5, hoursDown: 21.4, worstHours: [20, 21, 7], incidents: 2, deadZone: true,
        why: 'Khả dụng 97,13 % < 99,00 %; mất gói 3,50 % ≥ 2,00 %',
      },
      {
        commune: LY_SON, name: nameOf(LY_SON), availabilityPct: 98.6, lossPct: 1.2, rttMedianMs: 95, rttP95Ms: 1234.5,
        hoursDegraded: 12, hoursDown: 10.4, worstHours: [9], incidents: 1, deadZone: true, why: 'RTT p95 1.234,5 ms > 150 ms',
      },
      {
        commune: CAM_THANH, name: nameOf(CAM_THANH), availabilityPct: 99.95, lossPct: 0.05, rttMedianMs: 8.5, rttP95Ms: 21,
        hoursDegraded: 0.5, hoursDown: 0.4, worstHours: [], incidents: 0, deadZone: false, why: null,
      },
      {
        commune: TRA_BONG, name: nameOf(TRA_BONG), availabilityPct: null, lossPct: null, rttMedianMs: null, rttP95Ms: null,
        hoursDegraded: 0, hoursDown: 0, worstHours: [], incidents: 0, deadZone: false, why: null,
      },
    ],
    incidents: [
      {
        id: `carrier:vnpt:${OCT_1 + 50 * H}`, cause: 'carrier', subject: 'vnpt', openedAt: OCT_1 + 50 * H, resolvedAt: OCT_1 + 52.5 * H,
        durationMin: 150, communes: [BA_TO, LY_SON], summary: 'Mất kết nối VNPT tại 2 xã/phường', maintenance: false,
      },
      {
        id: `local_link:${BA_TO}:${OCT_1 + 700 * H}`, cause: 'local_link', subject: BA_TO, openedAt: OCT_1 + 700 * H, resolvedAt: null,
        durationMin: 2640, communes: [BA_TO], summary: 'Đường truyền xã chất lượng kém; "mất gói" 35 %', maintenance: false,
      },
    ],
    ...over,
  };
}

function stats(o: Partial<OutageStats>): OutageStats {
  return { uptimePct: 100, incidents: 0, downtimeMin: 0, mttrMin: null, longestOutageMin: 0, maintenanceMin: 0, causes: {}, ...o };
}

export function dostReport(over: Partial<DostReport> = {}): DostReport {
  return {
    kind: 'dost',
    province: { code: '51', name: 'Quảng Ngãi' },
    period: { from: OCT_1, to: NOV_1, label: 'Tháng 10/2026' },
    previousPeriod: { from: SEP_1, to: OCT_1, label: 'Tháng 9/2026' },
    generatedAt: GENERATED,
    scope: {},
    green: { minUptimePct: 99.5, maxOutageMin: 240, maxIncidents: 3 },
    communes: [
      {
        commune: LY_SON, name: nameOf(LY_SON), green: false, reason: 'Thời gian hoạt động 98,20 % < 99,50 %; gián đoạn dài nhất 1.320 phút > 240 phút',
        ...stats({ uptimePct: 98.2, incidents: 4, downtimeMin: 1803, mttrMin: 450.75, longestOutageMin: 1320, maintenanceMin: 120, causes: { carrier: 3, local_link: 1 } }),
        previous: stats({ uptimePct: 99.7, incidents: 1, downtimeMin: 130 }),
        deltaUptimePct: -1.5,
      },
      {
        commune: BA_TO, name: nameOf(BA_TO), green: true, reason: null,
        ...stats({ uptimePct: 99.95, incidents: 1, downtimeMin: 22, mttrMin: 22, longestOutageMin: 22, causes: { service: 1 } }),
        previous: stats({ uptimePct: 99.83 }),
        deltaUptimePct: 0.12,
      },
      {
        commune: DAK_SAO, name: nameOf(DAK_SAO), green: true, reason: null,
        ...stats({ uptimePct: 100 }),
        previous: null,
        deltaUptimePct: null,
      },
    ],
    services: [
      {
        target: 'dvc', name: 'Cổng Dịch vụ công quốc gia', previous: stats({ uptimePct: 99.1 }), deltaUptimePct: 0.8,
        ...stats({ uptimePct: 99.9, incidents: 2, downtimeMin: 43.2, mttrMin: 21.6, longestOutageMin: 30, causes: { service: 2 } }),
      },
      {
        target: 'ioffice', name: 'Hệ thống quản lý văn bản iOffice', previous: null, deltaUptimePct: null,
        ...stats({ uptimePct: null }),
      },
    ],
    incidents: [
      {
        id: `service:dvc:${OCT_1 + 100 * H}`, cause: 'service', subject: 'dvc', openedAt: OCT_1 + 100 * H, resolvedAt: OCT_1 + 100.5 * H,
        durationMin: 30, communes: [BA_TO, LY_SON], summary: 'Dịch vụ Cổng Dịch vụ công quốc gia không truy cập được', maintenance: false,
      },
      {
        id: `carrier:vnpt:${OCT_1 + 300 * H}`, cause: 'carrier', subject: 'vnpt', openedAt: OCT_1 + 300 * H, resolvedAt: OCT_1 + 322 * H,
        durationMin: 1320, communes: [LY_SON], summary: 'Sự cố nhà mạng VNPT', maintenance: false,
      },
      {
        id: `local_link:${LY_SON}:${OCT_1 + 400 * H}`, cause: 'local_link', subject: LY_SON, openedAt: OCT_1 + 400 * H, resolvedAt: OCT_1 + 402 * H,
        durationMin: 120, communes: [LY_SON], summary: 'Bảo trì đường truyền', maintenance: true,
      },
    ],
    summary: { communes: 3, green: 2, notGreen: 1, incidents: 3, downtimeMin: 1825 },
    ...over,
  };
}

/** Many rows, to make tables run over several pages. */
export function bigCarrierReport(): CarrierReport {
  const base = carrierReport();
  const rows = province.communes.map((c, i) => ({
    commune: c.code, name: c.fullName, availabilityPct: 95 + (i % 50) / 10, lossPct: (i % 7) * 0.8, rttMedianMs: 20 + i, rttP95Ms: 60 + 3 * i,
    hoursDegraded: i % 13, hoursDown: i % 5, worstHours: [i % 24], incidents: i % 3, deadZone: 95 + (i % 50) / 10 < 99, why: null,
  }));
  rows.sort((a, b) => Number(b.deadZone) - Number(a.deadZone) || (a.availabilityPct - b.availabilityPct));
  return { ...base, rows };
}

/** The small report worlds' shared config pieces: a placeholder scrypt hash, the two carriers, the link targets. */
export const TEST_HASH = 'scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNo';
export const TWO_CARRIERS = [
  { id: 'vnpt', name: 'VNPT' },
  { id: 'viettel', name: 'Viettel' },
];
export const LINK_TARGETS = [
  { id: 'gateway', name: 'Gateway', kind: 'icmp', host: 'gateway' },
  { id: 'ttdl', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '203.0.113.10' },
];
