// XLSX with exceljs: an overview sheet (facts, definitions, summary), then one sheet per table with its header
// row frozen and filterable. Numbers stay numbers with number formats; Excel shows them with the reader's
// locale separators, so a Vietnamese Excel shows "99,95 %". Times are written as Vietnamese wall-clock time
// (Excel dates have no time zone).
import ExcelJS from 'exceljs';
import { VN_OFFSET_MS } from '../../../config/schema.ts';
import type { Cell, ColType, ReportDoc } from './document.ts';
import type { Renderer } from './types.ts';

/** Excel number format codes per column type (exported for the tests). */
export const NUM_FMT = {
  text: '@',
  int: '#,##0',
  // the value is the percentage itself (99.95), so the % sign is a literal, not Excel's ×100
  pct: '0.00" %"',
  ms: '#,##0.0',
  hours: '#,##0.0',
  minutes: '#,##0',
  delta: '+0.00;-0.00;0.00',
  datetime: 'dd/mm/yyyy hh:mm',
  bool: '@',
} as const satisfies Record<ColType, string>;

const value = {
  text: (v) => (v === null ? null : String(v)),
  int: (v) => (typeof v === 'number' ? v : null),
  pct: (v) => (typeof v === 'number' ? v : null),
  ms: (v) => (typeof v === 'number' ? v : null),
  hours: (v) => (typeof v === 'number' ? v : null),
  minutes: (v) => (typeof v === 'number' ? v : null),
  delta: (v) => (typeof v === 'number' ? v : null),
  datetime: (v) => (typeof v === 'number' ? new Date(v + VN_OFFSET_MS) : v === null ? null : String(v)),
  bool: (v) => (v === null ? null : v ? 'Có' : 'Không'),
} satisfies Record<ColType, (v: Cell) => ExcelJS.CellValue>;

const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FF1F4E79' } };
const HEADER_FONT: Partial<ExcelJS.Font> = { bold: true, color: { argb: 'FFFFFFFF' } };

export async function workbook(doc: ReportDoc): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'IOC uptime monitor';
  wb.title = `${doc.title} — ${doc.subtitle}`;
  wb.created = new Date(doc.generatedAt);
  wb.modified = new Date(doc.generatedAt);

  const ov = wb.addWorksheet('Tổng quan', { properties: { defaultRowHeight: 16 } });
  ov.columns = [{ width: 30 }, { width: 110 }];
  ov.addRow([doc.title]).font = { bold: true, size: 14 };
  ov.addRow([doc.subtitle]).font = { italic: true };
  ov.addRow([]);
  for (const [k, v] of doc.meta) ov.addRow([k, v]).getCell(1).font = { bold: true };
  ov.addRow([]);
  ov.addRow([doc.definitions.title]).font = { bold: true };
  for (const d of doc.definitions.lines) {
    const row = ov.addRow(['', d]);
    row.getCell(2).alignment = { wrapText: true, vertical: 'top' };
    row.height = 16 * Math.ceil(d.length / 100);
  }
  ov.addRow([]);
  ov.addRow(['Tóm tắt']).font = { bold: true };
  for (const [k, v] of doc.summary) ov.addRow([k, v]).getCell(1).font = { bold: true };

  for (const t of doc.tables) {
    const ws = wb.addWorksheet(t.sheet.slice(0, 31), { views: [{ state: 'frozen', ySplit: 1, xSplit: 0 }] });
    ws.columns = t.columns.map((c) => ({
      header: c.header,
      width: Math.max(8, Math.round(c.width * 1.6)),
      style: { numFmt: NUM_FMT[c.type] },
    }));
    const head = ws.getRow(1);
    head.font = HEADER_FONT;
    head.fill = HEADER_FILL;
    head.alignment = { wrapText: true, vertical: 'middle' };
    head.height = 32;
    for (const r of t.rows) {
      const row = ws.addRow(t.columns.map((c, i) => value[c.type](r[i] ?? null)));
      t.columns.forEach((c, i) => (row.getCell(i + 1).numFmt = NUM_FMT[c.type]));
    }
    if (!t.rows.length) ws.addRow([t.empty]).getCell(1).numFmt = '@';
    else ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: t.columns.length } };
  }
  return wb;
}

export const xlsx: Renderer = {
  ext: 'xlsx',
  contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  async render(doc) {
    const wb = await workbook(doc);
    return Buffer.from(await wb.xlsx.writeBuffer());
  },
};
