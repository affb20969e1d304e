// PDF with pdfkit, A4 landscape: a cover block (facts, definitions, summary), the carrier's dead-zone map
// (commune polygons from the province file, same projection as the live map), then the tables, paginated with
// their header row repeated on every page. The font is embedded (fonts.ts) so every diacritic survives.
import PDFDocument from 'pdfkit';
import { fitBBox, geometryToPath, makeProjection, type Geometry } from '../../../ui/src/lib/projection.ts';
import type { ProvinceFile } from '../../../config/schema.ts';
import type { Cell, ColType, MapSpec, MapState, ReportDoc, Table } from './document.ts';
import { DASH, dateTime, num, pct } from './format.ts';
import { reportFonts } from './fonts.ts';
import type { Renderer } from './types.ts';

type Doc = PDFKit.PDFDocument;

const MARGIN = 36;
const FOOTER = 22;
const COLOR = { ink: '#1a1a1a', muted: '#555555', head: '#1f4e79', zebra: '#f2f5f9', mark: '#fde0dc', rule: '#c8d0da' };
export const MAP_FILL = { dead: '#d7301f', ok: '#a6d96a', none: '#e3e3e3' } as const satisfies Record<MapState, string>;

const signed = (v: number) => (Number(Math.abs(v).toFixed(2)) === 0 ? num(0, 2) : `${v > 0 ? '+' : '−'}${num(Math.abs(v), 2)}`);
const text = {
  text: (v) => (v === null || v === '' ? DASH : String(v)),
  int: (v) => (typeof v === 'number' ? num(v, 0) : DASH),
  pct: (v) => (typeof v === 'number' ? pct(v, 2) : DASH),
  ms: (v) => (typeof v === 'number' ? num(v, 1) : DASH),
  hours: (v) => (typeof v === 'number' ? num(v, 1) : DASH),
  minutes: (v) => (typeof v === 'number' ? num(v, 0) : DASH),
  delta: (v) => (typeof v === 'number' ? signed(v) : DASH),
  datetime: (v) => (typeof v === 'number' ? dateTime(v) : v === null ? DASH : String(v)),
  bool: (v) => (v === null ? DASH : v ? 'Có' : 'Không'),
} satisfies Record<ColType, (v: Cell) => string>;
const RIGHT: Record<ColType, boolean> = { text: false, int: true, pct: true, ms: true, hours: true, minutes: true, delta: true, datetime: false, bool: false };

function bottom(doc: Doc) {
  return doc.page.height - MARGIN - FOOTER;
}

function heading(doc: Doc, s: string, size = 12) {
  doc.font('bold').fontSize(size).fillColor(COLOR.head).text(s, MARGIN, doc.y, { width: doc.page.width - 2 * MARGIN });
  doc.moveDown(0.3);
  doc.outline.addItem(s);
}

function cover(doc: Doc, d: ReportDoc) {
  const w = doc.page.width - 2 * MARGIN;
  doc.font('bold').fontSize(18).fillColor(COLOR.head).text(d.title, MARGIN, MARGIN, { width: w });
  doc.font('regular').fontSize(12).fillColor(COLOR.ink).text(d.subtitle, { width: w });
  doc.moveDown(0.6);
  // facts as a two-column list
  doc.fontSize(9.5);
  for (const [k, v] of d.meta) {
    const y = doc.y;
    doc.font('bold').fillColor(COLOR.muted).text(k, MARGIN, y, { width: 120 });
    doc.font('regular').fillColor(COLOR.ink).text(v, MARGIN + 125, y, { width: w - 125 });
    doc.y = Math.max(doc.y, y + 13);
  }
  doc.moveDown(0.6);
  // definitions in a tinted box
  doc.fontSize(9);
  const lines = d.definitions.lines.map((l) => `• ${l}`);
  const boxH = 22 + lines.reduce((h, l) => h + doc.heightOfString(l, { width: w - 20 }) + 3, 0);
  const top = doc.y;
  doc.rect(MARGIN, top, w, boxH).fill('#eef3f8');
  doc.font('bold').fillColor(COLOR.head).text(d.definitions.title, MARGIN + 10, top + 6, { width: w - 20 });
  doc.font('regular').fillColor(COLOR.ink);
  for (const l of lines) doc.text(l, MARGIN + 10, doc.y + 3, { width: w - 20 });
  doc.y = top + boxH + 12;
  // summary figures as cards
  const n = d.summary.length;
  const gap = 8;
  const cw = (w - gap * (n - 1)) / n;
  const y = doc.y;
  d.summary.forEach(([k, v], i) => {
    const x = MARGIN + i * (cw + gap);
    doc.rect(x, y, cw, 46).lineWidth(0.8).strokeColor(COLOR.rule).stroke();
    doc.font('bold').fontSize(15).fillColor(COLOR.head).text(v, x + 8, y + 7, { width: cw - 16 });
    doc.font('regular').fontSize(8.5).fillColor(COLOR.muted).text(k, x + 8, y + 29, { width: cw - 16 });
  });
  doc.y = y + 46 + 14;
}

export const PAGE = { width: 841.89, height: 595.28 }; // A4 landscape, pt
const LEGEND_W = 230;
const MAP_TOP = MARGIN + 28;

/** Where the map goes on its page: the projection and its offset in pt (exported so tests can find a commune). */
export function mapFrame(province: ProvinceFile) {
  const boxW = PAGE.width - 2 * MARGIN - LEGEND_W - 16;
  const boxH = PAGE.height - MARGIN - FOOTER - MAP_TOP;
  const bbox = fitBBox(province.bbox, province.communes.map((c) => c.geometry as Geometry));
  if (!bbox) throw new Error(`province ${province.code}: no polygons to draw`);
  let proj = makeProjection(bbox, boxW, 0);
  if (proj.height > boxH) proj = makeProjection(bbox, (boxW * boxH) / proj.height, 0);
  return { proj, ox: MARGIN + (boxW - proj.width) / 2, oy: MAP_TOP + (boxH - proj.height) / 2, mapRight: MARGIN + boxW };
}

function drawMap(doc: Doc, spec: MapSpec, province: ProvinceFile) {
  doc.addPage();
  heading(doc, spec.title, 13);
  const top = MAP_TOP;
  const legendW = LEGEND_W;
  const { proj, ox, oy } = mapFrame(province);

  doc.save();
  doc.translate(ox, oy);
  // dead zones last, so their outline is never covered by a neighbour's fill
  const order = [...province.communes].sort((a, b) => Number(spec.communes.get(a.code)?.state === 'dead') - Number(spec.communes.get(b.code)?.state === 'dead'));
  for (const c of order) {
    const d = geometryToPath(c.geometry as Geometry, proj);
    if (!d) continue;
    const state = spec.communes.get(c.code)?.state ?? 'none';
    doc.path(d).lineWidth(state === 'dead' ? 0.8 : 0.4).fillAndStroke(MAP_FILL[state], state === 'dead' ? '#7f0000' : '#ffffff', 'even-odd');
  }
  // rank numbers on the dead zones, at each commune's label point
  doc.font('bold').fontSize(7);
  for (const c of province.communes) {
    const rank = spec.communes.get(c.code)?.rank;
    if (rank === undefined) continue;
    const [x, y] = proj.project(c.label[0], c.label[1]);
    const label = String(rank);
    const r = Math.max(5, doc.widthOfString(label) / 2 + 2.5);
    doc.circle(x, y, r).lineWidth(0.6).fillAndStroke('#ffffff', '#7f0000');
    doc.fillColor('#7f0000').text(label, x - r, y - 3.6, { width: 2 * r, align: 'center', lineBreak: false });
  }
  doc.restore();

  // legend and the ranked list beside the map
  const lx = doc.page.width - MARGIN - legendW;
  let ly = top;
  doc.fontSize(8.5);
  for (const state of ['dead', 'ok', 'none'] as const) {
    doc.rect(lx, ly, 12, 10).lineWidth(0.5).fillAndStroke(MAP_FILL[state], '#888888');
    doc.font('regular').fillColor(COLOR.ink).text(spec.legend[state], lx + 18, ly + 1, { width: legendW - 18 });
    ly = Math.max(doc.y, ly + 12) + 4;
  }
  ly += 6;
  doc.font('bold').fillColor(COLOR.head).text(spec.items.length ? 'Vùng lõm sóng theo thứ hạng' : 'Không có vùng lõm sóng trong kỳ.', lx, ly, { width: legendW });
  doc.font('regular').fontSize(7.5).fillColor(COLOR.ink);
  const line = doc.currentLineHeight(true) + 2;
  for (const [i, item] of spec.items.entries()) {
    // keep a line for "… and N more" so the list never spills onto a page of its own
    if (doc.y + 2 + doc.heightOfString(item, { width: legendW }) + line > bottom(doc) && i < spec.items.length - 1) {
      doc.text(`… và ${spec.items.length - i} xã/phường khác (xem bảng)`, lx, doc.y + 2, { width: legendW });
      break;
    }
    doc.text(item, lx, doc.y + 2, { width: legendW });
  }
}

function drawTable(doc: Doc, t: Table) {
  const w = doc.page.width - 2 * MARGIN;
  const total = t.columns.reduce((s, c) => s + c.width, 0);
  const widths = t.columns.map((c) => (c.width / total) * w);
  const pad = 2.5;
  const fs = 7.5;
  const cellH = (s: string, i: number) => doc.heightOfString(s, { width: (widths[i] ?? 10) - 2 * pad }) + 2 * pad;

  const header = () => {
    doc.font('bold').fontSize(fs);
    const h = Math.max(...t.columns.map((c, i) => cellH(c.header, i)));
    const y = doc.y;
    doc.rect(MARGIN, y, w, h).fill(COLOR.head);
    let x = MARGIN;
    t.columns.forEach((c, i) => {
      doc.fillColor('#ffffff').text(c.header, x + pad, y + pad, { width: (widths[i] ?? 0) - 2 * pad, align: RIGHT[c.type] ? 'right' : 'left' });
      x += widths[i] ?? 0;
    });
    doc.y = y + h;
  };

  if (doc.y + 60 > bottom(doc)) doc.addPage();
  heading(doc, t.title);
  header();
  if (!t.rows.length) {
    doc.font('regular').fontSize(9).fillColor(COLOR.muted).text(t.empty, MARGIN + pad, doc.y + 4, { width: w });
    doc.moveDown(1);
    return;
  }
  t.rows.forEach((row, ri) => {
    const cells = t.columns.map((c, i) => text[c.type](row[i] ?? null));
    doc.font('regular').fontSize(fs);
    const h = Math.max(...cells.map((s, i) => cellH(s, i)));
    if (doc.y + h > bottom(doc)) {
      doc.addPage();
      doc.y = MARGIN;
      header();
      doc.font('regular').fontSize(fs);
    }
    const y = doc.y;
    // inset by the rule's width so a fill never paints over the line under the previous row
    if (t.highlight?.[ri]) doc.rect(MARGIN, y + 0.3, w, h - 0.3).fill(COLOR.mark);
    else if (ri % 2) doc.rect(MARGIN, y + 0.3, w, h - 0.3).fill(COLOR.zebra);
    let x = MARGIN;
    cells.forEach((s, i) => {
      doc.fillColor(COLOR.ink).text(s, x + pad, y + pad, { width: (widths[i] ?? 0) - 2 * pad, align: RIGHT[t.columns[i]!.type] ? 'right' : 'left' });
      x += widths[i] ?? 0;
    });
    doc.moveTo(MARGIN, y + h).lineTo(MARGIN + w, y + h).lineWidth(0.3).strokeColor(COLOR.rule).stroke();
    doc.y = y + h;
  });
  doc.moveDown(1.2);
}

function footers(doc: Doc, d: ReportDoc) {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    // writing inside the bottom margin would otherwise make pdfkit start a new page
    const saved = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    const y = doc.page.height - MARGIN - 10;
    const w = doc.page.width - 2 * MARGIN;
    doc.moveTo(MARGIN, y - 4).lineTo(MARGIN + w, y - 4).lineWidth(0.4).strokeColor(COLOR.rule).stroke();
    doc.font('regular').fontSize(7.5).fillColor(COLOR.muted);
    doc.text(`${d.title} — ${d.subtitle} — lập lúc ${dateTime(d.generatedAt)}`, MARGIN, y, { width: w - 80, lineBreak: false });
    doc.text(`Trang ${i - range.start + 1}/${range.count}`, MARGIN + w - 80, y, { width: 80, align: 'right', lineBreak: false });
    doc.page.margins.bottom = saved;
  }
}

export async function pdfBuffer(d: ReportDoc, province: ProvinceFile | undefined): Promise<Buffer> {
  const fonts = reportFonts();
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: MARGIN + FOOTER },
    bufferPages: true,
    lang: 'vi-VN',
    displayTitle: true,
    info: {
      Title: `${d.title} — ${d.subtitle}`,
      Author: 'IOC uptime monitor',
      Subject: d.subtitle,
      CreationDate: new Date(d.generatedAt),
      ModDate: new Date(d.generatedAt),
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (b: Buffer) => chunks.push(b));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('regular', fonts.regular);
  doc.registerFont('bold', fonts.bold);
  cover(doc, d);
  // a carrier report without the province file still renders, without its map
  if (d.map && province) {
    drawMap(doc, d.map, province);
    doc.addPage();
  }
  // tables follow the cover on its page when there is room (drawTable starts a page otherwise)
  for (const t of d.tables) drawTable(doc, t);
  footers(doc, d);
  doc.end();
  return done;
}

export const pdf: Renderer = {
  ext: 'pdf',
  contentType: 'application/pdf',
  render: (doc, ctx) => pdfBuffer(doc, ctx.province),
};
