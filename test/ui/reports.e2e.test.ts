// The reports page in a real headless Chromium against a real server (DuckDB, real report runner, real PDF/XLSX/CSV
// renderers) and real WebSocket agents: an operator generates the DOST monthly report for the previous month from
// the form, watches its progress to the end, finds it in the archive and downloads a real PDF; a carrier report
// with data goes through the custom-period path; the filters work; a carrier account is offered no DOST report
// and sees none of another carrier's reports, in the page and from the API. A report the previous server process
// left half-made (written with the real archive before start) shows as failed with its reason and attempt count.
// Needs `npm run build` first (the test script does it) and Debian's chromium at /usr/bin/chromium.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ReportArchive } from '../../server/reports/archive.ts';
import { containingPeriod } from '../../server/reports/data/periods.ts';
import { startTestServer, login, type TestServer } from '../helpers/server.ts';
import { connectAgent, icmpOk, icmpLost, type TestAgentClient } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, openLoggedIn, requireBuiltUi } from '../helpers/browser.ts';

const hasChromium = chromiumAvailable('test/ui/reports.e2e.test.ts');

const PW = 'mat-khau-thu-nghiem-42';
const OPERATOR = { username: 'vanhanh', password: PW, role: 'operator' as const };
const CARRIER = { username: 'kysu-vnpt', password: PW, role: 'carrier' as const, carrier: 'vnpt' };
// Real communes of Quảng Ngãi (config/provinces/51.json): Cẩm Thành on Viettel (loses a few rounds), Nghĩa Lộ on VNPT.
const VIETTEL = { id: 'agent-camthanh', commune: '21025', carrier: 'viettel' };
const VNPT = { id: 'agent-nghialo', commune: '21028', carrier: 'vnpt' };

interface Entry {
  id: string;
  kind: 'carrier' | 'dost';
  carrier: string | null;
  status: string;
  period: { type: string; from: number; to: number; label: string };
  generatedAt: number | null;
  requestedBy: string | null;
  files: Record<string, { name: string; contentType: string; bytes: number }>;
}

/** Vietnamese wall-clock fields of an instant, computed here independently of the UI's code. */
function vnFields(ts: number) {
  const p = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(ts))
    .reduce<Record<string, string>>((o, x) => ((o[x.type] = x.value), o), {});
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day), dd: p.day!, mm: p.month!, hh: p.hour!, mi: p.minute! };
}

describe.skipIf(!hasChromium)('reports page (chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let desk: Page;
  const agents: TestAgentClient[] = [];
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const requests: string[] = [];
  let dostId = '';
  let viettelId = '';
  /** the report interrupted by a "restart": Viettel, two days ago, on its 2nd attempt */
  let brokenId = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'ioc-reports-e2e-'));

  async function openAs(user: { username: string; password: string }, path = '/#/reports'): Promise<Page> {
    // An English locale: dates on screen must still be Vietnamese, dd/mm/yyyy.
    const page = await openLoggedIn(browser, server.url + path, user, { requests, pageErrors, contexts }, { viewport: { width: 1600, height: 1000 }, locale: 'en-US' });
    await page.waitForSelector('form.report-form', { timeout: 15_000 });
    return page;
  }

  async function apiList(user: { username: string; password: string }): Promise<Entry[]> {
    const cookie = await login(server.url, user.username, user.password);
    const r = await fetch(`${server.url}/api/reports`, { headers: { cookie } });
    expect(r.status).toBe(200);
    return (await r.json()) as Entry[];
  }

  /** Submit the form and follow the job on the page to its end; returns the report id and the poll times seen. */
  async function generate(page: Page): Promise<{ id: string; body: Record<string, unknown>; polls: number[] }> {
    const polls: number[] = [];
    const onReq = (r: { url(): string }) => {
      if (r.url().includes('/api/reports/jobs/')) polls.push(Date.now());
    };
    page.on('request', onReq);
    const posted = page.waitForResponse((r) => r.url().endsWith('/api/reports') && r.request().method() === 'POST');
    await page.click('form.report-form button[type=submit]');
    const res = await posted;
    expect(res.status()).toBe(202);
    const body = JSON.parse(res.request().postData() ?? '{}') as Record<string, unknown>;
    const { id } = (await res.json()) as { id: string };
    await page.waitForSelector(`[data-job="${id}"]`, { timeout: 5000 });
    await page.waitForSelector(`[data-job="${id}"][data-job-status="done"]`, { timeout: 60_000 });
    page.off('request', onReq);
    return { id, body, polls };
  }

  beforeAll(async () => {
    requireBuiltUi();
    // A previous process died while generating a report: the archive on disk still says "running". Manual, not
    // scheduled: a scheduled entry would make the server's start-up catch-up submit that schedule's reports.
    const twoDaysAgo = Date.now() - 2 * 86_400_000;
    const before = new ReportArchive(dataDir, () => twoDaysAgo).open();
    const week = containingPeriod('week', twoDaysAgo - 7 * 86_400_000);
    brokenId = before.create({ kind: 'carrier', carrier: 'viettel', scope: {}, period: { type: 'week', ...week }, formats: ['pdf', 'xlsx', 'csv'], trigger: 'manual', schedule: null, requestedBy: OPERATOR.username }).id;
    before.update(brokenId, (e) => {
      e.status = 'running';
      e.attempts = 2;
    });
    server = await startTestServer({ ui: true, users: [OPERATOR, CARRIER], agents: [VIETTEL, VNPT], dataDir });
    browser = await launchChromium();
    // A few minutes of results today, so the carrier report over today has figures (3 of Viettel's 8 rounds lost).
    for (const a of [VIETTEL, VNPT]) {
      const c = await connectAgent(server.url, a.id, server.tokens[a.id]!);
      await c.hello();
      agents.push(c);
      const t0 = Date.now() - 8 * 30_000;
      for (let i = 0; i < 8; i++) {
        const ts = t0 + i * 30_000;
        const lost = a === VIETTEL && i >= 3 && i < 6;
        const ack = await c.batch(lost ? [icmpLost('gw', ts), icmpLost('dc', ts)] : [icmpOk('gw', ts, 4), icmpOk('dc', ts, 18)]);
        expect(ack.type).toBe('ack');
      }
    }
    desk = await openAs(OPERATOR);
  });

  afterAll(async () => {
    for (const a of agents) a.close();
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the header has a "Báo cáo" page; the interrupted report shows why it failed; an operator is offered both kinds', async () => {
    expect((await desk.textContent('[data-nav="reports"]'))?.trim()).toBe('Báo cáo');
    expect(await desk.getAttribute('[data-nav="reports"]', 'aria-current')).toBe('page');
    expect(await desk.textContent('h1')).toBe('Báo cáo');
    const row = `[data-report="${brokenId}"]`;
    await desk.waitForSelector(row, { timeout: 5000 });
    expect(await desk.getAttribute(row, 'data-status')).toBe('failed');
    expect(await desk.textContent(`${row} .name`)).toBe('Báo cáo vùng lõm sóng — Viettel');
    expect(await desk.textContent(`${row} .badge`)).toBe('Thất bại');
    // the reason is the server's (Vietnamese) words, with the attempts it took
    expect((await desk.textContent(`${row} [data-error]`))?.replace(/\s+/g, ' ').trim()).toBe(
      'Lý do: máy chủ khởi động lại khi báo cáo đang được tạo (server restarted during generation) (sau 2 lần thử)',
    );
    expect(await desk.textContent(row)).toContain(`Theo yêu cầu của ${OPERATOR.username}`);
    expect(await desk.$$(`${row} [data-download]`)).toHaveLength(0);
    expect((await desk.textContent(`${row} .downloads`))?.trim()).toBe('Chưa có tệp');
    const kinds = await desk.$$eval('select[name=kind] option', (os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent]));
    expect(kinds).toEqual([
      ['carrier', 'Báo cáo vùng lõm sóng (nhà mạng)'],
      ['dost', 'Báo cáo lịch sử sự cố (Sở KH&CN)'],
    ]);
  });

  it('an operator generates the DOST report for the previous month, sees the progress reach the end, and downloads a PDF', async () => {
    await desk.selectOption('select[name=kind]', 'dost');
    // DOST fields replace the carrier field
    expect(await desk.$('form.report-form select[name=carrier]')).toBeNull();
    expect(await desk.$('form.report-form input[name=commune]')).not.toBeNull();
    // the month is preselected: the previous one, shown as dd/mm/yyyy
    const now = vnFields(Date.now());
    const prev = now.m === 1 ? { y: now.y - 1, m: 12 } : { y: now.y, m: now.m - 1 };
    const lastDay = new Date(Date.UTC(prev.y, prev.m, 0)).getUTCDate();
    const mm = String(prev.m).padStart(2, '0');
    expect(await desk.getAttribute('[data-period-type="month"]', 'aria-pressed')).toBe('true');
    expect(await desk.inputValue('select[name=period]')).toBe(`${prev.y}-${mm}-01`);
    expect(await desk.$eval('select[name=period]', (s) => (s as HTMLSelectElement).selectedOptions[0]!.textContent)).toBe(`Tháng ${prev.m}/${prev.y}`);
    expect(await desk.textContent('.range')).toContain(`Từ 00:00 01/${mm}/${prev.y} đến hết ngày ${lastDay}/${mm}/${prev.y}`);

    const { id, body, polls } = await generate(desk);
    dostId = id;
    expect(body).toEqual({ kind: 'dost', period: { type: 'month', from: `${prev.y}-${mm}-01` } });
    // polled about once a second, not hammered
    expect(polls.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < polls.length; i++) expect(polls[i]! - polls[i - 1]!).toBeGreaterThanOrEqual(800);
    const job = `[data-job="${id}"]`;
    expect(await desk.getAttribute(`${job} [role=progressbar]`, 'aria-valuenow')).toBe('100');
    expect(await desk.textContent(`${job} .stage`)).toBe('Hoàn tất');
    expect(await desk.textContent(`${job} .title`)).toBe(`Đã tạo: Báo cáo lịch sử sự cố (Sở KH&CN) · Tháng ${prev.m}/${prev.y}`);

    // the new entry is in the archive with its downloads
    const row = `[data-report="${id}"]`;
    await desk.waitForSelector(`${row}[data-status="done"]`, { timeout: 5000 });
    const entry = (await apiList(OPERATOR)).find((e) => e.id === id)!;
    expect(entry.status).toBe('done');
    expect(entry.period.label).toBe(`Tháng ${prev.m}/${prev.y}`);
    const g = vnFields(entry.generatedAt!);
    const text = (await desk.textContent(row)) ?? '';
    expect(text).toContain('Báo cáo lịch sử sự cố (Sở KH&CN)');
    expect(text).toContain(`Tháng ${prev.m}/${prev.y}`);
    expect(text).toContain(`Theo yêu cầu của ${OPERATOR.username}`);
    expect(text).toContain('Hoàn tất');
    expect(await desk.textContent(`${row} [data-generated]`)).toBe(`${g.dd}/${g.mm}/${g.y} ${g.hh}:${g.mi}`);
    expect(await desk.$$eval(`${row} [data-download]`, (as) => as.map((a) => a.getAttribute('data-download')))).toEqual(['pdf', 'xlsx', 'csv', 'docx']);
    // the Word file is offered by the program's name
    expect(await desk.textContent(`${row} [data-download="docx"]`)).toBe('Word');

    // The PDF: fetched with the page's session cookie, then clicked like a user would.
    const href = (await desk.getAttribute(`${row} [data-download="pdf"]`, 'href'))!;
    const got = await desk.evaluate(async (u) => {
      const r = await fetch(u);
      const b = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), head: String.fromCharCode(...b.slice(0, 5)), bytes: b.length };
    }, href);
    expect(got.status).toBe(200);
    expect(got.type).toMatch(/^application\/pdf/);
    expect(got.head).toBe('%PDF-');
    expect(got.bytes).toBe(entry.files.pdf!.bytes);
    expect(got.disposition).toMatch(/^attachment;/);
    const dl = desk.waitForEvent('download');
    await desk.click(`${row} [data-download="pdf"]`);
    const download = await dl;
    expect(download.suggestedFilename()).toMatch(/\.pdf$/);
    const file = readFileSync((await download.path())!);
    expect(file.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(file.length).toBe(entry.files.pdf!.bytes);
    await desk.waitForTimeout(500); // let the bar's width transition finish before the picture
    await desk.screenshot({ path: '/tmp/ui-reports.png' });
  });

  it('a carrier report over a custom period (today, with data) goes through; newest first; the filters narrow the list', async () => {
    await desk.selectOption('select[name=kind]', 'carrier');
    await desk.click('[data-period-type="custom"]');
    // a start in the future is refused in words, before anything is sent
    await desk.fill('input[name=from]', '01/01/2099');
    await desk.fill('input[name=to]', '02/01/2099');
    expect(await desk.textContent('.range')).toBe('Kỳ báo cáo không được bắt đầu ở tương lai');
    // submitting anyway (no carrier chosen either) says why in words and posts nothing
    let posts = 0;
    const countPosts = (r: { url(): string; method(): string }) => {
      if (r.url().endsWith('/api/reports') && r.method() === 'POST') posts++;
    };
    desk.on('request', countPosts);
    await desk.click('form.report-form button[type=submit]');
    await desk.waitForSelector('[data-form-error]', { timeout: 2000 });
    // both problems, each said once: the period's on its line, then the missing carrier
    expect(await desk.$$eval('[data-form-error]', (es) => es.map((e) => e.textContent))).toEqual(['Kỳ báo cáo không được bắt đầu ở tương lai', 'Hãy chọn nhà mạng']);
    desk.off('request', countPosts);
    expect(posts).toBe(0);

    const today = vnFields(Date.now());
    const day = `${today.dd}/${today.mm}/${today.y}`;
    await desk.fill('input[name=from]', day);
    await desk.fill('input[name=to]', day);
    await desk.selectOption('form.report-form select[name=carrier]', 'viettel');
    expect(await desk.textContent('.range')).toBe(`Từ 00:00 ${day} đến hết ngày ${day}`);
    const { id, body } = await generate(desk);
    viettelId = id;
    const iso = `${today.y}-${today.mm}-${today.dd}`;
    expect(body).toEqual({ kind: 'carrier', carrier: 'viettel', period: { type: 'custom', from: iso, to: iso } });
    await desk.waitForSelector(`[data-report="${id}"][data-status="done"]`, { timeout: 5000 });
    expect(await desk.textContent(`[data-report="${id}"] .name`)).toBe('Báo cáo vùng lõm sóng — Viettel');
    expect(await desk.textContent(`[data-report="${id}"]`)).toContain(day);
    // newest first
    expect(await desk.$$eval('[data-report]', (rs) => rs.map((r) => r.getAttribute('data-report')))).toEqual([viettelId, dostId, brokenId]);
    // the CSV of a report with data is not empty and names the commune that lost rounds
    const csv = await desk.evaluate(async (u) => new TextDecoder().decode(await (await fetch(u)).arrayBuffer()), (await desk.getAttribute(`[data-report="${id}"] [data-download="csv"]`, 'href'))!);
    expect(csv).toContain('Cẩm Thành');

    await desk.selectOption('select[name=filter-kind]', 'dost');
    await expect.poll(() => desk.$$eval('[data-report]', (rs) => rs.map((r) => r.getAttribute('data-report'))), { timeout: 5000 }).toEqual([dostId]);
    await desk.selectOption('select[name=filter-kind]', '');
    await desk.selectOption('select[name=filter-carrier]', 'viettel');
    await expect.poll(() => desk.$$eval('[data-report]', (rs) => rs.map((r) => r.getAttribute('data-report'))), { timeout: 5000 }).toEqual([viettelId, brokenId]);
    await desk.selectOption('select[name=filter-carrier]', 'mobifone');
    await desk.waitForSelector('.archive .empty', { timeout: 5000 });
    expect(await desk.textContent('.archive .empty')).toBe('Không có báo cáo nào khớp bộ lọc');
    await desk.selectOption('select[name=filter-carrier]', '');
    await expect.poll(() => desk.$$eval('[data-report]', (rs) => rs.length), { timeout: 5000 }).toBe(3);
  });

  it('in English the same archive reads in English, dates still dd/mm/yyyy', async () => {
    await desk.click('button[title="Switch to English"]');
    expect(await desk.textContent('h1')).toBe('Reports');
    expect(await desk.textContent(`[data-report="${dostId}"] .name`)).toBe('Outage history report (DOST)');
    expect(await desk.textContent(`[data-report="${viettelId}"] .name`)).toBe('Dead-zone report — Viettel');
    expect(await desk.textContent(`[data-report="${dostId}"] [data-generated]`)).toMatch(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}$/);
    await desk.click('button[title="Chuyển sang tiếng Việt"]');
    expect(await desk.textContent('h1')).toBe('Báo cáo');
  });

  it('a carrier account is offered no DOST report, sees none of the others, and generates its own', async () => {
    const page = await openAs(CARRIER);
    expect(await page.$('select[name=kind]')).toBeNull();
    expect(await page.$('option[value="dost"]')).toBeNull();
    expect(await page.$('select[name=filter-kind]')).toBeNull();
    expect(await page.$('form.report-form select[name=carrier]')).toBeNull();
    expect(await page.getAttribute('[data-fixed-carrier]', 'data-fixed-carrier')).toBe('vnpt');
    expect(await page.textContent('[data-fixed-carrier]')).toBe('VNPT');
    await page.waitForSelector('.archive .empty', { timeout: 5000 });
    expect(await page.textContent('.archive .empty')).toBe('Chưa có báo cáo nào');
    expect(await page.$$('[data-report]')).toHaveLength(0);
    expect(await page.textContent('main.reports')).not.toContain('Sở KH&CN');

    await page.click('[data-period-type="week"]');
    const { id, body } = await generate(page);
    expect(body).toMatchObject({ kind: 'carrier', carrier: 'vnpt', period: { type: 'week' } });
    await page.waitForSelector(`[data-report="${id}"][data-status="done"]`, { timeout: 5000 });
    const rows = await page.$$eval('[data-report]', (rs) => rs.map((r) => [r.getAttribute('data-report'), r.getAttribute('data-kind'), r.getAttribute('data-carrier')]));
    expect(rows).toEqual([[id, 'carrier', 'vnpt']]);
    expect(await page.textContent(`[data-report="${id}"] .name`)).toBe('Báo cáo vùng lõm sóng — VNPT');
    await page.waitForTimeout(500);
    await page.screenshot({ path: '/tmp/ui-reports-carrier.png' });

    // and the server agrees: the others' reports are not there, by any endpoint, from this page's session
    const probe = await page.evaluate(
      async (ids) => {
        const out: Record<string, number> = {};
        for (const x of ids) for (const p of ['', '/pdf', '/csv']) out[`${x}${p}`] = (await fetch(`/api/reports/${x}${p}`)).status;
        for (const x of ids) out[`jobs/${x}`] = (await fetch(`/api/reports/jobs/${x}`)).status;
        const list = (await (await fetch('/api/reports')).json()) as { carrier: string | null }[];
        out.others = list.filter((e) => e.carrier !== 'vnpt').length;
        out.dostPost = (await fetch('/api/reports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'dost', period: { type: 'month' } }) })).status;
        return out;
      },
      [dostId, viettelId, brokenId],
    );
    expect(probe).toEqual({
      [dostId]: 404, [`${dostId}/pdf`]: 404, [`${dostId}/csv`]: 404, [`jobs/${dostId}`]: 404,
      [viettelId]: 404, [`${viettelId}/pdf`]: 404, [`${viettelId}/csv`]: 404, [`jobs/${viettelId}`]: 404,
      [brokenId]: 404, [`${brokenId}/pdf`]: 404, [`${brokenId}/csv`]: 404, [`jobs/${brokenId}`]: 404,
      others: 0, dostPost: 403,
    });
    // the operator still sees all four
    expect((await apiList(OPERATOR)).map((e) => e.id).sort()).toEqual([dostId, viettelId, brokenId, id].sort());
  });

  it('made no request to any other host and threw no page error', () => {
    const origin = new URL(server.url).host;
    expect(requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).host !== origin)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
