// Pure helpers of the reports page: report names and period labels in words (vi/en), the calendar periods the
// form offers (Asia/Ho_Chi_Minh, ISO weeks like server/reports/data/periods.ts), dd/mm/yyyy input, the POST body,
// progress stages, and API errors in words. The reactive page is pages/ReportsPage.svelte.
import type { GenerateBody } from '../../../config/api.ts';
import { REPORT_FORMATS, type ReportFormat } from '../../../config/schema.ts';
import { REPORT_STAGES, type ReportStage as Stage } from '../../../config/vocabulary.ts';
import type { Lang } from './format.ts';
import type { MessageKey } from './i18n.ts';
import { VN_OFFSET_MS, vnDay, type NameLookup } from './incidents.ts';

export { VN_OFFSET_MS };
const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** server/routes/reports.ts refuses longer custom periods */
export const MAX_SPAN_DAYS = 400;

export type { GenerateBody, ReportFormat };
export type ReportKind = GenerateBody['kind'];
export type PeriodType = GenerateBody['period']['type'];
export const FORMATS: readonly ReportFormat[] = REPORT_FORMATS;
export const PERIOD_TYPES: readonly PeriodType[] = ['week', 'month', 'custom'];

/** Translator as handed around by the page (i18n.t). */
export type T = (key: MessageKey, params?: Record<string, string | number>) => string;

export interface ReportPeriod {
  type: PeriodType;
  from: number;
  to: number;
  /** the server's Vietnamese label */
  label?: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

// ---- calendar in Asia/Ho_Chi_Minh (UTC+7, no daylight saving) ----------------------------------------------

/** Local calendar fields; weekday 0 = Monday … 6 = Sunday. */
export function vnParts(ts: number) {
  const d = new Date(ts + VN_OFFSET_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), weekday: (d.getUTCDay() + 6) % 7 };
}
/** Local midnight of year-month-day (overflowing days/months roll over like Date.UTC). */
export function vnDate(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) - VN_OFFSET_MS;
}
export function vnMidnight(ts: number): number {
  return ts - ((((ts + VN_OFFSET_MS) % DAY) + DAY) % DAY);
}
/** dd/mm/yyyy */
export function dmy(ts: number): string {
  const p = vnParts(ts);
  return `${pad(p.day)}/${pad(p.month)}/${p.year}`;
}
/** yyyy-mm-dd, the day form the API takes */
export function isoDay(ts: number): string {
  const p = vnParts(ts);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** "dd/mm/yyyy" (also d/m/yyyy, with - or . as separators) -> that day's local midnight; null when no such day. */
export function parseDmy(s: string): number | null {
  const m = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(s);
  return m ? vnDay(Number(m[3]), Number(m[2]), Number(m[1])) : null;
}

/** ISO year and week of the local day containing ts (week 1 holds the year's first Thursday). */
export function isoWeekOf(ts: number): { year: number; week: number } {
  const p = vnParts(ts);
  const thursday = Date.UTC(p.year, p.month - 1, p.day) + (3 - p.weekday) * DAY;
  const year = new Date(thursday).getUTCFullYear();
  return { year, week: 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / WEEK) };
}

export function monthOf(ts: number): { from: number; to: number } {
  const p = vnParts(ts);
  return { from: vnDate(p.year, p.month, 1), to: vnDate(p.year, p.month + 1, 1) };
}
export function weekOf(ts: number): { from: number; to: number } {
  const from = vnMidnight(ts) - vnParts(ts).weekday * DAY;
  return { from, to: from + WEEK };
}

const MONTHS_EN = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * A period in words. Vietnamese matches the server's labels ("Tháng 10/2026", "Tuần 44/2026 (26/10–01/11/2026)",
 * "01/10/2026–15/10/2026"), and the server's own label wins when there is one; English is built here.
 */
export function periodText(p: ReportPeriod, lang: Lang): string {
  if (lang === 'vi' && p.label) return p.label;
  const a = vnParts(p.from);
  if (p.type === 'month') return lang === 'vi' ? `Tháng ${a.month}/${a.year}` : `${MONTHS_EN[a.month - 1]} ${a.year}`;
  if (p.type === 'week') {
    const w = isoWeekOf(p.from);
    const last = vnParts(p.to - DAY);
    const start = a.year === last.year ? `${pad(a.day)}/${pad(a.month)}` : dmy(p.from);
    return `${lang === 'vi' ? 'Tuần' : 'Week'} ${w.week}/${w.year} (${start}–${dmy(p.to - DAY)})`;
  }
  const wholeDays = vnMidnight(p.from) === p.from && vnMidnight(p.to) === p.to;
  if (!wholeDays) {
    const hm = (ts: number) => `${dmy(ts)} ${pad(vnParts(ts).hour)}:${pad(vnParts(ts).minute)}`;
    return `${hm(p.from)}–${hm(p.to)}`;
  }
  return p.to - p.from === DAY ? dmy(p.from) : `${dmy(p.from)}–${dmy(p.to - DAY)}`;
}

export interface PeriodOption {
  /** a day inside the period (yyyy-mm-dd), what POST /api/reports takes as period.from */
  value: string;
  from: number;
  to: number;
  /** the period has not ended yet */
  current: boolean;
}

/** The current week or month and the `count` before it, newest first. */
export function periodOptions(type: 'week' | 'month', now: number, count = 12): PeriodOption[] {
  const of = type === 'month' ? monthOf : weekOf;
  const out: PeriodOption[] = [];
  let p = of(now);
  for (let i = 0; i <= count; i++) {
    out.push({ value: isoDay(p.from), from: p.from, to: p.to, current: i === 0 });
    p = of(p.from - 1);
  }
  return out;
}

export type PeriodChoice =
  | { ok: true; body: { type: PeriodType; from?: string; to?: string }; from: number; to: number }
  | { ok: false; error: MessageKey };

/**
 * What the form's period fields ask for. week/month: `value` is an option's value (empty: the server's default,
 * the last complete one); custom: two dd/mm/yyyy days, both included.
 */
export function choosePeriod(type: PeriodType, value: string, fromText: string, toText: string, now: number): PeriodChoice {
  if (type !== 'custom') {
    const opts = periodOptions(type, now);
    const o = opts.find((x) => x.value === value) ?? opts[1]!;
    return { ok: true, body: { type, from: o.value }, from: o.from, to: o.to };
  }
  const from = parseDmy(fromText);
  const last = parseDmy(toText);
  if (from === null || last === null) return { ok: false, error: 'reports.form.badDate' };
  if (last < from) return { ok: false, error: 'reports.form.reversed' };
  if (from > now) return { ok: false, error: 'reports.form.future' };
  if ((last - from) / DAY + 1 > MAX_SPAN_DAYS) return { ok: false, error: 'reports.form.tooLong' };
  return { ok: true, body: { type, from: isoDay(from), to: isoDay(last) }, from, to: last + DAY };
}

// ---- requests and answers ---------------------------------------------------------------------------------

/** POST /api/reports body: a carrier report names its carrier, a DOST report its optional commune/service. */
export function generateBody(f: { kind: ReportKind; carrier: string; commune: string | null; target: string }, period: GenerateBody['period']): GenerateBody {
  if (f.kind === 'carrier') return { kind: 'carrier', ...(f.carrier ? { carrier: f.carrier } : {}), period };
  return { kind: 'dost', ...(f.commune ? { commune: f.commune } : {}), ...(f.target ? { target: f.target } : {}), period };
}


/** "Báo cáo vùng lõm sóng — VNPT" / "Báo cáo lịch sử sự cố (Sở KH&CN)", plus the DOST scope when limited. */
export function reportName(e: { kind: ReportKind; carrier: string | null; scope?: { commune?: string; target?: string } }, names: NameLookup, t: T): string {
  if (e.kind === 'carrier') return t('reports.kind.carrier', { carrier: e.carrier ? names.carrier(e.carrier) : '—' });
  const parts = [t('reports.kind.dost')];
  if (e.scope?.commune) parts.push(names.commune(e.scope.commune));
  if (e.scope?.target) parts.push(names.target(e.scope.target));
  return parts.join(' — ');
}

export function isStage(v: unknown): v is Stage {
  return typeof v === 'string' && (REPORT_STAGES as readonly string[]).includes(v);
}

/** The stage in words; the file being rendered is taken from the server's label ("Đang tạo tệp PDF"). */
export function stageText(p: { stage: string; stageLabel?: string }, t: T): string {
  if (!isStage(p.stage)) return p.stageLabel ?? p.stage;
  if (p.stage === 'render') {
    const f = /\b(PDF|XLSX|CSV)\b/i.exec(p.stageLabel ?? '')?.[1];
    return f ? t('reports.stage.renderFormat', { format: f.toUpperCase() }) : t('reports.stage.render');
  }
  return t(`reports.stage.${p.stage}`);
}

/** A job is over for the page once its files exist (done: an email may still go out) or it gave up. */
export function jobFinished(status: string): boolean {
  return status === 'done' || status === 'failed';
}

/** Known server refusals (server/routes/reports.ts) in words; anything else is quoted as the server said it. */
const KNOWN: [RegExp, MessageKey][] = [
  [/starts in the future/, 'reports.form.future'],
  [/longer than \d+ days/, 'reports.form.tooLong'],
  [/must be after/, 'reports.form.reversed'],
  [/expected a date|needs `from` and `to`/, 'reports.form.badDate'],
  [/unknown commune/, 'reports.err.commune'],
  [/unknown carrier/, 'reports.err.carrier'],
  [/unknown target/, 'reports.err.target'],
  [/carrier: required/, 'reports.form.noCarrier'],
];

/** An API failure in words: what went wrong for the user, with the server's reason when it adds something. */
export function apiErrorText(e: unknown, t: T): string {
  const status = typeof e === 'object' && e && 'status' in e && typeof e.status === 'number' ? e.status : -1;
  const msg = e instanceof Error ? e.message : String(e);
  if (status === 0) return t('reports.err.network');
  if (status === 401) return t('reports.err.session');
  if (status === 403) return t('reports.err.forbidden');
  if (status === 404) return t('reports.err.notFound');
  if (status === 400) {
    const known = KNOWN.find(([re]) => re.test(msg));
    return known ? t(known[1]) : t('reports.err.invalid', { detail: msg });
  }
  if (status >= 500) return t('reports.err.server', { status });
  return t('reports.err.other', { detail: msg });
}

export function downloadHref(id: string, format: ReportFormat): string {
  return `/api/reports/${encodeURIComponent(id)}/${format}`;
}

/** GET /api/reports query for the list filters. */
export function listQuery(f: { kind: ReportKind | ''; carrier: string }): string {
  const q = new URLSearchParams();
  if (f.kind) q.set('kind', f.kind);
  if (f.carrier) q.set('carrier', f.carrier);
  q.set('limit', '500');
  return q.toString();
}
