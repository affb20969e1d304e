// Report periods in Asia/Ho_Chi_Minh, pure. Vietnam keeps UTC+7 with no daylight saving, so local calendar
// arithmetic is UTC arithmetic shifted by 7 h. Weeks are ISO weeks (Monday–Sunday; week 1 holds the year's first
// Thursday), as Vietnamese administrations number them. Labels are Vietnamese:
//   month  "Tháng 10/2026"
//   week   "Tuần 44/2026 (26/10–01/11/2026)", or "Tuần 1/2026 (29/12/2025–04/01/2026)" across a new year
//   custom "01/10/2026–15/10/2026" (whole days, the last day shown is the last one included), one day "01/10/2026",
//          otherwise with times "01/10/2026 08:00–01/10/2026 17:30"
import { VN_OFFSET_MS } from '../../../config/schema.ts';
import type { Period } from '../model.ts';

export type PeriodType = 'week' | 'month' | 'custom';
const DAY = 86_400_000;
const WEEK = 7 * DAY;

const pad = (n: number) => String(n).padStart(2, '0');

/** Local calendar fields of an instant. weekday: 0 = Monday … 6 = Sunday. */
export function localParts(ts: number) {
  const d = new Date(ts + VN_OFFSET_MS);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: (d.getUTCDay() + 6) % 7,
  };
}

/** Hour of the day (0-23) in Asia/Ho_Chi_Minh. */
export function localHour(ts: number): number {
  return Math.floor((((ts + VN_OFFSET_MS) % DAY) + DAY) % DAY / 3_600_000);
}

/** Local midnight starting the local day that contains ts. */
export function localMidnight(ts: number): number {
  return ts - ((((ts + VN_OFFSET_MS) % DAY) + DAY) % DAY);
}

/** The instant of local midnight on year-month-day (month 1-12; overflowing days/months roll over like Date.UTC). */
export function localDate(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) - VN_OFFSET_MS;
}

/** dd/mm/yyyy */
export function fmtDate(ts: number): string {
  const p = localParts(ts);
  return `${pad(p.day)}/${pad(p.month)}/${p.year}`;
}

function fmtDateTime(ts: number): string {
  const p = localParts(ts);
  return `${fmtDate(ts)} ${pad(p.hour)}:${pad(p.minute)}`;
}

export function monthPeriod(year: number, month: number): Period {
  if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1 || month > 12) throw new RangeError(`bad month ${year}-${month}`);
  return { from: localDate(year, month, 1), to: localDate(year, month + 1, 1), label: `Tháng ${month}/${year}` };
}

/** ISO year and week of the local day containing ts. */
export function isoWeekOf(ts: number): { year: number; week: number } {
  const p = localParts(ts);
  // The Thursday of this ISO week decides its year.
  const thursday = Date.UTC(p.year, p.month - 1, p.day) + (3 - p.weekday) * DAY;
  const year = new Date(thursday).getUTCFullYear();
  return { year, week: 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / WEEK) };
}

/** Weeks in an ISO year: 53 when 28 December falls in week 53. */
export function isoWeeksIn(year: number): number {
  return isoWeekOf(localDate(year, 12, 28)).week;
}

export function weekPeriod(isoYear: number, week: number): Period {
  if (!Number.isInteger(isoYear) || !Number.isInteger(week) || week < 1 || week > isoWeeksIn(isoYear)) throw new RangeError(`bad ISO week ${isoYear}-W${week}`);
  const jan4 = Date.UTC(isoYear, 0, 4);
  const monday1 = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY;
  const from = monday1 + (week - 1) * WEEK - VN_OFFSET_MS;
  const to = from + WEEK;
  const a = localParts(from);
  const b = localParts(to - DAY);
  const start = a.year === b.year ? `${pad(a.day)}/${pad(a.month)}` : fmtDate(from);
  return { from, to, label: `Tuần ${week}/${isoYear} (${start}–${fmtDate(to - DAY)})` };
}

/** [from, to) with a label: whole local days as "dd/mm/yyyy–dd/mm/yyyy", anything else with times. */
export function customPeriod(from: number, to: number): Period {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to <= from) throw new RangeError(`bad period ${from}..${to}`);
  const wholeDays = localMidnight(from) === from && localMidnight(to) === to;
  let label: string;
  if (wholeDays) label = to - from === DAY ? fmtDate(from) : `${fmtDate(from)}–${fmtDate(to - DAY)}`;
  else label = `${fmtDateTime(from)}–${fmtDateTime(to)}`;
  return { from, to, label };
}

/** The week or month containing `at`. */
export function containingPeriod(type: 'week' | 'month', at: number): Period {
  if (type === 'month') {
    const p = localParts(at);
    return monthPeriod(p.year, p.month);
  }
  const w = isoWeekOf(at);
  return weekPeriod(w.year, w.week);
}

/** The complete week or month before the one containing `now` (what a schedule reports on). */
export function previousCalendarPeriod(type: 'week' | 'month', now: number): Period {
  return containingPeriod(type, containingPeriod(type, now).from - 1);
}

/** What kind of period this is: a calendar month, an ISO week, or anything else. */
export function periodType(p: Pick<Period, 'from' | 'to'>): PeriodType {
  const m = containingPeriod('month', p.from);
  if (m.from === p.from && m.to === p.to) return 'month';
  const w = containingPeriod('week', p.from);
  if (w.from === p.from && w.to === p.to) return 'week';
  return 'custom';
}

/** The period before: the previous month or week, or for a custom period the same length just before it. */
export function previousPeriod(p: Pick<Period, 'from' | 'to'>): Period {
  const t = periodType(p);
  if (t !== 'custom') return containingPeriod(t, p.from - 1);
  return customPeriod(p.from - (p.to - p.from), p.from);
}

/**
 * Parses "2026-10" (month), "2026-W44" (ISO week) or "2026-10-01..2026-10-15" (custom, both days included);
 * throws a RangeError naming what is wrong.
 */
export function parsePeriod(spec: string): Period {
  const s = spec.trim();
  let m = /^(\d{4})-(\d{2})$/.exec(s);
  if (m) return monthPeriod(Number(m[1]), Number(m[2]));
  m = /^(\d{4})-W(\d{1,2})$/i.exec(s);
  if (m) return weekPeriod(Number(m[1]), Number(m[2]));
  m = /^(\d{4})-(\d{2})-(\d{2})\.\.(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m) {
    const [y1, m1, d1, y2, m2, d2] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const from = localDate(y1, m1, d1);
    const last = localDate(y2, m2, d2);
    if (localParts(from).day !== d1 || localParts(last).day !== d2) throw new RangeError(`no such day in "${spec}"`);
    if (last < from) throw new RangeError(`"${spec}": the last day is before the first`);
    return customPeriod(from, last + DAY);
  }
  throw new RangeError(`"${spec}": expected YYYY-MM, YYYY-Www or YYYY-MM-DD..YYYY-MM-DD`);
}

/** The shape server/reports/cron.ts and routes/reports.ts take (PeriodHelpers). */
export const periodHelpers = {
  previous: previousCalendarPeriod,
  containing: containingPeriod,
  custom: customPeriod,
};
