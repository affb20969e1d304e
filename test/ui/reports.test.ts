// Pure helpers of the reports page (ui/src/lib/reports.ts), checked against the server's own period code, plus the
// page's answer schemas and error wording against a real server's real answers (API only, DuckDB, no browser).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { containingPeriod, customPeriod, previousCalendarPeriod, weekPeriod } from '../../server/reports/data/periods.ts';
import { ApiError } from '../../ui/src/lib/api.ts';
import { formatDateHm } from '../../ui/src/lib/format.ts';
import { translate, type MessageKey } from '../../ui/src/lib/i18n.ts';
import type { NameLookup } from '../../ui/src/lib/incidents.ts';
import { reportEntrySchema as entrySchema, jobProgressSchema as progressSchema } from '../../config/api.ts';
import {
  apiErrorText,
  choosePeriod,
  dmy,
  generateBody,
  isoDay,
  listQuery,
  parseDmy,
  periodOptions,
  periodText,
  reportName,
  stageText,
  VN_OFFSET_MS,
} from '../../ui/src/lib/reports.ts';
import { parseRoute, routeHref } from '../../ui/src/lib/route.ts';
import { canReportDost, reportCarrier } from '../../ui/src/lib/roles.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

const DAY = 86_400_000;
const tVi = (k: MessageKey, p?: Record<string, string | number>) => translate('vi', k, p);
const tEn = (k: MessageKey, p?: Record<string, string | number>) => translate('en', k, p);
const names: NameLookup = {
  commune: (c) => ({ '21025': 'Phường Cẩm Thành' })[c] ?? c,
  carrier: (c) => ({ vnpt: 'VNPT', viettel: 'Viettel' })[c] ?? c,
  target: (t) => ({ dvc: 'Cổng Dịch vụ công quốc gia' })[t] ?? t,
};
/** local (UTC+7) wall time -> epoch ms */
const vn = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi) - VN_OFFSET_MS;

describe('report periods (Asia/Ho_Chi_Minh)', () => {
  // instants near the edges: UTC midnight is 07:00 in Vietnam, 23:30 local is still the same local day
  const instants = [vn(2026, 1, 1, 0, 0), vn(2025, 12, 31, 23, 30), vn(2026, 3, 1, 6, 59), vn(2024, 2, 29, 12), vn(2026, 12, 28, 8), vn(2027, 1, 3, 23, 59), vn(2020, 12, 31, 1)];

  it('labels weeks and months exactly like the server, in Vietnamese', () => {
    for (const at of instants) {
      for (const type of ['week', 'month'] as const) {
        const s = containingPeriod(type, at);
        expect(periodText({ type, from: s.from, to: s.to }, 'vi'), `${type} of ${new Date(at).toISOString()}`).toBe(s.label);
      }
    }
    // a week across the new year names both years
    expect(periodText({ type: 'week', ...weekPeriod(2026, 1) }, 'vi')).toBe(weekPeriod(2026, 1).label);
    expect(weekPeriod(2026, 1).label).toBe('Tuần 1/2026 (29/12/2025–04/01/2026)');
  });

  it('labels custom periods like the server: whole days, one day, or with times', () => {
    const cases: [number, number][] = [
      [vn(2026, 10, 1), vn(2026, 10, 16)],
      [vn(2026, 10, 1), vn(2026, 10, 2)],
      [vn(2026, 10, 1, 8), vn(2026, 10, 1, 17, 30)],
    ];
    for (const [from, to] of cases) expect(periodText({ type: 'custom', from, to }, 'vi')).toBe(customPeriod(from, to).label);
  });

  it('prefers the server label in Vietnamese and writes English itself', () => {
    const m = containingPeriod('month', vn(2026, 10, 5));
    expect(periodText({ type: 'month', ...m, label: 'nhãn của máy chủ' }, 'vi')).toBe('nhãn của máy chủ');
    expect(periodText({ type: 'month', ...m, label: 'nhãn của máy chủ' }, 'en')).toBe('October 2026');
    expect(periodText({ type: 'week', ...weekPeriod(2026, 44) }, 'en')).toBe('Week 44/2026 (26/10–01/11/2026)');
  });

  it('offers the current period then the previous ones; the default (index 1) is what the schedules report on', () => {
    for (const now of instants) {
      for (const type of ['week', 'month'] as const) {
        const opts = periodOptions(type, now, 12);
        expect(opts).toHaveLength(13);
        expect(opts[0]!.current).toBe(true);
        expect(opts.slice(1).every((o) => !o.current)).toBe(true);
        expect({ from: opts[1]!.from, to: opts[1]!.to }).toEqual({ from: previousCalendarPeriod(type, now).from, to: previousCalendarPeriod(type, now).to });
        for (let i = 0; i < opts.length; i++) {
          const o = opts[i]!;
          // the value the form sends is a day the server maps back to the same period
          const [y, mo, d] = o.value.split('-').map(Number) as [number, number, number];
          const s = containingPeriod(type, vn(y, mo, d));
          expect([s.from, s.to]).toEqual([o.from, o.to]);
          if (i > 0) expect(o.to).toBe(opts[i - 1]!.from);
        }
      }
    }
  });

  it('reads dd/mm/yyyy as local midnight and refuses days that do not exist', () => {
    expect(parseDmy('01/10/2026')).toBe(vn(2026, 10, 1));
    expect(parseDmy(' 1/9/2026 ')).toBe(vn(2026, 9, 1));
    expect(parseDmy('29.02.2024')).toBe(vn(2024, 2, 29));
    expect(parseDmy('29/02/2026')).toBeNull();
    expect(parseDmy('31/04/2026')).toBeNull();
    expect(parseDmy('2026-10-01')).toBeNull();
    expect(parseDmy('')).toBeNull();
    expect(dmy(vn(2026, 10, 1))).toBe('01/10/2026');
    // 23:30 on 31/12 in Vietnam is 16:30 UTC the same day; 00:30 on 1/1 is still 31/12 in UTC
    expect(dmy(vn(2027, 1, 1, 0, 30))).toBe('01/01/2027');
    expect(isoDay(vn(2027, 1, 1, 0, 30))).toBe('2027-01-01');
  });

  it('checks a custom period before sending it, and sends both days inclusive', () => {
    const now = vn(2026, 10, 20, 9);
    const ok = choosePeriod('custom', '', '01/10/2026', '15/10/2026', now);
    expect(ok).toEqual({ ok: true, body: { type: 'custom', from: '2026-10-01', to: '2026-10-15' }, from: vn(2026, 10, 1), to: vn(2026, 10, 16) });
    expect(choosePeriod('custom', '', '1/10/2026', 'x', now)).toEqual({ ok: false, error: 'reports.form.badDate' });
    expect(choosePeriod('custom', '', '15/10/2026', '01/10/2026', now)).toEqual({ ok: false, error: 'reports.form.reversed' });
    expect(choosePeriod('custom', '', '21/10/2026', '22/10/2026', now)).toEqual({ ok: false, error: 'reports.form.future' });
    // 400 days is the server's limit: 400 whole days pass, 401 don't
    const first = vn(2025, 9, 1);
    expect(choosePeriod('custom', '', dmy(first), dmy(first + 399 * DAY), now).ok).toBe(true);
    expect(choosePeriod('custom', '', dmy(first), dmy(first + 400 * DAY), now)).toEqual({ ok: false, error: 'reports.form.tooLong' });
    // today alone is allowed (the period has started)
    expect(choosePeriod('custom', '', '20/10/2026', '20/10/2026', now).ok).toBe(true);
  });

  it('sends week/month as a day inside the chosen period, the previous one when nothing valid was chosen', () => {
    const now = vn(2026, 10, 20, 9);
    expect(choosePeriod('month', '2026-08-01', '', '', now)).toMatchObject({ ok: true, body: { type: 'month', from: '2026-08-01' }, from: vn(2026, 8, 1), to: vn(2026, 9, 1) });
    expect(choosePeriod('month', 'rubbish', '', '', now)).toMatchObject({ ok: true, body: { type: 'month', from: '2026-09-01' } });
    expect(choosePeriod('week', '', '', '', now)).toMatchObject({ ok: true, body: { type: 'week', from: '2026-10-12' }, from: vn(2026, 10, 12), to: vn(2026, 10, 19) });
  });
});

describe('report names, bodies, stages', () => {
  it('names the two kinds in words, with a DOST report’s scope', () => {
    expect(reportName({ kind: 'carrier', carrier: 'vnpt' }, names, tVi)).toBe('Báo cáo vùng lõm sóng — VNPT');
    expect(reportName({ kind: 'dost', carrier: null, scope: {} }, names, tVi)).toBe('Báo cáo lịch sử sự cố (Sở KH&CN)');
    expect(reportName({ kind: 'dost', carrier: null, scope: { commune: '21025', target: 'dvc' } }, names, tVi)).toBe(
      'Báo cáo lịch sử sự cố (Sở KH&CN) — Phường Cẩm Thành — Cổng Dịch vụ công quốc gia',
    );
    expect(reportName({ kind: 'carrier', carrier: 'viettel' }, names, tEn)).toBe('Dead-zone report — Viettel');
  });

  it('builds the POST body the route accepts: no carrier on a DOST report, no commune on a carrier report', () => {
    const period = { type: 'month' as const, from: '2026-09-01' };
    expect(generateBody({ kind: 'carrier', carrier: 'vnpt', commune: '21025', target: 'dvc' }, period)).toEqual({ kind: 'carrier', carrier: 'vnpt', period });
    expect(generateBody({ kind: 'dost', carrier: 'vnpt', commune: null, target: '' }, period)).toEqual({ kind: 'dost', period });
    expect(generateBody({ kind: 'dost', carrier: '', commune: '21025', target: 'dvc' }, period)).toEqual({ kind: 'dost', commune: '21025', target: 'dvc', period });
    expect(listQuery({ kind: 'dost', carrier: '' })).toBe('kind=dost&limit=500');
  });

  it('says the stage in words, naming the file being rendered', () => {
    expect(stageText({ stage: 'render', stageLabel: 'Đang tạo tệp XLSX' }, tVi)).toBe('Đang tạo tệp XLSX');
    expect(stageText({ stage: 'render', stageLabel: 'Đang tạo tệp XLSX' }, tEn)).toBe('Rendering the XLSX file');
    expect(stageText({ stage: 'data', stageLabel: 'Đang tính số liệu' }, tEn)).toBe('Computing the figures');
    expect(stageText({ stage: 'done', stageLabel: 'Hoàn tất' }, tVi)).toBe('Hoàn tất');
    // a stage this UI doesn't know yet: the server's own words
    expect(stageText({ stage: 'zip', stageLabel: 'Đang nén' }, tEn)).toBe('Đang nén');
  });

  it('roles and routes', () => {
    expect(canReportDost('operator') && canReportDost('dost') && canReportDost('admin')).toBe(true);
    expect(canReportDost('carrier')).toBe(false);
    expect(reportCarrier({ role: 'carrier', carrier: 'vnpt' })).toBe('vnpt');
    expect(reportCarrier({ role: 'operator' })).toBeNull();
    expect(parseRoute('#/reports')).toEqual({ page: 'reports' });
    expect(parseRoute('', '/reports')).toEqual({ page: 'reports' });
    expect(routeHref({ page: 'reports' })).toBe('#/reports');
  });

  it('writes the generation time as dd/mm/yyyy HH:mm in Vietnam', () => {
    expect(formatDateHm(Date.UTC(2026, 9, 31, 17, 5))).toBe('01/11/2026 00:05');
    expect(formatDateHm(null)).toBe('—');
  });
});

describe('against a real server: answers parse, refusals read as words', () => {
  let server: TestServer;
  const PW = 'mat-khau-thu-nghiem-42';
  let op = '';
  let carrierCookie = '';

  beforeAll(async () => {
    server = await startTestServer({
      users: [
        { username: 'vanhanh', password: PW, role: 'operator' },
        { username: 'kysu-vnpt', password: PW, role: 'carrier', carrier: 'vnpt' },
      ],
    });
    op = await login(server.url, 'vanhanh', PW);
    carrierCookie = await login(server.url, 'kysu-vnpt', PW);
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function post(cookie: string, body: unknown) {
    const r = await fetch(`${server.url}/api/reports`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }
  /** what ui/src/lib/api.ts throws for that answer */
  const asThrown = (r: { status: number; body: Record<string, unknown> }) => new ApiError(r.status, String(r.body.error ?? `HTTP ${r.status}`));

  it('the entry and progress schemas of the page accept what the server sends', async () => {
    const r = await post(op, { kind: 'carrier', carrier: 'viettel', period: { type: 'week' } });
    expect(r.status).toBe(202);
    const id = String(r.body.id);
    const deadline = Date.now() + 30_000;
    let p = progressSchema.parse(await (await fetch(`${server.url}/api/reports/jobs/${id}`, { headers: { cookie: op } })).json());
    while (p.status !== 'done' && p.status !== 'failed' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      p = progressSchema.parse(await (await fetch(`${server.url}/api/reports/jobs/${id}`, { headers: { cookie: op } })).json());
    }
    expect(p.status).toBe('done');
    expect(p.percent).toBe(100);
    const list = (await (await fetch(`${server.url}/api/reports`, { headers: { cookie: op } })).json()) as unknown[];
    const entries = list.map((x) => entrySchema.parse(x));
    const e = entries.find((x) => x.id === id)!;
    expect(e.status).toBe('done');
    expect(Object.keys(e.files).sort()).toEqual(['csv', 'docx', 'pdf', 'xlsx']);
    expect(reportName(e, names, tVi)).toBe('Báo cáo vùng lõm sóng — Viettel');
    expect(periodText(e.period, 'vi')).toBe(previousCalendarPeriod('week', e.createdAt).label);
    // what a carrier account gets (recipients hidden) parses too, and holds no other carrier's report
    const mine = (await (await fetch(`${server.url}/api/reports`, { headers: { cookie: carrierCookie } })).json()) as unknown[];
    expect(mine.map((x) => entrySchema.parse(x)).filter((x) => x.carrier !== 'vnpt')).toEqual([]);
  });

  it('turns the server’s refusals into sentences', async () => {
    const cases: { who: string; body: unknown; status: number; text: string }[] = [
      { who: carrierCookie, body: { kind: 'dost', period: { type: 'month' } }, status: 403, text: 'Tài khoản của bạn không có quyền với báo cáo này' },
      { who: carrierCookie, body: { kind: 'carrier', carrier: 'viettel', period: { type: 'month' } }, status: 403, text: 'Tài khoản của bạn không có quyền với báo cáo này' },
      { who: op, body: { kind: 'dost', period: { type: 'month', from: '2099-01-01' } }, status: 400, text: 'Kỳ báo cáo không được bắt đầu ở tương lai' },
      { who: op, body: { kind: 'dost', period: { type: 'custom', from: '2024-01-01', to: '2025-06-01' } }, status: 400, text: 'Kỳ báo cáo dài tối đa 400 ngày' },
      { who: op, body: { kind: 'dost', period: { type: 'custom', from: '2025-06-02', to: '2025-06-01' } }, status: 400, text: 'Ngày kết thúc phải trùng hoặc sau ngày bắt đầu' },
      { who: op, body: { kind: 'dost', commune: '99999', period: { type: 'month' } }, status: 400, text: 'Không có xã, phường này trong tỉnh' },
      { who: op, body: { kind: 'carrier', carrier: 'sfone', period: { type: 'month' } }, status: 400, text: 'Nhà mạng này không có trong cấu hình' },
      { who: op, body: { kind: 'carrier', period: { type: 'month' } }, status: 400, text: 'Hãy chọn nhà mạng' },
    ];
    for (const c of cases) {
      const r = await post(c.who, c.body);
      expect(r.status, JSON.stringify(c.body)).toBe(c.status);
      expect(apiErrorText(asThrown(r), tVi), JSON.stringify(r.body)).toBe(c.text);
    }
    // an unexpected refusal keeps the server's reason, prefixed in words
    const odd = await post(op, { kind: 'weekly', period: { type: 'month' } });
    expect(odd.status).toBe(400);
    expect(apiErrorText(asThrown(odd), tVi)).toMatch(/^Yêu cầu không hợp lệ: .*kind/);
    // another carrier's report, or none, is "not found" (ids cannot be probed)
    const nf = await fetch(`${server.url}/api/reports/khong-co/pdf`, { headers: { cookie: carrierCookie } });
    expect(apiErrorText(new ApiError(nf.status, 'x'), tVi)).toBe('Không tìm thấy báo cáo');
    expect(apiErrorText(new ApiError(0, 'fetch failed'), tVi)).toBe('Không kết nối được máy chủ');
    expect(apiErrorText(new ApiError(502, 'HTTP 502'), tEn)).toBe('Server error (code 502), please try again later');
  });
});
