// Scheduling (node-cron in Asia/Ho_Chi_Minh), the runner (progress, retry with the reason recorded), email with
// the files attached to a real SMTP server (aiosmtpd), the archive, and the /api/reports roles: a carrier user or
// token cannot list, read, download or generate another carrier's or DOST's reports by any endpoint.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { configSchema, type ReportSchedule } from '../../config/schema.ts';
import { requireSession, type AuthEnv } from '../../server/auth/middleware.ts';
import { hashSecret } from '../../server/auth/password.ts';
import { SESSION_COOKIE, Sessions, type SessionUser } from '../../server/auth/sessions.ts';
import { buildDirectory } from '../../server/directory.ts';
import type { ChannelConfig } from '../../server/notifiers/types.ts';
import { ReportArchive, type ArchiveEntry } from '../../server/reports/archive.ts';
import { catchUp, checkSchedules, ReportsConfigError, startReportSchedules, tick, type CronDeps } from '../../server/reports/cron.ts';
import { periodHelpers } from '../../server/reports/data/periods.ts';
import { reportMailer } from '../../server/reports/mailer.ts';
import type { Report } from '../../server/reports/model.ts';
import { vnParts } from '../../server/reports/render/format.ts';
import { ReportRunner, recipientsFor, type JobProgress, type ReportBuilder, type ReportRequest, type RunnerOptions } from '../../server/reports/runner.ts';
import { reportRoutes } from '../../server/routes/reports.ts';
import { apiErrorHandler } from '../../server/http/errors.ts';
import { createReports } from '../../server/reports/index.ts';
import { createStore } from '../../server/stores/index.ts';
import { skipWithoutAiosmtpd, startSmtpSink, type SmtpSink } from '../notifiers/smtp-sink.ts';
import { carrierReport, dostReport, province } from './fixtures.ts';

const H = 3_600_000;
/** local (Asia/Ho_Chi_Minh) wall time -> epoch ms */
const vn = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi) - 7 * H;

const config = parseConfig({
  province: { code: '51' },
  carriers: [
    { id: 'vnpt', name: 'VNPT' },
    { id: 'viettel', name: 'Viettel' },
  ],
  targets: [
    { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '127.0.0.1' },
    { id: 'dvc', name: 'Cổng Dịch vụ công quốc gia', kind: 'http', url: 'http://127.0.0.1:9/' },
  ],
});
const dir = buildDirectory(config, province);
const CARRIERS = ['vnpt', 'viettel'];

const dirs: string[] = [];
function dataDir() {
  const d = mkdtempSync(join(tmpdir(), 'ioc-reports-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The output side's builder: fixture models shaped by the request (the data layer is tested elsewhere). */
const fixtureBuilder: ReportBuilder = async (req) =>
  req.kind === 'carrier'
    ? carrierReport({ carrier: { id: req.carrier, name: dir.carriers.get(req.carrier)!.name }, period: req.period })
    : dostReport({ period: req.period, previousPeriod: periodHelpers.previous('month', req.period.from + 1), scope: req.scope });

function runner(archive: ReportArchive, over: Partial<RunnerOptions> = {}) {
  return new ReportRunner({
    archive,
    build: fixtureBuilder,
    context: { province, targetName: (id) => dir.targets.get(id)?.name, carrierName: (id) => dir.carriers.get(id)?.name },
    formats: ['pdf', 'xlsx', 'csv'],
    retry: { attempts: 3, baseDelayMs: 40, maxDelayMs: 1000 },
    mailer: null,
    recipients: () => [],
    ...over,
  });
}

const monthReq = (carrier = 'vnpt'): ReportRequest => ({ kind: 'carrier', carrier, period: { ...periodHelpers.containing('month', vn(2026, 10, 5)), type: 'month' } });

// ---- scheduling --------------------------------------------------------------------------------------------

describe('schedules', () => {
  const defaults = configSchema.parse({ province: { code: '51' }, carriers: [{ id: 'vnpt', name: 'VNPT' }] }).reports.schedules;

  it('defaults: carriers Monday 07:00 and the 1st 07:00, DOST the 15th 07:00, Asia/Ho_Chi_Minh', async () => {
    const archive = new ReportArchive(dataDir()).open();
    const s = startReportSchedules({ schedules: defaults, carriers: CARRIERS, runner: runner(archive), archive, periods: periodHelpers });
    try {
      const next = Object.fromEntries(s.next().map((x) => [x.id, vnParts(x.at!.getTime())]));
      expect(next['carrier-weekly']).toMatchObject({ dow: 1, h: 7, mi: 0 });
      expect(next['carrier-monthly']).toMatchObject({ d: 1, h: 7, mi: 0 });
      expect(next['dost-monthly']).toMatchObject({ d: 15, h: 7, mi: 0 });
      // 07:00 in Vietnam is 00:00 UTC, whatever zone this machine is in
      for (const x of s.next()) expect([x.at!.getUTCHours(), x.at!.getUTCMinutes()]).toEqual([0, 0]);
    } finally {
      await s.stop();
    }
  });

  it('a firing submits the reports of the period that just ended, once', () => {
    const archive = new ReportArchive(dataDir()).open();
    const r = runner(archive);
    const d: CronDeps = { schedules: defaults, carriers: CARRIERS, runner: r, archive, periods: periodHelpers };
    const weekly = defaults.find((s) => s.id === 'carrier-weekly')!;
    const monday = vn(2026, 11, 2, 7);
    const out = tick(d, weekly, monday);
    expect(out.map((e) => e.carrier)).toEqual(['vnpt', 'viettel']);
    expect(out[0]!.period).toEqual({ type: 'week', from: vn(2026, 10, 26), to: vn(2026, 11, 2), label: 'Tuần 44/2026 (26/10–01/11/2026)' });
    expect(out[0]).toMatchObject({ trigger: 'schedule', schedule: 'carrier-weekly', kind: 'carrier' });
    // the same firing again (or a catch-up) makes no duplicate
    expect(tick(d, weekly, monday + 60_000)).toEqual([]);
    const dost = tick(d, defaults.find((s) => s.id === 'dost-monthly')!, vn(2026, 11, 15, 7));
    expect(dost.map((e) => [e.kind, e.carrier, e.period.label])).toEqual([['dost', null, 'Tháng 10/2026']]);
    const monthly = tick(d, { ...defaults.find((s) => s.id === 'carrier-monthly')!, carriers: ['viettel'] }, vn(2026, 11, 1, 7));
    expect(monthly.map((e) => [e.carrier, e.period.label])).toEqual([['viettel', 'Tháng 10/2026']]);
  });

  it('node-cron really fires a schedule and the report is generated', async () => {
    const archive = new ReportArchive(dataDir()).open();
    const r = runner(archive);
    const every: ReportSchedule = { id: 'every-second', cron: '* * * * * *', kind: 'dost', period: 'month', carriers: 'all', enabled: true };
    const s = startReportSchedules({ schedules: [every], carriers: CARRIERS, runner: r, archive, periods: periodHelpers });
    try {
      const until = Date.now() + 5000;
      while (!archive.list().length && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
    } finally {
      await s.stop();
    }
    await r.idle();
    const list = archive.list();
    expect(list).toHaveLength(1); // later firings in the same month are skipped
    expect(list[0]).toMatchObject({ schedule: 'every-second', kind: 'dost', status: 'done' });
    expect(list[0]!.period.label).toBe(periodHelpers.previous('month', Date.now()).label);
  });

  it('after a restart, a missed firing is caught up; a schedule that never ran is not', () => {
    const archive = new ReportArchive(dataDir()).open();
    const r = runner(archive);
    const weekly = defaults.find((s) => s.id === 'carrier-weekly')!;
    const d: CronDeps = { schedules: [weekly, defaults.find((s) => s.id === 'dost-monthly')!], carriers: ['vnpt'], runner: r, archive, periods: periodHelpers };
    tick(d, weekly, vn(2026, 10, 26, 7)); // ran last Monday (week 43)
    const matches = (s: ReportSchedule, at: Date) => (s.id === weekly.id ? vnParts(at.getTime()).dow === 1 && vnParts(at.getTime()).h === 7 && vnParts(at.getTime()).mi === 0 : false);
    // Monday 06:00, before this week's firing: nothing missed yet
    expect(catchUp(d, vn(2026, 11, 2, 6), matches)).toEqual([]);
    // Tuesday: Monday 07:00 passed while down -> week 44 now; DOST never ran here -> left alone
    const out = catchUp(d, vn(2026, 11, 3, 10), matches);
    expect(out.map((e) => [e.schedule, e.period.label])).toEqual([['carrier-weekly', 'Tuần 44/2026 (26/10–01/11/2026)']]);
    expect(catchUp(d, vn(2026, 11, 3, 11), matches)).toEqual([]);
  });

  it('bad schedules are refused at start, each named', () => {
    const bad: ReportSchedule[] = [
      { id: 'a', cron: '0 25 * * *', kind: 'carrier', period: 'week', carriers: 'all', enabled: true },
      { id: 'b', cron: '0 7 * * 1', kind: 'carrier', period: 'week', carriers: ['mobifone'], enabled: true },
    ];
    expect(checkSchedules(bad, CARRIERS)).toEqual([
      expect.stringMatching(/^reports\.schedules\[0\]\.cron: invalid cron expression "0 25 \* \* \*"/),
      'reports.schedules[1].carriers: unknown carrier "mobifone"',
    ]);
    const archive = new ReportArchive(dataDir()).open();
    expect(() => startReportSchedules({ schedules: bad, carriers: CARRIERS, runner: runner(archive), archive, periods: periodHelpers })).toThrow(ReportsConfigError);
  });
});

// ---- runner ------------------------------------------------------------------------------------------------

describe('runner', () => {
  it('generates every format into the archive, reporting progress', async () => {
    const root = dataDir();
    const archive = new ReportArchive(root).open();
    const seen: JobProgress[] = [];
    const r = runner(archive);
    const e = r.submit(monthReq(), { trigger: 'manual', requestedBy: 'op' }, (p) => seen.push(p));
    await r.idle();
    const done = archive.get(e.id)!;
    expect(done).toMatchObject({ status: 'done', attempts: 1, error: null, requestedBy: 'op', trigger: 'manual' });
    expect(done.title).toBe('BÁO CÁO VÙNG LÕM SÓNG — Nhà mạng VNPT — Tỉnh Quảng Ngãi — Tháng 10/2026');
    expect(Object.keys(done.files).sort()).toEqual(['csv', 'pdf', 'xlsx']);
    for (const f of ['pdf', 'xlsx', 'csv'] as const) {
      const file = archive.file(e.id, f)!;
      expect(existsSync(file.path)).toBe(true);
      expect(readFileSync(file.path).length).toBe(file.bytes);
      expect(file.name).toBe(`Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026.${f}`);
    }
    expect(readFileSync(archive.file(e.id, 'pdf')!.path).subarray(0, 5).toString()).toBe('%PDF-');
    expect(seen.map((p) => p.stageLabel)).toEqual(['Đang chờ', 'Đang tính số liệu', 'Đang tạo tệp PDF', 'Đang tạo tệp XLSX', 'Đang tạo tệp CSV', 'Đang lưu trữ', 'Hoàn tất']);
    const pct = seen.map((p) => p.percent);
    expect(pct).toEqual([...pct].sort((a, b) => a - b));
    expect(pct.at(-1)).toBe(100);
    expect(r.job(e.id)).toMatchObject({ status: 'done', stage: 'done', percent: 100 });
    // the index survives a restart
    expect(new ReportArchive(root).open().get(e.id)).toMatchObject({ status: 'done', title: done.title });
  });

  it('a failure is recorded with its reason and retried after a backoff', async () => {
    const archive = new ReportArchive(dataDir()).open();
    const calls: number[] = [];
    const build: ReportBuilder = async (req) => {
      calls.push(Date.now());
      if (calls.length === 1) throw new Error('kho dữ liệu không phản hồi: timeout after 30000 ms');
      return fixtureBuilder(req);
    };
    const seen: JobProgress[] = [];
    const r = runner(archive, { build, retry: { attempts: 3, baseDelayMs: 150, maxDelayMs: 1000 }, onProgress: (p) => seen.push(p) });
    const e = r.submit(monthReq(), { trigger: 'manual' });
    await r.idle();
    const got = archive.get(e.id)!;
    expect(got).toMatchObject({ status: 'done', attempts: 2, error: null });
    expect(got.failures).toEqual([{ at: expect.any(Number), attempt: 1, error: 'kho dữ liệu không phản hồi: timeout after 30000 ms' }]);
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(140);
    // while waiting, the job said why and when it would try again
    const waiting = seen.find((p) => p.stage === 'retry')!;
    expect(waiting).toMatchObject({ status: 'retrying', error: 'kho dữ liệu không phản hồi: timeout after 30000 ms', attempts: 1, maxAttempts: 3 });
    expect(waiting.nextAttemptAt).toBeGreaterThan(calls[0]!);
  });

  it('gives up after the configured attempts with backoff growing 3x, saying why', async () => {
    const archive = new ReportArchive(dataDir()).open();
    const calls: number[] = [];
    const build: ReportBuilder = async () => {
      calls.push(Date.now());
      throw new Error(`store down (#${calls.length})`);
    };
    const r = runner(archive, { build, retry: { attempts: 3, baseDelayMs: 60, maxDelayMs: 10_000 } });
    // another report is not held up by the waiting retries
    const e = r.submit(monthReq(), { trigger: 'schedule', schedule: 'carrier-monthly' });
    await r.idle();
    const got = archive.get(e.id)!;
    expect(got).toMatchObject({ status: 'failed', attempts: 3, error: 'store down (#3)', nextAttemptAt: null, files: {} });
    expect(got.failures.map((f) => [f.attempt, f.error])).toEqual([[1, 'store down (#1)'], [2, 'store down (#2)'], [3, 'store down (#3)']]);
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(55);
    expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(175);
    expect(r.job(e.id)).toMatchObject({ status: 'failed', stage: 'failed', error: 'store down (#3)' });
  });

  it('an entry left running by a crashed process is marked failed at the next start', () => {
    const root = dataDir();
    const a = new ReportArchive(root).open();
    const e = a.create({ kind: 'dost', carrier: null, scope: {}, period: { type: 'month', from: 0, to: 1, label: 'x' }, formats: ['pdf'], trigger: 'manual', schedule: null, requestedBy: null });
    a.update(e.id, (x) => (x.status = 'running'));
    expect(new ReportArchive(root).open().get(e.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('server restarted') });
  });
});

// ---- email -------------------------------------------------------------------------------------------------

describe.skipIf(skipWithoutAiosmtpd())('email delivery (real SMTP server)', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink({ user: 'ioc', pass: 'secret' });
  });
  afterAll(async () => sink?.stop());

  const channel = (port: number, over: Partial<ChannelConfig<'email'>> = {}): ChannelConfig<'email'> => ({
    id: 'mail', kind: 'email', language: 'vi', timeoutMs: 5000, host: '127.0.0.1', port, secure: false, requireTLS: false,
    user: 'ioc', pass: 'secret', from: '"IOC Quảng Ngãi" <ioc@quangngai.example>', ...over,
  });
  const recipients = recipientsFor({ dost: ['sokhcn@quangngai.example'], carriers: { vnpt: ['noc@vnpt.example'], viettel: ['noc@viettel.example'] }, all: ['trucban@ioc.example'] });

  it('sends the report to its carrier (and the copy list only) with the three files attached', async () => {
    const archive = new ReportArchive(dataDir()).open();
    const r = runner(archive, { mailer: reportMailer(channel(sink.port), { env: {} }), recipients });
    const before = sink.messages.length;
    const e = r.submit(monthReq('vnpt'), { trigger: 'schedule', schedule: 'carrier-monthly' });
    await r.idle();
    const [m] = (await sink.waitFor(before + 1)).slice(before);
    expect(m!.rcpt_tos.sort()).toEqual(['noc@vnpt.example', 'trucban@ioc.example']);
    expect(m!.auth_user).toBe('ioc');
    expect(m!.subject).toBe('[IOC] Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026');
    expect(m!.raw_subject).toMatch(/^=\?UTF-8\?/i);
    expect(m!.text).toContain('Số vùng lõm sóng: 2');
    expect(m!.text).toContain('tỷ lệ khả dụng dưới 99,00 %');
    expect(m!.attachments.map((a) => [a.filename, a.content_type])).toEqual([
      ['Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026.pdf', 'application/pdf'],
      ['Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
      ['Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026.csv', 'text/csv'],
    ]);
    // the attached bytes are the archived files, byte for byte
    for (const [i, f] of (['pdf', 'xlsx', 'csv'] as const).entries()) {
      const sha = createHash('sha256').update(readFileSync(archive.file(e.id, f)!.path)).digest('hex');
      expect(m!.attachments[i]!.sha256).toBe(sha);
    }
    expect(archive.get(e.id)!.delivery).toMatchObject({ status: 'sent', attempts: 1, error: null, to: ['noc@vnpt.example', 'trucban@ioc.example'] });
  });

  it('a refused recipient is a permanent failure: recorded, not retried; the report itself stays done', async () => {
    const archive = new ReportArchive(dataDir()).open();
    const r = runner(archive, { mailer: reportMailer(channel(sink.port), { env: {} }), recipients: () => ['reject@vnpt.example'] });
    const e = r.submit(monthReq('vnpt'), { trigger: 'manual' });
    await r.idle();
    const got = archive.get(e.id)!;
    expect(got.status).toBe('done');
    expect(got.delivery).toMatchObject({ status: 'failed', attempts: 1 });
    expect(got.delivery.error).toMatch(/550/);
  });

  it('a mail server that is down is retried, then the failure is recorded with its reason', async () => {
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const archive = new ReportArchive(dataDir()).open();
    const r = runner(archive, { mailer: reportMailer(channel(port), { env: {} }), recipients, retry: { attempts: 2, baseDelayMs: 30, maxDelayMs: 100 } });
    const e = r.submit({ kind: 'dost', scope: {}, period: monthReq().period }, { trigger: 'manual' });
    await r.idle();
    expect(archive.get(e.id)!.delivery).toMatchObject({ status: 'failed', attempts: 2, to: ['sokhcn@quangngai.example', 'trucban@ioc.example'] });
    expect(archive.get(e.id)!.delivery.error).toMatch(/ECONNREFUSED/);
  });
});

// ---- routes and roles --------------------------------------------------------------------------------------

describe('/api/reports roles', () => {
  const sessions = new Sessions(3_600_000);
  const users: Record<string, SessionUser> = {
    vnpt: { username: 'vnpt-eng', role: 'carrier', carrier: 'vnpt' },
    viettel: { username: 'viettel-eng', role: 'carrier', carrier: 'viettel' },
    dost: { username: 'dost', role: 'dost' },
    op: { username: 'op', role: 'operator' },
    admin: { username: 'admin', role: 'admin' },
  };
  const cookie: Record<string, string> = {};
  let app: Hono;
  let archive: ReportArchive;
  let r: ReportRunner;
  const ids: Record<'vnpt' | 'viettel' | 'dost', string> = { vnpt: '', viettel: '', dost: '' };
  const NOW = vn(2026, 11, 15, 9);

  beforeAll(async () => {
    for (const [k, u] of Object.entries(users)) cookie[k] = `${SESSION_COOKIE}=${sessions.create(u)}`;
    archive = new ReportArchive(dataDir()).open();
    r = runner(archive);
    const tokens = [{ id: 'vnpt-bot', role: 'carrier' as const, carrier: 'vnpt', tokenHash: await hashSecret('tok-vnpt', { N: 1024 }) }];
    app = new Hono();
    app.onError(apiErrorHandler()); // as server/app.ts: domain errors answer with their status
    const api = new Hono<AuthEnv>();
    api.use('*', requireSession(sessions, tokens));
    api.route('/reports', reportRoutes({ archive, runner: r, dir, periods: periodHelpers, now: () => NOW }));
    app.route('/api', api);
    ids.vnpt = r.submit(monthReq('vnpt'), { trigger: 'schedule', schedule: 'carrier-monthly' }).id;
    ids.viettel = r.submit(monthReq('viettel'), { trigger: 'schedule', schedule: 'carrier-monthly' }).id;
    ids.dost = r.submit({ kind: 'dost', scope: {}, period: monthReq().period }, { trigger: 'schedule', schedule: 'dost-monthly' }).id;
    await r.idle();
  });

  const as = (who: string): Record<string, string> => (who === 'token' ? { authorization: 'Bearer vnpt-bot.tok-vnpt' } : { cookie: cookie[who]! });
  // the list is /api/reports (no trailing slash, as the UI calls it)
  const get = (path: string, who: string) => app.request(`/api/reports${path.replace(/^\/(?=\?|$)/, '')}`, { headers: as(who) });
  const post = (body: unknown, who: string) =>
    app.request('/api/reports', { method: 'POST', headers: { ...as(who), 'content-type': 'application/json' }, body: JSON.stringify(body) });

  describe.each(['vnpt', 'token'])('a VNPT account (%s)', (who) => {
    it('lists only VNPT carrier reports: never Viettel, never DOST', async () => {
      const res = await get('/', who);
      expect(res.status).toBe(200);
      const list = (await res.json()) as ArchiveEntry[];
      expect(list.map((e) => e.id)).toContain(ids.vnpt);
      expect(list.every((e) => e.kind === 'carrier' && e.carrier === 'vnpt')).toBe(true);
      expect(JSON.stringify(list)).not.toMatch(/viettel|"dost"/i);
      // asking for the others by filter gives nothing, not an error that confirms they exist
      expect(await (await get('/?kind=dost', who)).json()).toEqual([]);
      expect(await (await get('/?carrier=viettel', who)).json()).toEqual([]);
    });

    it('cannot read, follow or download another carrier\'s or DOST\'s report (404 like a missing one)', async () => {
      for (const id of [ids.viettel, ids.dost]) {
        expect((await get(`/${id}`, who)).status).toBe(404);
        expect((await get(`/jobs/${id}`, who)).status).toBe(404);
        for (const f of ['pdf', 'xlsx', 'csv']) expect((await get(`/${id}/${f}`, who)).status).toBe(404);
      }
      expect((await get(`/${ids.vnpt}`, who)).status).toBe(200);
      expect((await get(`/jobs/${ids.vnpt}`, who)).status).toBe(200);
    });

    it('downloads its own report with a Vietnamese file name (RFC 5987)', async () => {
      const res = await get(`/${ids.vnpt}/pdf`, who);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      const cd = res.headers.get('content-disposition')!;
      expect(cd).toContain('filename="Bao-cao-vung-lom-song-VNPT-Thang-10-2026.pdf"');
      const star = /filename\*=UTF-8''([^;]+)/.exec(cd)![1]!;
      expect(decodeURIComponent(star)).toBe('Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026.pdf');
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(readFileSync(archive.file(ids.vnpt, 'pdf')!.path))).toBe(true);
      const csv = await get(`/${ids.vnpt}/csv`, who);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect((await csv.text()).replace(/^\uFEFF/, '').split('\r\n')[0]).toBe('BÁO CÁO VÙNG LÕM SÓNG;Nhà mạng VNPT — Tỉnh Quảng Ngãi — Tháng 10/2026');
    });

    it('cannot generate DOST or another carrier\'s report; may generate its own', async () => {
      const month = { type: 'month', from: '2026-10-01' };
      expect((await post({ kind: 'carrier', carrier: 'viettel', period: month }, who)).status).toBe(403);
      expect((await post({ kind: 'dost', period: month }, who)).status).toBe(403);
      expect((await post({ kind: 'dost', commune: '21484', period: month }, who)).status).toBe(403);
      const before = archive.list().length;
      const res = await post({ kind: 'carrier', period: { type: 'week', from: '2026-10-28' } }, who);
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      expect(archive.list().length).toBe(before + 1);
      expect(archive.get(id)).toMatchObject({ kind: 'carrier', carrier: 'vnpt', period: { type: 'week', label: 'Tuần 44/2026 (26/10–01/11/2026)' } });
      await r.idle();
    });
  });

  it('the other carrier is held to its own reports the same way', async () => {
    const list = (await (await get('/', 'viettel')).json()) as ArchiveEntry[];
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((e) => e.carrier === 'viettel')).toBe(true);
    expect((await get(`/${ids.vnpt}/xlsx`, 'viettel')).status).toBe(404);
  });

  it('DOST, operator and admin see everything and may generate any report; progress is reported', async () => {
    for (const who of ['dost', 'op', 'admin']) {
      const list = (await (await get('/', who)).json()) as ArchiveEntry[];
      expect(list.map((e) => e.id)).toEqual(expect.arrayContaining([ids.vnpt, ids.viettel, ids.dost]));
      expect((await get(`/${ids.dost}/pdf`, who)).status).toBe(200);
    }
    const res = await post({ kind: 'dost', target: 'dvc', period: { type: 'custom', from: '2026-10-01', to: '2026-10-15' } }, 'dost');
    expect(res.status).toBe(202);
    const { id, job } = (await res.json()) as { id: string; job: string };
    expect(job).toBe(`/api/reports/jobs/${id}`);
    const states: string[] = [];
    for (let i = 0; i < 100; i++) {
      const p = (await (await get(`/jobs/${id}`, 'dost')).json()) as JobProgress;
      states.push(p.status);
      if (p.status === 'done') {
        expect(p).toMatchObject({ percent: 100, stage: 'done', error: null });
        break;
      }
      await new Promise((res2) => setTimeout(res2, 50));
    }
    expect(states.at(-1)).toBe('done');
    expect(archive.get(id)).toMatchObject({
      kind: 'dost', scope: { target: 'dvc' }, requestedBy: 'dost',
      period: { type: 'custom', from: vn(2026, 10, 1), to: vn(2026, 10, 16), label: '01/10/2026–15/10/2026' },
    });
    expect((await post({ kind: 'carrier', carrier: 'viettel', period: { type: 'month' } }, 'op')).status).toBe(202);
    await r.idle();
  });

  it('refuses bad requests and unauthenticated ones', async () => {
    expect((await app.request('/api/reports')).status).toBe(401);
    expect((await app.request(`/api/reports/${ids.vnpt}/pdf`)).status).toBe(401);
    expect((await app.request('/api/reports', { headers: { authorization: 'Bearer vnpt-bot.wrong' } })).status).toBe(401);
    const bad = [
      { kind: 'carrier', carrier: 'mobifone', period: { type: 'month' } },
      { kind: 'carrier', period: { type: 'month' } }, // an operator must name the carrier
      { kind: 'dost', commune: '99999', period: { type: 'month' } },
      { kind: 'dost', period: { type: 'custom', from: '2026-10-15', to: '2026-10-01' } },
      { kind: 'dost', period: { type: 'custom', from: '2026-10-01' } },
      { kind: 'dost', period: { type: 'month', from: '2027-01-10' } }, // the future
      { kind: 'dost', period: { type: 'year' } },
    ];
    for (const b of bad) expect((await post(b, 'op')).status, JSON.stringify(b)).toBe(400);
    expect((await get(`/${ids.vnpt}/odt`, 'op')).status).toBe(400);
    expect((await get('/nope/pdf', 'op')).status).toBe(404);
  });

  it('a carrier account does not see who else receives its report', async () => {
    const e = (await (await get(`/${ids.vnpt}`, 'vnpt')).json()) as ArchiveEntry;
    expect(e.delivery.to).toEqual([]);
  });
});

// a tiny type check that the fixture builder returns the union
const _check: (r: Report) => void = () => {};
void _check;

// ---- composed: createReports over a real DuckDB store (the data layer's builders behind the runner) -------------

describe('createReports over a DuckDB store', () => {
  it('an operator generates a carrier report on demand from stored results and downloads it', async () => {
    const root = dataDir();
    const hash = await hashSecret('x', { N: 1024 });
    const cfg = parseConfig({
      province: { code: '51' },
      server: { dataDir: root },
      carriers: [{ id: 'vnpt', name: 'VNPT' }],
      targets: [{ id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '127.0.0.1' }],
      agents: [
        { id: 'a-bato', commune: '21484', tokenHash: hash, uplinks: [{ name: 'wan1', carrier: 'vnpt' }] },
        { id: 'a-camthanh', commune: '21025', tokenHash: hash, uplinks: [{ name: 'wan1', carrier: 'vnpt' }] },
      ],
      reports: { enabled: false },
    });
    const d = buildDirectory(cfg, province);
    const store = createStore(cfg.store, { dataDir: root });
    await store.init();
    // one local day, ten days ago: Ba Tơ loses half its packets all day, Cẩm Thành none
    const today = Date.now() - ((Date.now() + 7 * H) % (24 * H));
    const from = today - 10 * 24 * H;
    const points = [];
    for (let t = from; t < from + 24 * H; t += 5 * 60_000)
      for (const [agent, commune, loss] of [['a-bato', '21484', 50], ['a-camthanh', '21025', 0]] as const)
        points.push({
          measurement: 'icmp' as const, ts: t,
          tags: { province: '51', commune, carrier: 'vnpt', agent, target: 'dc', uplink: 'wan1' },
          fields: { sent: 10, received: 10 - loss / 10, loss, rtt_min: 9, rtt_median: 10, rtt_avg: 10, rtt_max: 12, jitter: 1, error: null, backfilled: false },
        });
    await store.write(points);
    const reports = createReports({ config: cfg, dir: d, store });
    try {
      const sessions = new Sessions(3_600_000);
      const sid = sessions.create({ username: 'op', role: 'operator' });
      const api = new Hono<AuthEnv>();
      api.use('*', requireSession(sessions));
      api.route('/reports', reports.routes);
      const app = new Hono().route('/api', api);
      const ymd = (t: number) => { const p = vnParts(t); return `${p.y}-${String(p.mo).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`; };
      const res = await app.request('/api/reports', {
        method: 'POST',
        headers: { cookie: `${SESSION_COOKIE}=${sid}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'carrier', carrier: 'vnpt', period: { type: 'custom', from: ymd(from), to: ymd(from) } }),
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      await reports.runner.idle();
      expect(reports.archive.get(id)).toMatchObject({ status: 'done', error: null });
      const csv = await (await app.request(`/api/reports/${id}/csv`, { headers: { cookie: `${SESSION_COOKIE}=${sid}` } })).text();
      const rows = csv.split('\r\n');
      const bato = rows.find((l) => l.includes(';21484;Xã Ba Tơ;'))!;
      const cam = rows.find((l) => l.includes(';21025;Phường Cẩm Thành;'))!;
      expect(bato.split(';').slice(0, 4)).toEqual(['1', '21484', 'Xã Ba Tơ', 'Có']);
      expect(bato.split(';')[5]).toBe('50,00'); // mean loss
      expect(cam.split(';').slice(0, 4)).toEqual(['2', '21025', 'Phường Cẩm Thành', 'Không']);
      expect((await app.request(`/api/reports/${id}/pdf`, { headers: { cookie: `${SESSION_COOKIE}=${sid}` } })).status).toBe(200);
    } finally {
      await reports.close();
      await store.close();
    }
  });
});
