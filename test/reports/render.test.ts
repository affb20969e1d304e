// Renderers from hand-built models (fixtures.ts): CSV byte for byte, XLSX read back with exceljs, PDF through
// poppler (pdftotext for the text and its diacritics, pdffonts for the embedded font, pdftoppm for the pixels
// of the map and the pages).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { csvText } from '../../server/reports/render/csv.ts';
import { layout } from '../../server/reports/render/document.ts';
import { FontError, reportFonts } from '../../server/reports/render/fonts.ts';
import { ascii, date, dateTime, deltaPct, duration, num, pct } from '../../server/reports/render/format.ts';
import { renderers, renderReport } from '../../server/reports/render/index.ts';
import { MAP_FILL, PAGE, mapFrame } from '../../server/reports/render/pdf.ts';
import { NUM_FMT } from '../../server/reports/render/xlsx.ts';
import { BA_TO, CAM_THANH, GENERATED, LY_SON, OCT_1, bigCarrierReport, carrierReport, dostReport, province } from './fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ioc-reports-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('Vietnamese formats', () => {
  it('numbers: decimal comma, thousands dot, fixed decimals', () => {
    expect(num(1234.5, 1)).toBe('1.234,5');
    expect(num(1234567)).toBe('1.234.567');
    expect(num(-0.004, 2)).toBe('0,00');
    expect(num(-12.345, 1)).toBe('-12,3');
    expect(num(null)).toBe('—');
    expect(pct(99.95)).toBe('99,95 %');
    expect(pct(100)).toBe('100,00 %');
    expect(deltaPct(-1.5)).toBe('−1,50 điểm %');
    expect(deltaPct(0.12)).toBe('+0,12 điểm %');
  });
  it('dates and times in Asia/Ho_Chi_Minh, whatever the host zone', () => {
    // 17:30 UTC on 31/10 is already 00:30 on 01/11 in Vietnam
    expect(date(Date.UTC(2026, 9, 31, 17, 30))).toBe('01/11/2026');
    expect(dateTime(Date.UTC(2026, 9, 31, 17, 30))).toBe('01/11/2026 00:30');
    expect(dateTime(OCT_1)).toBe('01/10/2026 00:00');
    expect(duration(2640)).toBe('1 ngày 20 giờ');
    expect(duration(61)).toBe('1 giờ 1 phút');
    expect(duration(0)).toBe('0 phút');
  });
  it('ASCII file names fold the diacritics, including đ', () => {
    expect(ascii('Báo cáo Đặc khu Lý Sơn – Tháng 10')).toBe('Bao cao Dac khu Ly Son  Thang 10');
  });
});

describe('CSV', () => {
  it('carrier report: BOM, `;`, CRLF, facts, definitions and the ranked table exactly', async () => {
    const file = await renderReport(carrierReport(), 'csv', { province });
    expect(file.name).toBe('Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026.csv');
    expect(file.asciiName).toBe('Bao-cao-vung-lom-song-VNPT-Thang-10-2026.csv');
    expect(file.contentType).toBe('text/csv; charset=utf-8');
    expect([...file.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = file.body.toString('utf8').slice(1);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    const lines = text.split('\r\n');
    expect(lines.slice(0, 7)).toEqual([
      'BÁO CÁO VÙNG LÕM SÓNG;Nhà mạng VNPT — Tỉnh Quảng Ngãi — Tháng 10/2026',
      'Nhà mạng;VNPT',
      'Địa bàn;Tỉnh Quảng Ngãi',
      'Kỳ báo cáo;Tháng 10/2026',
      'Từ ngày;01/10/2026',
      'Đến hết ngày;31/10/2026',
      'Thời điểm lập;15/11/2026 07:00 (giờ Việt Nam)',
    ]);
    // the definition used is stated, with the configured thresholds in Vietnamese notation
    expect(lines[7]).toBe(
      'Định nghĩa;Vùng lõm sóng: xã/phường mà trên các đường truyền của VNPT trong kỳ có tỷ lệ khả dụng dưới 99,00 %, ' +
        'hoặc tỷ lệ mất gói trung bình từ 2,00 % trở lên, hoặc độ trễ (RTT) phân vị 95 trên 150 ms.',
    );
    const t = lines.indexOf('Xã/phường theo mức độ (tệ nhất trước)');
    expect(lines.slice(t, t + 6)).toEqual([
      'Xã/phường theo mức độ (tệ nhất trước)',
      'Hạng;Mã xã;Xã/phường;Vùng lõm;Khả dụng (%);Mất gói (%);RTT trung vị (ms);RTT p95 (ms);Giờ suy giảm;Giờ mất kết nối;Khung giờ tệ nhất;Sự cố;Lý do',
      `1;${BA_TO};Xã Ba Tơ;Có;97,13;3,50;48,3;212,4;31,5;21,4;20h–21h, 21h–22h, 7h–8h;2;"Khả dụng 97,13 % < 99,00 %; mất gói 3,50 % ≥ 2,00 %"`,
      `2;${LY_SON};Đặc khu Lý Sơn;Có;98,60;1,20;95,0;1.234,5;12,0;10,4;9h–10h;1;RTT p95 1.234,5 ms > 150 ms`,
      `3;${CAM_THANH};Phường Cẩm Thành;Không;99,95;0,05;8,5;21,0;0,5;0,4;;0;`,
      '4;21115;Xã Trà Bồng;Không;;;;;0,0;0,0;;0;',
    ]);
    const i = lines.indexOf('Danh sách sự cố trong kỳ');
    expect(lines.slice(i + 1, i + 4)).toEqual([
      'Bắt đầu;Kết thúc;Thời lượng trong kỳ (phút);Nguyên nhân;Đối tượng;Xã/phường bị ảnh hưởng;Mô tả;Bảo trì;Mã sự cố',
      `03/10/2026 02:00;03/10/2026 04:30;150;Nhà mạng;VNPT;Xã Ba Tơ, Đặc khu Lý Sơn;Mất kết nối VNPT tại 2 xã/phường;Không;carrier:vnpt:${OCT_1 + 50 * 3_600_000}`,
      `30/10/2026 04:00;Đang diễn ra;2.640;Đường truyền xã;Xã Ba Tơ;Xã Ba Tơ;"Đường truyền xã chất lượng kém; ""mất gói"" 35 %";Không;local_link:${BA_TO}:${OCT_1 + 700 * 3_600_000}`,
    ]);
  });

  it('DOST report: green bar stated, communes with reasons, services with the change from the previous period', () => {
    const lines = csvText(layout(dostReport(), { province })).split('\r\n');
    expect(lines).toContain(
      'Định nghĩa;Mức “xanh”: xã/phường có thời gian hoạt động từ 99,50 % trở lên, không có lần gián đoạn nào dài quá 240 phút và không quá 3 sự cố trong kỳ.',
    );
    expect(lines).toContain('So sánh với;Tháng 9/2026 (01/09/2026–30/09/2026)');
    expect(lines).toContain('Tổng thời gian gián đoạn;1.825 phút');
    const c = lines.indexOf('Theo xã/phường');
    expect(lines.slice(c + 1, c + 5)).toEqual([
      'Mã xã;Xã/phường;Đạt xanh;Hoạt động (%);Số sự cố;Tổng gián đoạn (phút);MTTR (phút);Gián đoạn dài nhất (phút);Bảo trì (phút);Nguyên nhân (số sự cố);Kỳ trước (%);Thay đổi (điểm %);Lý do chưa đạt',
      `${LY_SON};Đặc khu Lý Sơn;Không;98,20;4;1.803;451;1.320;120;Đường truyền xã 1, Nhà mạng 3;99,70;-1,50;Thời gian hoạt động 98,20 % < 99,50 %; gián đoạn dài nhất 1.320 phút > 240 phút`.replace(
        /;Thời gian.*$/,
        ';"Thời gian hoạt động 98,20 % < 99,50 %; gián đoạn dài nhất 1.320 phút > 240 phút"',
      ),
      `${BA_TO};Xã Ba Tơ;Có;99,95;1;22;22;22;0;Dịch vụ 1;99,83;0,12;`,
      '23416;Xã Đăk Sao;Có;100,00;0;0;;0;0;;;;',
    ]);
    const s = lines.indexOf('Theo dịch vụ');
    expect(lines.slice(s + 1, s + 4)).toEqual([
      'Mã dịch vụ;Dịch vụ;Hoạt động (%);Số sự cố;Tổng gián đoạn (phút);MTTR (phút);Gián đoạn dài nhất (phút);Bảo trì (phút);Nguyên nhân (số sự cố);Kỳ trước (%);Thay đổi (điểm %)',
      'dvc;Cổng Dịch vụ công quốc gia;99,90;2;43;22;30;0;Dịch vụ 2;99,10;0,80',
      'ioffice;Hệ thống quản lý văn bản iOffice;;0;0;;0;0;;;',
    ]);
    // service incidents name the service, maintenance is flagged
    expect(lines.some((l) => l.includes(';Dịch vụ;Cổng Dịch vụ công quốc gia;Xã Ba Tơ, Đặc khu Lý Sơn;'))).toBe(true);
    expect(lines.some((l) => l.includes('Bảo trì đường truyền;Có;'))).toBe(true);
  });

  it('text a spreadsheet would run as a formula is neutralised', () => {
    const r = carrierReport();
    r.incidents[0]!.summary = '=HYPERLINK("http://x","y")';
    const text = csvText(layout(r, { province }));
    expect(text).toContain(`;"'=HYPERLINK(""http://x"",""y"")";`);
  });

  it('a scoped DOST report says its scope in the title and the file name', async () => {
    const f = await renderReport(dostReport({ scope: { commune: LY_SON } }), 'csv', { province });
    expect(f.name).toBe('Báo cáo gián đoạn - Đặc khu Lý Sơn - Tháng 10-2026.csv');
    expect(f.body.toString('utf8')).toContain('Phạm vi;Đặc khu Lý Sơn');
  });
});

describe('XLSX', () => {
  const load = async (buf: Buffer) => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
    return wb;
  };

  it('carrier report: a sheet per table, frozen header, numbers with number formats, local times', async () => {
    const f = await renderReport(carrierReport(), 'xlsx', { province });
    expect(f.contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = await load(f.body);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Tổng quan', 'Xã phường', 'Sự cố']);

    const ov = wb.getWorksheet('Tổng quan')!;
    const ovText = ov.getSheetValues().flat().filter((v) => typeof v === 'string');
    expect(ovText).toContain('BÁO CÁO VÙNG LÕM SÓNG');
    expect(ovText.some((v) => (v as string).includes('tỷ lệ khả dụng dưới 99,00 %'))).toBe(true);

    const ws = wb.getWorksheet('Xã phường')!;
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.getRow(1).getCell(3).value).toBe('Xã/phường');
    expect(ws.getRow(1).getCell(5).value).toBe('Khả dụng (%)');
    expect(ws.rowCount).toBe(5);
    const r2 = ws.getRow(2);
    expect(r2.getCell(3).value).toBe('Xã Ba Tơ');
    expect(r2.getCell(4).value).toBe('Có');
    // kept at full precision: the format rounds for display, a formula sees 97.125
    expect(r2.getCell(5).value).toBe(97.125);
    expect(r2.getCell(5).numFmt).toBe(NUM_FMT.pct);
    expect(NUM_FMT.pct).toBe('0.00" %"');
    expect(r2.getCell(8).value).toBe(212.4);
    expect(r2.getCell(8).numFmt).toBe('#,##0.0');
    expect(ws.getRow(3).getCell(3).value).toBe('Đặc khu Lý Sơn');
    // no figure: an empty cell, not a zero
    expect(ws.getRow(5).getCell(5).value).toBeNull();

    const inc = wb.getWorksheet('Sự cố')!;
    expect(inc.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    const start = inc.getRow(2).getCell(1);
    // 02:00 on 03/10/2026 in Vietnam, written as that wall-clock time
    expect(start.value).toEqual(new Date(Date.UTC(2026, 9, 3, 2, 0)));
    expect(start.numFmt).toBe('dd/mm/yyyy hh:mm');
    expect(inc.getRow(3).getCell(2).value).toBe('Đang diễn ra');
    expect(inc.getRow(3).getCell(3).value).toBe(2640);
    expect(inc.getRow(3).getCell(3).numFmt).toBe('#,##0');
  });

  it('DOST report: communes, services (change in points, signed format) and incidents', async () => {
    const wb = await load((await renderReport(dostReport(), 'xlsx', { province })).body);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Tổng quan', 'Xã phường', 'Dịch vụ', 'Sự cố']);
    const ws = wb.getWorksheet('Xã phường')!;
    const head = (ws.getRow(1).values as unknown[]).slice(1);
    const col = (h: string) => head.indexOf(h) + 1;
    expect(ws.getRow(2).getCell(col('Xã/phường')).value).toBe('Đặc khu Lý Sơn');
    expect(ws.getRow(2).getCell(col('Đạt xanh')).value).toBe('Không');
    expect(ws.getRow(2).getCell(col('Thay đổi (điểm %)')).value).toBe(-1.5);
    expect(ws.getRow(2).getCell(col('Thay đổi (điểm %)')).numFmt).toBe('+0.00;-0.00;0.00');
    expect(ws.getRow(2).getCell(col('MTTR (phút)')).value).toBe(450.75);
    expect(ws.getRow(2).getCell(col('Lý do chưa đạt')).value).toContain('1.320 phút > 240 phút');
    const sv = wb.getWorksheet('Dịch vụ')!;
    expect(sv.getRow(2).getCell(2).value).toBe('Cổng Dịch vụ công quốc gia');
    expect(sv.getRow(2).getCell(3).value).toBe(99.9);
  });

  it('an empty table says so under its header', async () => {
    const wb = await load((await renderReport(carrierReport({ incidents: [] }), 'xlsx', { province })).body);
    const inc = wb.getWorksheet('Sự cố')!;
    expect(inc.getRow(2).getCell(1).value).toBe('Không có sự cố nào được quy cho VNPT trong kỳ.');
  });
});

// ---- PDF -------------------------------------------------------------------------------------------------------

const havePoppler = spawnSync('pdftotext', ['-v']).status === 0 && spawnSync('pdftoppm', ['-v']).status === 0;
if (!havePoppler && process.env.CI !== 'true') console.warn('\n!!! SKIPPING PDF checks: pdftotext/pdftoppm missing: apt-get install poppler-utils\n');

function pdfText(file: string, page?: number): string {
  const range = page === undefined ? [] : ['-f', String(page), '-l', String(page)];
  return execFileSync('pdftotext', [...range, '-layout', file, '-'], { encoding: 'utf8' });
}

function pages(file: string): number {
  const m = /Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [file], { encoding: 'utf8' }));
  return Number(m?.[1]);
}

/** One page as RGB pixels at `dpi` (pdftoppm's PPM output is a tiny header plus raw bytes). */
function raster(file: string, page: number, dpi: number) {
  const buf = execFileSync('pdftoppm', ['-f', String(page), '-l', String(page), '-r', String(dpi), file], { maxBuffer: 64 << 20 });
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(buf.subarray(0, 40).toString('latin1'));
  if (!m) throw new Error('pdftoppm did not produce a PPM');
  const [w, h] = [Number(m[1]), Number(m[2])];
  const px = buf.subarray(m[0].length);
  return { w, h, at: (x: number, y: number) => [px[(y * w + x) * 3]!, px[(y * w + x) * 3 + 1]!, px[(y * w + x) * 3 + 2]!] as const };
}

const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
const near = (p: readonly number[], c: number[], tol = 24) => p.every((v, i) => Math.abs(v - c[i]!) <= tol);

describe.skipIf(!havePoppler && process.env.CI !== 'true')('PDF', () => {
  const write = async (name: string, r: Parameters<typeof renderReport>[0]) => {
    const f = await renderReport(r, 'pdf', { province });
    const path = join(tmp, name);
    writeFileSync(path, f.body);
    return { path, file: f };
  };

  it('embeds a font with Vietnamese glyphs and the diacritics survive text extraction', async () => {
    const { path, file } = await write('carrier.pdf', carrierReport());
    expect(file.contentType).toBe('application/pdf');
    expect(file.body.subarray(0, 5).toString()).toBe('%PDF-');
    const fonts = execFileSync('pdffonts', [path], { encoding: 'utf8' });
    // every font embedded (emb = yes) with a ToUnicode map (uni = yes): no reader-side substitution
    const rows = fonts.split('\n').slice(2).filter(Boolean);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r).toMatch(/yes\s+yes\s+yes\s+\d+\s+0$/);
    expect(fonts).toContain(reportFonts().name.replace(/ /g, ''));
    const text = pdfText(path);
    for (const s of ['BÁO CÁO VÙNG LÕM SÓNG', 'Nhà mạng VNPT — Tỉnh Quảng Ngãi — Tháng 10/2026', 'Xã Ba Tơ', 'Đặc khu Lý Sơn', 'Phường Cẩm Thành', '99,95 %', '97,13 %', '1.234,5', 'Đang diễn ra'])
      expect(text).toContain(s);
    // the definition used is in the report
    expect(text.replace(/\s+/g, ' ')).toContain('tỷ lệ khả dụng dưới 99,00 %, hoặc tỷ lệ mất gói trung bình từ 2,00 % trở lên, hoặc độ trễ (RTT) phân vị 95 trên 150 ms');
    expect(pages(path)).toBe(3);
    expect(pdfText(path, 1)).toContain('Trang 1/3');
  });

  it('the map shades exactly the dead zones, where the province file puts them', async () => {
    // only Ba Tơ is a dead zone here
    const r = carrierReport();
    r.rows = r.rows.map((x) => (x.commune === BA_TO ? x : { ...x, deadZone: false, why: null }));
    const { path } = await write('map.pdf', r);
    expect(pdfText(path, 2)).toContain('Bản đồ vùng lõm sóng VNPT');
    const dpi = 72; // 1 px = 1 pt
    const img = raster(path, 2, dpi);
    expect(img.w).toBe(Math.round(PAGE.width));
    const { proj, ox, oy, mapRight } = mapFrame(province);
    const red = hex(MAP_FILL.dead);
    let n = 0, sx = 0, sy = 0;
    for (let y = 0; y < img.h; y++)
      for (let x = 0; x < mapRight; x++)
        if (near(img.at(x, y), red)) {
          n++;
          sx += x;
          sy += y;
        }
    // Ba Tơ's polygon: hundreds of pixels, centred near its centroid
    expect(n).toBeGreaterThan(300);
    const ba = province.communes.find((c) => c.code === BA_TO)!;
    const [cx, cy] = proj.project(ba.centroid[0], ba.centroid[1]);
    expect(Math.hypot(sx / n - (ox + cx), sy / n - (oy + cy))).toBeLessThan(12);
    // a measured, healthy commune is green; Lý Sơn (not a dead zone now) is not red
    const cam = province.communes.find((c) => c.code === CAM_THANH)!;
    const [gx, gy] = proj.project(cam.centroid[0], cam.centroid[1]);
    expect(near(img.at(Math.round(ox + gx), Math.round(oy + gy)), hex(MAP_FILL.ok), 30)).toBe(true);

    // no dead zones: no red on the map at all
    const { path: clean } = await write('map-clean.pdf', carrierReport({ rows: r.rows.map((x) => ({ ...x, deadZone: false, why: null })) }));
    const img2 = raster(clean, 2, dpi);
    let n2 = 0;
    for (let y = 0; y < img2.h; y++) for (let x = 0; x < mapRight; x++) if (near(img2.at(x, y), red)) n2++;
    expect(n2).toBe(0);
    expect(pdfText(clean, 2)).toContain('Không có vùng lõm sóng trong kỳ.');
  });

  it('long tables run over pages with the header row repeated on each', async () => {
    const { path } = await write('big.pdf', bigCarrierReport());
    const n = pages(path);
    expect(n).toBeGreaterThanOrEqual(4);
    let tablePages = 0;
    for (let p = 3; p <= n; p++) {
      const t = pdfText(path, p);
      if (!t.includes('Xã/phường')) continue;
      tablePages++;
      expect(t).toContain('Khả dụng');
      expect(t).toContain(`Trang ${p}/${n}`);
    }
    expect(tablePages).toBeGreaterThanOrEqual(2);
    // every commune made it into the table, once
    const all = Array.from({ length: n - 2 }, (_, i) => pdfText(path, i + 3)).join('\n');
    for (const c of province.communes) expect(all).toContain(c.code);
  });

  it('DOST report: diacritics, green bar, the period compared, page images', async () => {
    const { path } = await write('dost.pdf', dostReport());
    const text = pdfText(path);
    for (const s of ['BÁO CÁO LỊCH SỬ GIÁN ĐOẠN DỊCH VỤ', 'Tháng 10/2026', 'Tháng 9/2026', 'Đặc khu Lý Sơn', 'Xã Đăk Sao', 'Cổng Dịch vụ công quốc gia', 'Hệ thống quản lý văn bản iOffice', '99,95 %', '−1,50', '1.825 phút'])
      expect(text).toContain(s);
    expect(text.replace(/\s+/g, ' ')).toContain('Mức “xanh”: xã/phường có thời gian hoạt động từ 99,50 % trở lên');
    // pages render to images (kept for a look: IOC_REPORT_PNG_DIR=/some/dir)
    const out = process.env.IOC_REPORT_PNG_DIR ?? tmp;
    execFileSync('pdftoppm', ['-r', '80', '-png', path, join(out, 'dost')]);
    execFileSync('pdftoppm', ['-r', '80', '-png', join(tmp, 'carrier.pdf'), join(out, 'carrier')]);
    const png = readFileSync(join(out, 'dost-1.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
  });
});

describe('fonts', () => {
  it('a configured font that does not exist is a clear error', () => {
    expect(() => reportFonts({ IOC_REPORT_FONT: '/nonexistent/font.ttf' })).toThrow(FontError);
    expect(() => reportFonts({ IOC_REPORT_FONT: '/nonexistent/font.ttf' })).toThrow(/nonexistent\/font\.ttf does not exist/);
  });
  it('the default is the npm-shipped Be Vietnam Pro', () => {
    expect(reportFonts({}).name).toBe('Be Vietnam Pro');
  });
});

it('every format has a renderer (registry)', () => {
  expect(Object.keys(renderers).sort()).toEqual(['csv', 'docx', 'pdf', 'xlsx']);
  expect(GENERATED).toBe(Date.UTC(2026, 10, 15));
});
