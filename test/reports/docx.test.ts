// The Word report (server/reports/render/docx.ts): opened with a real zip reader (word/document.xml) for the
// structure of an administrative document (Decree 30/2020/NĐ-CP) and the figures of the model, downloaded through
// the generic route with the configured issuer, and converted to PDF by LibreOffice for the pages (A4, diacritics,
// page 1 rendered with pdftoppm).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { reportsSchema } from '../../config/schema.ts';
import type { AuthEnv } from '../../server/auth/middleware.ts';
import { buildDirectory } from '../../server/directory.ts';
import { apiErrorHandler } from '../../server/http/errors.ts';
import { periodHelpers } from '../../server/reports/data/periods.ts';
import { createReports } from '../../server/reports/index.ts';
import { layout } from '../../server/reports/render/document.ts';
import { cellText } from '../../server/reports/render/docx.ts';
import { num, pct } from '../../server/reports/render/format.ts';
import { renderReport } from '../../server/reports/render/index.ts';
import { createStore } from '../../server/stores/index.ts';
import { carrierReport, dostReport, province } from './fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ioc-docx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---- a small reader of WordprocessingML: paragraphs and tables in body order, with their text ---------------------

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const textOf = (xml: string) => [...xml.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>/g)].map((m) => unescape(m[1]!)).join('');
/** Top-level elements of a container's XML (w:p, w:tbl, w:tr, w:tc), tracking nesting of the same tag. */
function children(xml: string, tag: string): string[] {
  const out: string[] = [];
  const open = new RegExp(`<${tag}[ >]|</${tag}>`, 'g');
  let depth = 0;
  let start = -1;
  for (const m of xml.matchAll(open)) {
    if (m[0].startsWith('</')) {
      if (--depth === 0) out.push(xml.slice(start, m.index + m[0].length));
    } else if (depth++ === 0) start = m.index;
  }
  return out;
}
type Block = { type: 'p'; text: string; xml: string } | { type: 'tbl'; rows: string[][]; xml: string };
function blocks(documentXml: string): Block[] {
  const body = documentXml.slice(documentXml.indexOf('<w:body>') + 8, documentXml.lastIndexOf('</w:body>'));
  const out: Block[] = [];
  for (const m of body.matchAll(/<w:p[ >][\s\S]*?<\/w:p>|<w:p\/>|<w:tbl>/g)) {
    if (m[0] === '<w:tbl>') {
      const xml = children(body.slice(m.index), 'w:tbl')[0]!;
      out.push({ type: 'tbl', xml, rows: children(xml, 'w:tr').map((tr) => children(tr, 'w:tc').map((tc) => children(tc, 'w:p').map(textOf).join('\n'))) });
    }
  }
  // paragraphs outside tables, in order, merged with the tables by position
  const tables = [...body.matchAll(/<w:tbl>/g)].map((m) => ({ at: m.index, xml: children(body.slice(m.index), 'w:tbl')[0]! }));
  const inTable = (i: number) => tables.some((t) => i >= t.at && i < t.at + t.xml.length);
  const paras = [...body.matchAll(/<w:p[ >][\s\S]*?<\/w:p>/g)].filter((m) => !inTable(m.index)).map((m) => ({ at: m.index, b: { type: 'p' as const, text: textOf(m[0]), xml: m[0] } }));
  const tbls = tables.map((t, i) => ({ at: t.at, b: out[i]! }));
  return [...paras, ...tbls].sort((a, b) => a.at - b.at).map((x) => x.b);
}

async function open(body: Buffer) {
  const zip = await JSZip.loadAsync(body);
  const documentXml = await zip.file('word/document.xml')!.async('string');
  const styles = await zip.file('word/styles.xml')!.async('string');
  return { zip, documentXml, styles, blocks: blocks(documentXml) };
}
const paragraphs = (b: Block[]) => b.filter((x): x is Extract<Block, { type: 'p' }> => x.type === 'p');
const tables = (b: Block[]) => b.filter((x): x is Extract<Block, { type: 'tbl' }> => x.type === 'tbl');

// ---- the DOST monthly report -----------------------------------------------------------------------------------

const report = dostReport();
const letter = reportsSchema.shape.document.parse({ signer: { authority: 'KT. GIÁM ĐỐC', title: 'PHÓ GIÁM ĐỐC' }, recipients: ['Như trên', 'UBND tỉnh (để b/c)', 'Lưu: VT, TTCNTT'] });
let docx: Buffer;
let d: Awaited<ReturnType<typeof open>>;
beforeAll(async () => {
  const f = await renderReport(report, 'docx', { province, letter });
  expect(f.name).toBe('Báo cáo gián đoạn - Tháng 10-2026.docx');
  expect(f.contentType).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
  docx = f.body;
  d = await open(docx);
});

describe('DOST monthly report as a Word document (Decree 30/2020/NĐ-CP)', () => {
  it('header table: issuing body left, national title and underlined motto right, number and place/date for the clerk', () => {
    const [head] = tables(d.blocks);
    expect(d.blocks[0]!.type).toBe('tbl'); // the document opens with it
    expect(head!.rows).toEqual([
      ['UBND TỈNH QUẢNG NGÃI\nSỞ KHOA HỌC VÀ CÔNG NGHỆ\n', 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc'],
      ['Số:       /BC-SKHCN', 'Quảng Ngãi, ngày     tháng     năm 2026'],
    ]);
    // borderless layout table; the motto's run is underlined, the place and date italic
    expect(head!.xml).toMatch(/<w:tblBorders>[\s\S]*?w:val="none"/);
    const motto = /<w:r>(?:(?!<\/w:r>)[\s\S])*Độc lập - Tự do - Hạnh phúc<\/w:t><\/w:r>/.exec(head!.xml)![0];
    expect(motto).toContain('<w:u w:val="single"/>');
    expect(motto).toContain('<w:b/>');
    expect(/<w:r>(?:(?!<\/w:r>)[\s\S])*Quảng Ngãi, ngày/.exec(head!.xml)![0]).toContain('<w:i/>');
  });

  it('title, summary line, addressee, numbered sections in order, narrative parts marked as to be completed', () => {
    const ps = paragraphs(d.blocks).map((p) => p.text).filter(Boolean);
    const at = (s: string | RegExp) => ps.findIndex((p) => (typeof s === 'string' ? p === s : s.test(p)));
    const order = [
      'BÁO CÁO',
      'Kết quả giám sát gián đoạn đường truyền và dịch vụ công trực tuyến tháng 10/2026',
      'Kính gửi: Ủy ban nhân dân tỉnh.',
      'I. KẾT QUẢ CHUNG',
      '1. Kỳ báo cáo và phạm vi',
      '2. Số liệu tổng hợp',
      '3. Định nghĩa sử dụng trong báo cáo',
      'II. KẾT QUẢ CHI TIẾT',
      '1. Theo xã/phường',
      '2. Theo dịch vụ',
      '3. Danh sách sự cố trong kỳ',
      'III. ĐÁNH GIÁ, NGUYÊN NHÂN',
      'IV. KIẾN NGHỊ, ĐỀ XUẤT',
    ].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(ps).toContain('- Kỳ báo cáo: Tháng 10/2026.');
    expect(ps).toContain('- Từ ngày: 01/10/2026.');
    expect(ps).toContain('Số liệu chi tiết tại Phụ lục I kèm theo (3 dòng).');
    expect(ps.at(at('IV. KIẾN NGHỊ, ĐỀ XUẤT') + 2)).toMatch(/^Trên đây là báo cáo kết quả giám sát .* tháng 10\/2026, kính báo cáo Ủy ban nhân dân tỉnh xem xét, chỉ đạo\.\/\.$/);
    // three parts for the analyst, highlighted so none goes out unnoticed
    const todo = paragraphs(d.blocks).filter((p) => p.text.startsWith('[Cần bổ sung:'));
    expect(todo).toHaveLength(3);
    for (const p of todo) expect(p.xml).toContain('<w:highlight w:val="yellow"/>');
    // body text justified with a first-line indent; bold headings
    const first = paragraphs(d.blocks).find((p) => p.text.startsWith('Trên cơ sở số liệu'))!;
    expect(first.text).toContain('Sở Khoa học và Công nghệ báo cáo kết quả giám sát');
    expect(first.xml).toContain('<w:jc w:val="both"/>');
    expect(first.xml).toMatch(/<w:ind w:firstLine="720"\/>/);
  });

  it('tables carry the model\'s figures: the summary in the body, every row of the report in the appendices', () => {
    // in body order: header, summary, signature block, then the appendices
    const [, summary, , communes, services, incidents] = tables(d.blocks);
    expect(summary!.rows).toEqual([
      ['STT', 'Chỉ tiêu', 'Số liệu'],
      ['1', 'Số xã/phường', num(report.summary.communes)],
      ['2', 'Đạt mức xanh', num(report.summary.green)],
      ['3', 'Chưa đạt', num(report.summary.notGreen)],
      ['4', 'Số sự cố', num(report.summary.incidents)],
      ['5', 'Tổng thời gian gián đoạn', `${num(report.summary.downtimeMin)} phút`],
    ]);
    // appendix I: one row per commune of the model, in its order, with its figures
    expect(communes!.rows[0]!.slice(0, 4)).toEqual(['Mã xã', 'Xã/phường', 'Đạt xanh', 'Hoạt động (%)']);
    expect(communes!.rows.slice(1).map((r) => r.slice(0, 6))).toEqual(
      report.communes.map((c) => [c.commune, c.name, c.green ? 'Có' : 'Không', pct(c.uptimePct), num(c.incidents), num(c.downtimeMin)]),
    );
    expect(communes!.rows[1]).toContain('−1,50');
    expect(services!.rows.slice(1).map((r) => [r[0], r[1], r[2]])).toEqual(report.services.map((s) => [s.target, s.name, pct(s.uptimePct)]));
    expect(incidents!.rows).toHaveLength(report.incidents.length + 1);
    // the header row repeats on every page of a long table
    expect(communes!.xml).toContain('<w:tblHeader/>');
    // the appendix layout equals the shared layout's cells, typeset by cellText
    const t = layout(report, { province }).tables[0]!;
    expect(communes!.rows.slice(1)).toEqual(t.rows.map((r) => t.columns.map((c, i) => cellText(c.type, r[i] ?? null))));
    // every appendix says what it is attached to
    const ps = paragraphs(d.blocks).map((p) => p.text);
    expect(ps).toContain('Phụ lục I');
    expect(ps).toContain('THEO XÃ/PHƯỜNG — THÁNG 10/2026');
    expect(ps).toContain('(Kèm theo Báo cáo số       /BC-SKHCN ngày     tháng     năm 2026 của Sở Khoa học và Công nghệ)');
  });

  it('signature block with the configured authority and "Nơi nhận:" list', () => {
    const block = tables(d.blocks).find((t) => t.rows[0]![0]!.startsWith('Nơi nhận:'))!;
    expect(block.rows[0]![0]).toBe('Nơi nhận:\n- Như trên;\n- UBND tỉnh (để b/c);\n- Lưu: VT, TTCNTT.');
    expect(block.rows[0]![1]!.split('\n').filter(Boolean)).toEqual(['KT. GIÁM ĐỐC', 'PHÓ GIÁM ĐỐC', '(Ký, ghi rõ họ tên)']);
  });

  it('A4 portrait in Times New Roman 14 pt with the decree\'s margins; the appendices on landscape pages', () => {
    const sects = [...d.documentXml.matchAll(/<w:sectPr[\s\S]*?<\/w:sectPr>/g)].map((m) => m[0]);
    expect(sects).toHaveLength(2);
    expect(sects[0]).toMatch(/<w:pgSz w:w="11906" w:h="16838" w:orient="portrait"\/>/);
    expect(sects[1]).toMatch(/<w:pgSz w:w="16838" w:h="11906" w:orient="landscape"\/>/);
    // top 20 mm, right 15 mm, bottom 20 mm, left 30 mm
    expect(sects[0]).toMatch(/<w:pgMar w:top="1134" w:right="850" w:bottom="1134" w:left="1701"/);
    // no page number on page 1
    expect(sects[0]).toContain('<w:titlePg/>');
    expect(d.styles).toMatch(/<w:docDefaults>[\s\S]*<w:rFonts w:ascii="Times New Roman"[\s\S]*<w:sz w:val="28"\/>/);
  });

  it('the carrier report is a Word document too, addressed the same way', async () => {
    const c = await open((await renderReport(carrierReport(), 'docx', { province })).body);
    const ps = paragraphs(c.blocks).map((p) => p.text);
    expect(ps).toContain('Tình hình vùng lõm sóng và chất lượng đường truyền của nhà mạng VNPT tháng 10/2026');
    expect(ps).toContain('Kính gửi: Ủy ban nhân dân tỉnh.');
    const rows = tables(c.blocks)[3]!.rows;
    expect(rows.slice(1).map((r) => [r[1], r[2], r[4]])).toEqual(carrierReport().rows.map((x) => [x.commune, x.name, pct(x.availabilityPct)]));
    // default signer: the director, name left for the signature
    const block = tables(c.blocks).find((t) => t.rows[0]![0]!.startsWith('Nơi nhận:'))!;
    expect(block.rows[0]![0]).toBe('Nơi nhận:\n- Như trên;\n- Lưu: VT.');
    expect(block.rows[0]![1]!.split('\n').filter(Boolean)).toEqual(['GIÁM ĐỐC', '(Ký, ghi rõ họ tên)']);
  });
});

// ---- through the server: config reports.document, the runner, GET /api/reports/:id/docx -------------------------

describe('GET /api/reports/:id/docx', () => {
  it('serves the Word file the runner generated, with the configured issuing body', async () => {
    const root = join(tmp, 'server');
    const cfg = parseConfig({
      province: { code: '51' },
      server: { dataDir: root },
      store: { kind: 'duckdb', path: join(root, 'store.duckdb') },
      carriers: [{ id: 'vnpt', name: 'VNPT' }],
      targets: [{ id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '127.0.0.1' }],
      reports: { enabled: false, document: { parentBody: 'UBND tỉnh Quảng Ngãi', issuer: 'Sở Khoa học và Công nghệ', symbol: 'BC-KHCN', addressees: ['Ủy ban nhân dân tỉnh', 'Bộ Khoa học và Công nghệ'] } },
    });
    expect(cfg.reports.formats).toContain('docx');
    const store = createStore(cfg.store, { dataDir: root });
    await store.init();
    const reports = createReports({ config: cfg, dir: buildDirectory(cfg, province), store, build: async () => report });
    try {
      const e = reports.runner.submit({ kind: 'dost', scope: {}, period: { ...periodHelpers.containing('month', report.period.from + 1), type: 'month' } }, { trigger: 'manual' });
      await reports.runner.idle();
      const app = new Hono<AuthEnv>();
      app.onError(apiErrorHandler());
      app.use('*', async (c, next) => {
        c.set('user', { username: 'sokhcn', role: 'dost' } as AuthEnv['Variables']['user']);
        await next();
      });
      app.route('/api/reports', reports.routes);
      const res = await app.request(`/api/reports/${e.id}/docx`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
      expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''B%C3%A1o%20c%C3%A1o");
      const got = await open(Buffer.from(await res.arrayBuffer()));
      expect(tables(got.blocks)[0]!.rows[1]![0]).toBe('Số:       /BC-KHCN');
      const ps = paragraphs(got.blocks).map((p) => p.text);
      expect(ps).toContain('Kính gửi:');
      expect(ps).toContain('- Ủy ban nhân dân tỉnh;');
      expect(ps).toContain('- Bộ Khoa học và Công nghệ.');
    } finally {
      await reports.close();
      await store.close();
    }
  });
});

// ---- LibreOffice: the document converts to PDF and its pages look like a department's document -----------------

const haveSoffice = spawnSync('soffice', ['--version']).status === 0 && spawnSync('pdftotext', ['-v']).status === 0;
if (!haveSoffice && process.env.CI !== 'true') console.warn('\n!!! SKIPPING Word->PDF checks: soffice/pdftotext missing: apt-get install libreoffice-writer fonts-liberation2 poppler-utils\n');

describe.skipIf(!haveSoffice && process.env.CI !== 'true')('converted to PDF by LibreOffice', () => {
  let pdf: string;
  beforeAll(() => {
    const src = join(tmp, 'dost.docx');
    writeFileSync(src, docx);
    // its own profile, so a LibreOffice already running elsewhere on the machine does not take the job
    execFileSync('soffice', [`-env:UserInstallation=file://${join(tmp, 'lo-profile')}`, '--headless', '--convert-to', 'pdf', '--outdir', tmp, src], { stdio: 'pipe', timeout: 110_000 });
    pdf = join(tmp, 'dost.pdf');
  }, 120_000);

  it('A4 pages (portrait letter, landscape appendices); the text keeps its diacritics', () => {
    const info = execFileSync('pdfinfo', ['-f', '1', '-l', '99', pdf], { encoding: 'utf8' });
    const sizes = [...info.matchAll(/Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    expect(sizes[0]).toEqual([595, 842]);
    expect(sizes.at(-1)).toEqual([842, 595]);
    const page1 = execFileSync('pdftotext', ['-f', '1', '-l', '1', '-layout', pdf, '-'], { encoding: 'utf8' });
    for (const s of ['UBND TỈNH QUẢNG NGÃI', 'SỞ KHOA HỌC VÀ CÔNG NGHỆ', 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', 'Độc lập - Tự do - Hạnh phúc', 'BÁO CÁO', 'Kính gửi: Ủy ban nhân dân tỉnh.', 'I. KẾT QUẢ CHUNG'])
      expect(page1).toContain(s);
    const all = execFileSync('pdftotext', [pdf, '-'], { encoding: 'utf8' });
    for (const s of ['Nơi nhận:', 'PHÓ GIÁM ĐỐC', '(Ký, ghi rõ họ tên)', 'Phụ lục I', ...report.communes.map((c) => c.name)]) expect(all).toContain(s);
    // LibreOffice drew it in Times New Roman's metric twin (no fallback font that would lose diacritics or width)
    const fonts = execFileSync('pdffonts', [pdf], { encoding: 'utf8' });
    expect(fonts).toMatch(/LiberationSerif|TimesNewRoman/);
  });

  it('page 1 renders: the header band and the body are inked, the margins are white', () => {
    const png = join(tmp, 'page1');
    execFileSync('pdftoppm', ['-f', '1', '-l', '1', '-r', '50', '-png', '-singlefile', pdf, png]);
    expect(readFileSync(`${png}.png`).subarray(1, 4).toString()).toBe('PNG');
    // the same page as raw pixels (PPM) to look at the ink
    const buf = execFileSync('pdftoppm', ['-f', '1', '-l', '1', '-r', '50', '-gray', pdf], { maxBuffer: 16 << 20 });
    const m = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(buf.subarray(0, 40).toString('latin1'))!;
    const [w, h] = [Number(m[1]), Number(m[2])];
    const px = buf.subarray(m[0].length);
    const ink = (x0: number, y0: number, x1: number, y1: number) => {
      let n = 0;
      for (let y = Math.floor(y0 * h); y < y1 * h; y++) for (let x = Math.floor(x0 * w); x < x1 * w; x++) if (px[y * w + x]! < 128) n++;
      return n;
    };
    expect(ink(0.15, 0.05, 0.5, 0.12)).toBeGreaterThan(50); // issuing body
    expect(ink(0.5, 0.05, 0.95, 0.12)).toBeGreaterThan(50); // national title and motto
    expect(ink(0.15, 0.3, 0.95, 0.9)).toBeGreaterThan(1000); // body
    expect(ink(0, 0, 1, 0.04)).toBe(0); // top margin: no page number on page 1
    expect(ink(0, 0, 0.1, 1)).toBe(0); // left margin (30 mm)
  });
});
