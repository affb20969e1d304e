// Word (docx) with the `docx` library: the report as an administrative document of Decree 30/2020/NĐ-CP, so the
// department edits and signs it instead of retyping it. Portrait A4, Times New Roman: the header table (governing and
// issuing body, "Số: .../<symbol>" left blank for the clerk | national title, motto, place and a blank date), "BÁO CÁO"
// and its summary line, "Kính gửi:", the body in numbered sections (I., II., 1., 2.) with the summary figures as a
// table and the narrative parts marked as to be completed, the signature block and "Nơi nhận:". The report's wide
// tables follow as appendices on landscape pages, with every figure filled in.
//
// Layout of Appendix I of the decree as applied here (sizes in pt): bodies 12 (issuer bold) with a short rule under
// the issuer; national title 12 bold, motto 14 bold underlined along its text; number 13; place and date 14 italic;
// document type 14 bold, summary line 14 bold with a short rule; body 14, justified, first line indented 1.27 cm,
// 6 pt between paragraphs; signer 14 bold; "Nơi nhận:" 12 bold italic, its list 11; page numbers centred in the top
// margin from page 2. Margins: top 20 mm, bottom 20 mm, left 30 mm, right 15 mm (the decree allows 20–25 / 20–25 /
// 30–35 / 15–20). These figures were applied from the decree's appendix as remembered, not re-checked against its text.
import {
  AlignmentType,
  BorderStyle,
  Document,
  Header,
  HighlightColor,
  Packer,
  PageNumber,
  PageOrientation,
  Paragraph,
  Table,
  TableCell,
  TableLayoutType,
  TableRow,
  TextRun,
  VerticalAlignTable,
  WidthType,
  type FileChild,
  type IParagraphOptions,
  type IRunOptions,
  type ISectionOptions,
} from 'docx';
import { reportsSchema, type ReportsConfig } from '../../../config/schema.ts';
import { provinceTitle, type Cell, type ColType, type DocContext, type ReportDoc, type Table as DocTable } from './document.ts';
import { DASH, date, dateTime, num, pct } from './format.ts';
import type { RenderContext, Renderer } from './types.ts';

export type LetterConfig = ReportsConfig['document'];
const DEFAULT_LETTER: LetterConfig = reportsSchema.shape.document.parse(undefined);

const FONT = 'Times New Roman';
const mm = (v: number) => Math.round((v * 1440) / 25.4);
/** A4 in twips (portrait) */
const A4 = { width: 11906, height: 16838 };
const MARGIN = { top: mm(20), bottom: mm(20), left: mm(30), right: mm(15), header: mm(10), footer: mm(10) };
const PORTRAIT_W = A4.width - MARGIN.left - MARGIN.right;
const LANDSCAPE_W = A4.height - MARGIN.left - MARGIN.right;
/** half-points */
const pt = (v: number) => v * 2;
const BODY = 14;

const NONE = { style: BorderStyle.NONE, size: 0, color: 'FFFFFF' };
const NO_BORDERS = { top: NONE, bottom: NONE, left: NONE, right: NONE, insideHorizontal: NONE, insideVertical: NONE };
const LINE = { style: BorderStyle.SINGLE, size: 6, color: '000000' };
const GRID = { top: LINE, bottom: LINE, left: LINE, right: LINE, insideHorizontal: LINE, insideVertical: LINE };

const ROMAN = ['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X'];

/** A cell's value as the document prints it (Vietnamese separators, dd/mm/yyyy HH:mm). */
export function cellText(type: ColType, v: Cell): string {
  if (v === null || v === '') return DASH;
  if (typeof v === 'boolean') return v ? 'Có' : 'Không';
  if (typeof v === 'string') return v;
  switch (type) {
    case 'pct':
      return pct(v, 2);
    case 'ms':
    case 'hours':
      return num(v, 1);
    case 'delta':
      return Number(Math.abs(v).toFixed(2)) === 0 ? num(0, 2) : `${v > 0 ? '+' : '−'}${num(Math.abs(v), 2)}`;
    case 'datetime':
      return dateTime(v);
    default:
      return num(v, 0);
  }
}
const NUMERIC = new Set<ColType>(['int', 'pct', 'ms', 'hours', 'minutes', 'delta']);

type Run = Omit<IRunOptions, 'text'>;
function para(text: string | TextRun[], o: Omit<IParagraphOptions, 'children' | 'text'> = {}, run: Run = {}): Paragraph {
  const children = typeof text === 'string' ? [new TextRun({ text, ...run })] : text;
  return new Paragraph({ spacing: { before: 0, after: 0 }, ...o, children });
}
const centred = (text: string, run: Run = {}, o: Omit<IParagraphOptions, 'children' | 'text'> = {}) => para(text, { alignment: AlignmentType.CENTER, ...o }, run);

/** A short centred rule under a line (the decree's 1/3 to 1/2 of the line above), as a border of an empty paragraph. */
function rule(width: number, lineWidth: number): Paragraph {
  const side = Math.max(0, Math.round((width - lineWidth) / 2));
  return new Paragraph({ border: { top: { style: BorderStyle.SINGLE, size: 6, color: '000000', space: 1 } }, indent: { left: side, right: side }, spacing: { before: 60, after: 0 }, children: [] });
}

/** A body paragraph: justified, first line indented, 6 pt after. */
const body = (text: string | TextRun[], run: Run = {}) =>
  para(text, { alignment: AlignmentType.JUSTIFIED, indent: { firstLine: mm(12.7) }, spacing: { before: 0, after: 120, line: 276 } }, run);
const heading = (text: string) => para(text, { alignment: AlignmentType.JUSTIFIED, indent: { firstLine: mm(12.7) }, spacing: { before: 120, after: 120, line: 276 }, keepNext: true }, { bold: true });
/** A part the analyst writes: in brackets, italic, highlighted, so it cannot be sent unnoticed. */
const todo = (text: string) => body([new TextRun({ text: `[Cần bổ sung: ${text}]`, italics: true, highlight: HighlightColor.YELLOW })]);

/** "Quảng Ngãi" from "Tỉnh Quảng Ngãi" / "Quảng Ngãi". */
const placeName = (province: string) => province.replace(/^(Tỉnh|Thành phố)\s+/, '');

function letterOf(doc: ReportDoc, ctx: DocContext): Required<Pick<LetterConfig, 'parentBody' | 'place'>> & LetterConfig {
  const l = ctx.letter ?? DEFAULT_LETTER;
  return { ...l, parentBody: l.parentBody ?? `UBND ${provinceTitle(doc.province)}`, place: l.place ?? placeName(doc.province) };
}

/** A borderless two-column layout table across the portrait text width (header, signature block). */
function layoutTable(left: number, rows: [Paragraph[], Paragraph[]][], cantSplit = false): Table {
  const right = PORTRAIT_W - left;
  const cell = (width: number, children: Paragraph[]) => new TableCell({ width: { size: width, type: WidthType.DXA }, borders: NO_BORDERS, children });
  return new Table({
    width: { size: PORTRAIT_W, type: WidthType.DXA },
    columnWidths: [left, right],
    layout: TableLayoutType.FIXED,
    borders: NO_BORDERS,
    rows: rows.map(([l, r]) => new TableRow({ cantSplit, children: [cell(left, l), cell(right, r)] })),
  });
}

function headerTable(doc: ReportDoc, l: ReturnType<typeof letterOf>): Table {
  const left = mm(70);
  return layoutTable(left, [
    [
      [centred(l.parentBody.toUpperCase(), { size: pt(12) }), centred(l.issuer.toUpperCase(), { size: pt(12), bold: true }), rule(left, mm(22))],
      [centred('CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', { size: pt(12), bold: true }), centred('Độc lập - Tự do - Hạnh phúc', { size: pt(14), bold: true, underline: {} })],
    ],
    [
      [centred(`Số:       /${l.symbol}`, { size: pt(13) }, { spacing: { before: 120 } })],
      [centred(`${l.place}, ngày     tháng     năm ${yearOf(doc)}`, { size: pt(14), italics: true }, { spacing: { before: 120 } })],
    ],
  ]);
}

/** The report is signed after its period, so the year printed is the one it is generated in; the clerk adds the day. */
const yearOf = (doc: ReportDoc) => date(doc.generatedAt).slice(-4);

function addressees(l: LetterConfig): Paragraph[] {
  const o = { spacing: { before: 240, after: 240 } };
  if (l.addressees.length === 1) return [centred(`Kính gửi: ${l.addressees[0]}.`, { size: pt(BODY) }, o)];
  return [
    para('Kính gửi:', { indent: { left: mm(25) }, spacing: { before: 240 } }, { size: pt(BODY) }),
    ...l.addressees.map((a, i) => para(`- ${a}${i === l.addressees.length - 1 ? '.' : ';'}`, { indent: { left: mm(50) }, spacing: { after: i === l.addressees.length - 1 ? 240 : 0 } }, { size: pt(BODY) })),
  ];
}

/** A grid table: header row repeated on every page, numbers right-aligned. */
function gridTable(columns: { header: string; type: ColType; width: number }[], rows: Cell[][], width: number, size: number, marked?: boolean[]): Table {
  const total = columns.reduce((s, c) => s + c.width, 0);
  const widths = columns.map((c) => Math.floor((c.width / total) * width));
  const margins = { top: 30, bottom: 30, left: 60, right: 60 };
  const cell = (text: string, i: number, head: boolean, shade?: string) =>
    new TableCell({
      width: { size: widths[i]!, type: WidthType.DXA },
      margins,
      verticalAlign: VerticalAlignTable.CENTER,
      ...(shade ? { shading: { fill: shade, color: 'auto', type: 'clear' as const } } : {}),
      children: [para(text, { alignment: head ? AlignmentType.CENTER : NUMERIC.has(columns[i]!.type) ? AlignmentType.RIGHT : AlignmentType.LEFT }, { size: pt(size), bold: head })],
    });
  return new Table({
    width: { size: widths.reduce((a, b) => a + b, 0), type: WidthType.DXA },
    columnWidths: widths,
    layout: TableLayoutType.FIXED,
    borders: GRID,
    rows: [
      new TableRow({ tableHeader: true, cantSplit: true, children: columns.map((c, i) => cell(c.header, i, true, 'D9D9D9')) }),
      ...rows.map((r, ri) => new TableRow({ cantSplit: true, children: columns.map((c, i) => cell(cellText(c.type, r[i] ?? null), i, false, marked?.[ri] ? 'F2DCDB' : undefined)) })),
    ],
  });
}

/** What the analyst is asked to write under each table, by report kind. */
const ASK: Record<ReportDoc['kind'], { results: string; causes: string; proposals: string }> = {
  dost: {
    results: 'nhận xét về các xã/phường chưa đạt mức xanh và các dịch vụ bị gián đoạn nhiều nhất trong kỳ, so sánh với kỳ trước',
    causes: 'nguyên nhân chính của các sự cố (đường truyền xã, nhà mạng, dịch vụ, mất điện...) và các biện pháp đã thực hiện',
    proposals: 'đề xuất với Ủy ban nhân dân tỉnh và kiến nghị với các nhà mạng, đơn vị vận hành dịch vụ',
  },
  carrier: {
    results: 'nhận xét về các vùng lõm sóng, khung giờ chất lượng kém và việc đáp ứng quy chuẩn của nhà mạng trong kỳ',
    causes: 'nguyên nhân do nhà mạng nêu và các biện pháp khắc phục đã thực hiện',
    proposals: 'yêu cầu nhà mạng khắc phục, nâng cấp đường truyền, thời hạn thực hiện',
  },
};

function letterBody(doc: ReportDoc, l: ReturnType<typeof letterOf>): FileChild[] {
  const ask = ASK[doc.kind];
  const appendix = (i: number) => `Phụ lục ${ROMAN[i] ?? i + 1}`;
  const out: FileChild[] = [
    body(`Trên cơ sở số liệu của hệ thống giám sát kết nối mạng và dịch vụ công trực tuyến, ${l.issuer} báo cáo ${doc.abstract.charAt(0).toLowerCase() + doc.abstract.slice(1)} như sau:`),
    heading('I. KẾT QUẢ CHUNG'),
    heading('1. Kỳ báo cáo và phạm vi'),
    ...doc.meta.map(([k, v]) => body(`- ${k}: ${v}.`)),
    heading('2. Số liệu tổng hợp'),
    gridTable(
      [
        { header: 'STT', type: 'int', width: 1 },
        { header: 'Chỉ tiêu', type: 'text', width: 6 },
        { header: 'Số liệu', type: 'text', width: 3 },
      ],
      doc.summary.map(([k, v], i) => [i + 1, k, v]),
      PORTRAIT_W,
      13,
    ),
    para('', { spacing: { after: 120 } }),
    heading(`3. ${doc.definitions.title}`),
    ...doc.definitions.lines.map((d) => body(`- ${d}`)),
    heading('II. KẾT QUẢ CHI TIẾT'),
  ];
  doc.tables.forEach((t, i) => {
    out.push(heading(`${i + 1}. ${t.title}`));
    out.push(body(t.rows.length ? `Số liệu chi tiết tại ${appendix(i)} kèm theo (${num(t.rows.length)} dòng).` : `${t.empty}`));
  });
  out.push(todo(ask.results));
  out.push(heading('III. ĐÁNH GIÁ, NGUYÊN NHÂN'), todo(ask.causes));
  out.push(heading('IV. KIẾN NGHỊ, ĐỀ XUẤT'), todo(ask.proposals));
  out.push(body(`Trên đây là báo cáo ${doc.abstract.charAt(0).toLowerCase() + doc.abstract.slice(1)}, kính báo cáo ${l.addressees.join(', ')} xem xét, chỉ đạo./.`));
  return out;
}

function signature(l: LetterConfig): Table {
  const rec = l.recipients;
  const s = l.signer;
  return layoutTable(
    mm(80),
    [
      [
        [
          para('Nơi nhận:', { spacing: { before: 120 } }, { size: pt(12), bold: true, italics: true }),
          ...rec.map((r, i) => para(`- ${r}${i === rec.length - 1 ? '.' : ';'}`, {}, { size: pt(11) })),
        ],
        [
          ...(s.authority ? [centred(s.authority.toUpperCase(), { size: pt(BODY), bold: true }, { spacing: { before: 120 } })] : []),
          centred(s.title.toUpperCase(), { size: pt(BODY), bold: true }, s.authority ? {} : { spacing: { before: 120 } }),
          centred('(Ký, ghi rõ họ tên)', { size: pt(BODY), italics: true }),
          // room for the signature and the seal
          ...[0, 1, 2, 3].map(() => para('')),
          centred(s.name ?? '', { size: pt(BODY), bold: true }),
        ],
      ],
    ],
    true,
  );
}

function appendices(doc: ReportDoc, l: ReturnType<typeof letterOf>): FileChild[] {
  const out: FileChild[] = [];
  doc.tables.forEach((t: DocTable, i) => {
    if (!t.rows.length) return;
    out.push(
      centred(`Phụ lục ${ROMAN[i] ?? i + 1}`, { size: pt(BODY), bold: true }, { pageBreakBefore: out.length > 0 }),
      centred(`${t.title} — ${doc.period.label}`.toUpperCase(), { size: pt(BODY), bold: true }),
      centred(`(Kèm theo Báo cáo số       /${l.symbol} ngày     tháng     năm ${yearOf(doc)} của ${l.issuer})`, { size: pt(BODY), italics: true }, { spacing: { after: 200 } }),
      gridTable(t.columns, t.rows, LANDSCAPE_W, t.columns.length > 10 ? 9 : 10, t.highlight),
    );
  });
  return out;
}

const pageNumberHeader = () => new Header({ children: [new Paragraph({ alignment: AlignmentType.CENTER, children: [new TextRun({ children: [PageNumber.CURRENT], size: pt(BODY) })] })] });

export async function docxBuffer(doc: ReportDoc, ctx: DocContext = {}): Promise<Buffer> {
  const l = letterOf(doc, ctx);
  const page = (orientation: (typeof PageOrientation)[keyof typeof PageOrientation]) => ({ size: { ...A4, orientation }, margin: MARGIN });
  const sections: ISectionOptions[] = [
    {
      // no number on the first page; the header holds it from page 2
      properties: { page: page(PageOrientation.PORTRAIT), titlePage: true },
      headers: { default: pageNumberHeader(), first: new Header({ children: [] }) },
      children: [
        headerTable(doc, l),
        centred('BÁO CÁO', { size: pt(BODY), bold: true }, { spacing: { before: 360 } }),
        centred(doc.abstract, { size: pt(BODY), bold: true }),
        rule(PORTRAIT_W, mm(40)),
        ...addressees(l),
        ...letterBody(doc, l),
        signature(l),
      ],
    },
  ];
  const annexes = appendices(doc, l);
  if (annexes.length) sections.push({ properties: { page: page(PageOrientation.LANDSCAPE) }, headers: { default: pageNumberHeader() }, children: annexes });
  const file = new Document({
    creator: 'IOC uptime monitor',
    title: `${doc.title} — ${doc.subtitle}`,
    description: doc.abstract,
    styles: { default: { document: { run: { font: FONT, size: pt(BODY) }, paragraph: { spacing: { before: 0, after: 0 } } } } },
    sections,
  });
  return Buffer.from(await Packer.toBuffer(file));
}

export const docx: Renderer = {
  ext: 'docx',
  contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  render: (doc, ctx: RenderContext & DocContext) => docxBuffer(doc, ctx),
};
