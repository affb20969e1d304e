// A report laid out once, independent of the file format: title, facts, the definitions used, summary figures,
// tables (typed columns, raw values) and, for carriers, the map. csv.ts, xlsx.ts and pdf.ts only typeset this,
// so the three formats cannot disagree on a figure or a heading.
import type { ProvinceFile, ReportsConfig } from '../../../config/schema.ts';
import { causeKindText, networkText, placeTexts } from '../../../config/words.ts';
import { UPLINK_NETWORKS } from '../../../config/schema.ts';
import type { CarrierReport, DostReport, OutageStats, Period, QcvnSection, Report, ReportIncident, ReportKind } from '../model.ts';
import { DASH, ascii, causes, date, dateTime, hours, lastDay, num, pct } from './format.ts';

const isNetwork = (id: string) => (UPLINK_NETWORKS as readonly string[]).includes(id);

/** How a column's raw values are typeset (and, in XLSX, which number format they get). */
export type ColType = 'text' | 'int' | 'pct' | 'ms' | 'hours' | 'minutes' | 'delta' | 'datetime' | 'bool';
export type Cell = string | number | boolean | null;

export interface Column {
  header: string;
  type: ColType;
  /** relative width (PDF columns, XLSX character widths) */
  width: number;
}

export interface Table {
  /** XLSX sheet name (at most 31 characters, none of []:*?/\) */
  sheet: string;
  title: string;
  columns: Column[];
  rows: Cell[][];
  /** said instead of an empty table */
  empty: string;
  /** rows to emphasise (dead zones, communes below the green bar) */
  highlight?: boolean[];
}

export type MapState = 'dead' | 'ok' | 'none';
export interface MapSpec {
  title: string;
  /** commune code -> state; rank = position among the dead zones (1 = worst), printed on the map */
  communes: Map<string, { state: MapState; rank?: number }>;
  legend: Record<MapState, string>;
  /** the dead zones in rank order, one line each, printed beside the map */
  items: string[];
}

export interface ReportDoc {
  kind: ReportKind;
  title: string;
  subtitle: string;
  /** Vietnamese, for the download name ("Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026") */
  fileTitle: string;
  /** ASCII fallback of fileTitle, safe in any file system */
  fileSlug: string;
  /** the Word report's summary line under "BÁO CÁO" ("trích yếu": what the report is about, for which period) */
  abstract: string;
  period: Period;
  /** the province's name as configured ("Quảng Ngãi") */
  province: string;
  meta: [string, string][];
  definitions: { title: string; lines: string[] };
  summary: [string, string][];
  tables: Table[];
  map: MapSpec | null;
  generatedAt: number;
}

export interface DocContext {
  /** the province file (names of communes in incidents, polygons for the map) */
  province?: ProvinceFile;
  /** target id -> name, for service incidents (DOST reports carry it in their service rows) */
  targetName?: (id: string) => string | undefined;
  /** carrier id -> name */
  carrierName?: (id: string) => string | undefined;
  /** the Word report's issuing body, addressees and signer (config reports.document) */
  letter?: ReportsConfig['document'];
}

export function provinceTitle(name: string): string {
  return /^(Tỉnh|Thành phố)\s/.test(name) ? name : `Tỉnh ${name}`;
}

/** "tháng 10/2026", "tuần 44/2026 (…)", "từ 01/10/2026 đến 15/10/2026": the period inside a sentence. */
function periodPhrase(p: Period): string {
  return /^(Tháng|Tuần)\s/.test(p.label) ? p.label.charAt(0).toLowerCase() + p.label.slice(1) : `từ ngày ${date(p.from)} đến hết ngày ${lastDay(p.to)}`;
}

function periodMeta(label: string, from: number, to: number): [string, string][] {
  return [
    ['Kỳ báo cáo', label],
    ['Từ ngày', date(from)],
    ['Đến hết ngày', lastDay(to)],
  ];
}

function fileNames(parts: string[]): { fileTitle: string; fileSlug: string } {
  // "/" and other path characters never reach a file name; "Tháng 10/2026" -> "Tháng 10-2026"
  const clean = parts.map((p) => p.replace(/[\\/:*?"<>|]+/g, '-').replace(/\s+/g, ' ').trim()).filter(Boolean);
  const fileTitle = clean.join(' - ');
  const fileSlug = ascii(fileTitle)
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 120);
  return { fileTitle, fileSlug: fileSlug || 'bao-cao' };
}

/** Names for the codes incidents carry. */
function names(ctx: DocContext, extra: [string, string][] = []) {
  const m = new Map<string, string>(extra);
  for (const c of ctx.province?.communes ?? []) if (!m.has(c.code)) m.set(c.code, c.fullName);
  return {
    commune: (code: string) => m.get(code) ?? code,
    subject: (i: ReportIncident) => {
      // a carrier-like cause may name a network (attribution/network.ts: `tslcd`)
      const n = i.cause === 'carrier' ? (ctx.carrierName?.(i.subject) ?? (isNetwork(i.subject) ? networkText(i.subject, 'vi') : undefined)) : i.cause === 'service' ? ctx.targetName?.(i.subject) : m.get(i.subject);
      return n ?? i.subject;
    },
  };
}

function incidentTable(incidents: ReportIncident[], n: ReturnType<typeof names>, empty: string): Table {
  return {
    sheet: 'Sự cố',
    title: 'Danh sách sự cố trong kỳ',
    columns: [
      { header: 'Bắt đầu', type: 'datetime', width: 11 },
      { header: 'Kết thúc', type: 'datetime', width: 11 },
      { header: 'Thời lượng trong kỳ (phút)', type: 'minutes', width: 9 },
      { header: 'Nguyên nhân', type: 'text', width: 10 },
      { header: 'Đối tượng', type: 'text', width: 13 },
      { header: 'Xã/phường bị ảnh hưởng', type: 'text', width: 24 },
      { header: 'Mô tả', type: 'text', width: 26 },
      { header: 'Bảo trì', type: 'bool', width: 6 },
      { header: 'Mã sự cố', type: 'text', width: 14 },
    ],
    rows: incidents.map((i) => [
      i.openedAt,
      i.resolvedAt ?? 'Đang diễn ra',
      i.durationMin,
      causeKindText(i.cause, 'vi'),
      n.subject(i),
      // the sites it names ride with their commune; a site list has commas of its own, so then "; " between communes
      placeTexts(i.communes, i.sites, { ...n, carrier: (x) => x, target: (x) => x }).join(i.sites?.length ? '; ' : ', '),
      i.summary,
      i.maintenance,
      i.id,
    ]),
    empty,
  };
}

function carrierDoc(r: CarrierReport, ctx: DocContext): ReportDoc {
  const d = r.definition;
  const dead = r.rows.filter((x) => x.deadZone);
  const n = names({ ...ctx, carrierName: (id) => (id === r.carrier.id ? r.carrier.name : ctx.carrierName?.(id)) }, r.rows.map((x) => [x.commune, x.name]));
  const province = provinceTitle(r.province.name);
  const map: MapSpec = {
    title: `Bản đồ vùng lõm sóng ${r.carrier.name} — ${province}`,
    communes: new Map(),
    legend: {
      dead: 'Vùng lõm sóng (số: thứ hạng, 1 là tệ nhất)',
      ok: `Có đo, đạt ngưỡng`,
      none: `Không có số liệu đo qua ${r.carrier.name}`,
    },
    items: dead.map((x, i) => `${i + 1}. ${x.name}: khả dụng ${pct(x.availabilityPct)}, mất gói ${pct(x.lossPct)}`),
  };
  for (const row of r.rows) map.communes.set(row.commune, { state: row.deadZone ? 'dead' : 'ok' });
  dead.forEach((row, i) => map.communes.set(row.commune, { state: 'dead', rank: i + 1 }));
  return {
    kind: 'carrier',
    title: 'BÁO CÁO VÙNG LÕM SÓNG',
    subtitle: `Nhà mạng ${r.carrier.name} — ${province} — ${r.period.label}`,
    ...fileNames(['Báo cáo vùng lõm sóng', r.carrier.name, r.period.label]),
    abstract: `Tình hình vùng lõm sóng và chất lượng đường truyền của nhà mạng ${r.carrier.name} ${periodPhrase(r.period)}`,
    period: r.period,
    province: r.province.name,
    meta: [
      ['Nhà mạng', r.carrier.name],
      ['Địa bàn', province],
      ...periodMeta(r.period.label, r.period.from, r.period.to),
      ['Thời điểm lập', `${dateTime(r.generatedAt)} (giờ Việt Nam)`],
    ],
    definitions: {
      title: 'Định nghĩa sử dụng trong báo cáo',
      lines: [
        `Vùng lõm sóng: xã/phường mà trên các đường truyền của ${r.carrier.name} trong kỳ có tỷ lệ khả dụng dưới ${pct(d.minAvailabilityPct)}, ` +
          `hoặc tỷ lệ mất gói trung bình từ ${pct(d.maxLossPct)} trở lên, hoặc độ trễ (RTT) phân vị 95 trên ${num(d.maxRttP95Ms, 0)} ms.`,
        `Khả dụng: tỷ lệ lượt đo không thất bại, chỉ tính các lượt đo qua đường truyền của ${r.carrier.name}.`,
        'Giờ suy giảm / giờ mất kết nối: tổng số giờ trong kỳ ở trạng thái chất lượng kém / mất kết nối.',
        'Khung giờ tệ nhất: các giờ trong ngày (giờ Việt Nam) có tỷ lệ mất gói cao nhất, tối đa 3 khung giờ.',
        `Sự cố: các sự cố được quy cho ${r.carrier.name} có ảnh hưởng tới xã/phường. Xếp hạng: vùng lõm trước, sau đó theo khả dụng tăng dần.`,
        ...(r.tslcdRows
          ? [
              `Đường truyền số liệu chuyên dùng (TSLCD) của ${r.carrier.name} được tính riêng, cùng định nghĩa; bảng xã/phường và bản đồ chỉ tính đường Internet.`,
            ]
          : []),
        ...(r.qcvn ? qcvnDefinitions(r.qcvn) : []),
      ],
    },
    summary: [
      ['Số xã/phường có số liệu', num(r.rows.length)],
      ['Số vùng lõm sóng', num(dead.length)],
      ...(r.tslcdRows
        ? ([
            ['Số xã/phường có đường TSLCD', num(r.tslcdRows.length)],
            ['Số xã/phường có đường TSLCD dưới ngưỡng', num(r.tslcdRows.filter((x) => x.deadZone).length)],
          ] as [string, string][])
        : []),
      ...(r.qcvn ? [qcvnSummary(r.qcvn)] : []),
      ['Số sự cố quy cho nhà mạng', num(r.incidents.length)],
    ],
    tables: [
      communeTable(r.rows, 'Xã phường', 'Xã/phường theo mức độ (tệ nhất trước)', `Không có số liệu đo qua đường truyền của ${r.carrier.name} trong kỳ.`),
      ...(r.tslcdRows
        ? [communeTable(r.tslcdRows, 'TSLCD', `Đường truyền số liệu chuyên dùng (TSLCD) của ${r.carrier.name}, theo mức độ (tệ nhất trước)`, 'Không có số liệu đo qua đường TSLCD trong kỳ.')]
        : []),
      ...(r.qcvn ? [qcvnTable(r.qcvn)] : []),
      incidentTable(r.incidents, n, `Không có sự cố nào được quy cho ${r.carrier.name} trong kỳ.`),
    ],
    map,
    generatedAt: r.generatedAt,
  };
}

// ---- QCVN 34 (data/qcvn.ts): the carrier's lines with a contracted speed against the standard's figures ----

function qcvnDefinitions(q: QcvnSection): string[] {
  const t = q.thresholds;
  const ratio = pct(t.minSpeedRatio * 100, 0);
  return [
    `Đối chiếu ${t.standard} (chưa đối chiếu với văn bản gốc): tốc độ tải xuống và tải lên trung bình từ ${ratio} tốc độ hợp đồng trở lên, ` +
      `độ trễ trung bình không quá ${num(t.maxLatencyMs)} ms, khả dụng từ ${pct(t.minAvailabilityPct)} trở lên. Các ngưỡng theo bản công bố hợp quy ` +
      'của doanh nghiệp cho phiên bản 2019 của quy chuẩn, chưa đối chiếu với văn bản gốc phiên bản 2022; có thể thay đổi trong cấu hình.',
    `Tỷ lệ đạt tốc độ: phần trăm số lần đo thành công có tốc độ từ ${ratio} tốc độ hợp đồng trở lên. Lần đo thất bại hoặc bị hủy (đường truyền đang bận) được đếm, không được đánh giá.`,
    'Độ trễ: trung bình các trung vị RTT của lượt đo ICMP qua đường truyền (không tính lượt đo tới gateway). Khả dụng: tỷ lệ lượt đo ICMP qua đường truyền không thất bại.',
  ];
}

function qcvnSummary(q: QcvnSection): [string, string] {
  const judged = q.rows.filter((x) => x.okTests > 0 || x.latencyMs !== null || x.availabilityPct !== null);
  return [`Đường truyền đạt ${q.thresholds.standard}`, `${num(judged.filter((x) => x.unmet === null).length)}/${num(judged.length)}`];
}

function qcvnTable(q: QcvnSection): Table {
  const ratio = num(q.thresholds.minSpeedRatio * 100);
  const t = q.total;
  return {
    sheet: 'QCVN 34',
    title: `Chất lượng đường truyền theo ${q.thresholds.standard} (ngưỡng chưa đối chiếu với văn bản gốc)`,
    columns: [
      { header: 'Mã xã', type: 'text', width: 6 },
      { header: 'Xã/phường', type: 'text', width: 14 },
      { header: 'Trạm đo', type: 'text', width: 9 },
      { header: 'Đường truyền', type: 'text', width: 8 },
      { header: 'Tốc độ hợp đồng (Mbit/s, xuống/lên)', type: 'text', width: 9 },
      { header: 'Số lần đo', type: 'int', width: 5 },
      { header: 'Đo thành công', type: 'int', width: 6 },
      { header: `Tải xuống ≥ ${ratio} % (% lần đo)`, type: 'pct', width: 8 },
      { header: `Tải lên ≥ ${ratio} % (% lần đo)`, type: 'pct', width: 8 },
      // Mbit/s with one decimal, typeset like the ms columns
      { header: 'Tải xuống TB (Mbit/s)', type: 'ms', width: 7 },
      { header: 'Tải lên TB (Mbit/s)', type: 'ms', width: 7 },
      { header: 'Độ trễ TB (ms)', type: 'ms', width: 7 },
      { header: 'Khả dụng (%)', type: 'pct', width: 8 },
      { header: 'Chỉ tiêu chưa đạt', type: 'text', width: 20 },
    ],
    rows: [
      ...q.rows.map((x): Cell[] => [
        x.commune,
        x.name,
        x.agent,
        x.uplink,
        `${num(x.contractedMbps.down)}/${num(x.contractedMbps.up)}`,
        x.tests,
        x.okTests,
        x.downOkPct,
        x.upOkPct,
        x.meanDownMbps,
        x.meanUpMbps,
        x.latencyMs,
        x.availabilityPct,
        x.unmet,
      ]),
      [null, 'Toàn nhà mạng', null, null, null, t.tests, t.okTests, t.downOkPct, t.upOkPct, null, null, t.latencyMs, t.availabilityPct, null],
    ],
    empty: '',
    highlight: [...q.rows.map((x) => x.unmet !== null), false],
  };
}

/** A carrier's communes with their figures, worst first (its Internet lines, or apart its TSLCD lines). */
function communeTable(rows: CarrierReport['rows'], sheet: string, title: string, empty: string): Table {
  return {
    sheet,
    title,
    columns: [
      { header: 'Hạng', type: 'int', width: 4 },
      { header: 'Mã xã', type: 'text', width: 6 },
      { header: 'Xã/phường', type: 'text', width: 16 },
      { header: 'Vùng lõm', type: 'bool', width: 6 },
      { header: 'Khả dụng (%)', type: 'pct', width: 8 },
      { header: 'Mất gói (%)', type: 'pct', width: 7 },
      { header: 'RTT trung vị (ms)', type: 'ms', width: 8 },
      { header: 'RTT p95 (ms)', type: 'ms', width: 8 },
      { header: 'Giờ suy giảm', type: 'hours', width: 7 },
      { header: 'Giờ mất kết nối', type: 'hours', width: 7 },
      { header: 'Khung giờ tệ nhất', type: 'text', width: 14 },
      { header: 'Sự cố', type: 'int', width: 5 },
      { header: 'Lý do', type: 'text', width: 22 },
    ],
    rows: rows.map((x, i) => [
      i + 1,
      x.commune,
      x.name,
      x.deadZone,
      x.availabilityPct,
      x.lossPct,
      x.rttMedianMs,
      x.rttP95Ms,
      x.hoursDegraded,
      x.hoursDown,
      x.worstHours.length ? hours(x.worstHours) : null,
      x.incidents,
      x.why,
    ]),
    empty,
    highlight: rows.map((x) => x.deadZone),
  };
}

function statsCells(s: OutageStats): Cell[] {
  const c = causes(s.causes);
  return [s.uptimePct, s.incidents, s.downtimeMin, s.mttrMin, s.longestOutageMin, s.maintenanceMin, c === DASH ? null : c];
}
const statsColumns = (uptime: string): Column[] => [
  { header: uptime, type: 'pct', width: 8 },
  { header: 'Số sự cố', type: 'int', width: 5 },
  { header: 'Tổng gián đoạn (phút)', type: 'minutes', width: 8 },
  { header: 'MTTR (phút)', type: 'minutes', width: 7 },
  { header: 'Gián đoạn dài nhất (phút)', type: 'minutes', width: 8 },
  { header: 'Bảo trì (phút)', type: 'minutes', width: 7 },
  { header: 'Nguyên nhân (số sự cố)', type: 'text', width: 15 },
];
const compareColumns: Column[] = [
  { header: 'Kỳ trước (%)', type: 'pct', width: 7 },
  { header: 'Thay đổi (điểm %)', type: 'delta', width: 7 },
];

function dostDoc(r: DostReport, ctx: DocContext): ReportDoc {
  const g = r.green;
  const targets = new Map(r.services.map((s) => [s.target, s.name]));
  const n = names({ ...ctx, targetName: (id) => targets.get(id) ?? ctx.targetName?.(id) }, r.communes.map((x) => [x.commune, x.name]));
  const province = provinceTitle(r.province.name);
  const scope: [string, string][] = [];
  if (r.scope.commune) scope.push(['Phạm vi', n.commune(r.scope.commune)]);
  if (r.scope.target) scope.push(['Dịch vụ', targets.get(r.scope.target) ?? ctx.targetName?.(r.scope.target) ?? r.scope.target]);
  const scopeName = scope.map(([, v]) => v);
  return {
    kind: 'dost',
    title: 'BÁO CÁO LỊCH SỬ GIÁN ĐOẠN DỊCH VỤ',
    subtitle: `${[province, ...scopeName].join(' — ')} — ${r.period.label}`,
    ...fileNames(['Báo cáo gián đoạn', ...scopeName, r.period.label]),
    abstract: `Kết quả giám sát gián đoạn đường truyền và dịch vụ công trực tuyến${scopeName.length ? ` (${scopeName.join(', ')})` : ''} ${periodPhrase(r.period)}`,
    period: r.period,
    province: r.province.name,
    meta: [
      ['Địa bàn', province],
      ...scope,
      ...periodMeta(r.period.label, r.period.from, r.period.to),
      ['So sánh với', `${r.previousPeriod.label} (${date(r.previousPeriod.from)}–${lastDay(r.previousPeriod.to)})`],
      ['Thời điểm lập', `${dateTime(r.generatedAt)} (giờ Việt Nam)`],
    ],
    definitions: {
      title: 'Định nghĩa sử dụng trong báo cáo',
      lines: [
        `Mức “xanh”: xã/phường có thời gian hoạt động từ ${pct(g.minUptimePct)} trở lên, không có lần gián đoạn nào dài quá ${num(g.maxOutageMin)} phút ` +
          `và không quá ${num(g.maxIncidents)} sự cố trong kỳ.`,
        'Thời gian hoạt động: tỷ lệ thời gian không gián đoạn; thời gian bảo trì được tính riêng, không tính là hoạt động cũng không tính là gián đoạn.',
        'MTTR: thời gian khắc phục trung bình của các sự cố đã kết thúc trong kỳ.',
        'Thay đổi: chênh lệch thời gian hoạt động so với kỳ trước, tính bằng điểm phần trăm.',
      ],
    },
    summary: [
      ['Số xã/phường', num(r.summary.communes)],
      ['Đạt mức xanh', num(r.summary.green)],
      ['Chưa đạt', num(r.summary.notGreen)],
      ['Số sự cố', num(r.summary.incidents)],
      ['Tổng thời gian gián đoạn', `${num(r.summary.downtimeMin)} phút`],
      ...(r.networks ?? []).map((x): [string, string] => [`Khả dụng ${x.name.charAt(0).toLowerCase()}${x.name.slice(1)}`, pct(x.uptimePct)]),
    ],
    tables: [
      {
        sheet: 'Xã phường',
        title: 'Theo xã/phường',
        columns: [
          { header: 'Mã xã', type: 'text', width: 6 },
          { header: 'Xã/phường', type: 'text', width: 15 },
          { header: 'Đạt xanh', type: 'bool', width: 5 },
          ...statsColumns('Hoạt động (%)'),
          ...compareColumns,
          { header: 'Lý do chưa đạt', type: 'text', width: 20 },
        ],
        rows: r.communes.map((x) => [x.commune, x.name, x.green, ...statsCells(x), x.previous?.uptimePct ?? null, x.deltaUptimePct, x.reason]),
        empty: 'Không có xã/phường nào trong phạm vi báo cáo.',
        highlight: r.communes.map((x) => !x.green),
      },
      {
        sheet: 'Dịch vụ',
        title: 'Theo dịch vụ',
        columns: [
          { header: 'Mã dịch vụ', type: 'text', width: 8 },
          { header: 'Dịch vụ', type: 'text', width: 20 },
          ...statsColumns('Hoạt động (%)'),
          ...compareColumns,
        ],
        rows: r.services.map((x) => [x.target, x.name, ...statsCells(x), x.previous?.uptimePct ?? null, x.deltaUptimePct]),
        empty: 'Không có dịch vụ nào trong phạm vi báo cáo.',
      },
      ...(r.networks
        ? [
            {
              sheet: 'TSLCD',
              title: 'Mạng truyền số liệu chuyên dùng (TSLCD)',
              columns: [
                { header: 'Mạng', type: 'text', width: 20 },
                ...statsColumns('Khả dụng (%)'),
                ...compareColumns,
                { header: 'Sự cố đường TSLCD từng xã', type: 'int', width: 8 },
              ] as Column[],
              rows: r.networks.map((x) => [x.name, ...statsCells(x), x.previous?.uptimePct ?? null, x.deltaUptimePct, x.lineIncidents]),
              empty: 'Không có đường TSLCD nào được giám sát.',
            },
          ]
        : []),
      incidentTable(r.incidents, n, 'Không có sự cố nào trong kỳ.'),
    ],
    map: null,
    generatedAt: r.generatedAt,
  };
}

const builders = { carrier: carrierDoc, dost: dostDoc } satisfies { [K in ReportKind]: (r: Extract<Report, { kind: K }>, ctx: DocContext) => ReportDoc };

export function layout(r: Report, ctx: DocContext = {}): ReportDoc {
  return (builders[r.kind] as (r: Report, ctx: DocContext) => ReportDoc)(r, ctx);
}
