// Vietnamese conventions for every report format: decimal comma, thousands dot ("1.234,5"), "99,95 %",
// dd/mm/yyyy, times in Asia/Ho_Chi_Minh. Written by hand rather than with Intl so the output is the same
// whatever ICU data the Node build carries (the CSV tests compare bytes).
import { VN_OFFSET_MS } from '../../../config/schema.ts';
import { CAUSES, type Cause } from '../../../config/vocabulary.ts';
import { causeKindText } from '../../../config/words.ts';

export const DASH = '—';

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Fixed number of decimals, Vietnamese separators: num(1234.5, 1) = "1.234,5"; null -> "—". */
export function num(v: number | null | undefined, digits = 0): string {
  if (!finite(v)) return DASH;
  const fixed = Math.abs(v).toFixed(digits);
  const [int = '0', frac] = fixed.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  // "-0,0" after rounding a tiny negative is noise
  const neg = v < 0 && Number(fixed) !== 0;
  return `${neg ? '-' : ''}${grouped}${frac ? `,${frac}` : ''}`;
}

/** "99,95 %" (Vietnamese and SI put a space before %). */
export function pct(v: number | null | undefined, digits = 2): string {
  return finite(v) ? `${num(v, digits)} %` : DASH;
}

/** Signed change in percentage points: "+0,12 điểm %", "−1,50 điểm %". */
export function deltaPct(v: number | null | undefined, digits = 2): string {
  if (!finite(v)) return DASH;
  const s = num(Math.abs(v), digits);
  if (Number(Math.abs(v).toFixed(digits)) === 0) return `±${s} điểm %`;
  return `${v > 0 ? '+' : '−'}${s} điểm %`;
}

/** Wall-clock parts in Asia/Ho_Chi_Minh (UTC+7 all year, no DST since 1975: a fixed offset is exact). */
export function vnParts(ts: number) {
  const d = new Date(ts + VN_OFFSET_MS);
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), dow: d.getUTCDay() };
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** dd/mm/yyyy */
export function date(ts: number | null | undefined): string {
  if (!finite(ts)) return DASH;
  const p = vnParts(ts);
  return `${p2(p.d)}/${p2(p.mo)}/${p.y}`;
}

/** dd/mm/yyyy HH:mm */
export function dateTime(ts: number | null | undefined): string {
  if (!finite(ts)) return DASH;
  const p = vnParts(ts);
  return `${p2(p.d)}/${p2(p.mo)}/${p.y} ${p2(p.h)}:${p2(p.mi)}`;
}

/** The last day a half-open period [from, to) covers, as dd/mm/yyyy. */
export function lastDay(toExclusive: number): string {
  return date(toExclusive - 1);
}

/** "3 ngày 2 giờ 5 phút", "45 phút", "0 phút". */
export function duration(min: number | null | undefined): string {
  if (!finite(min)) return DASH;
  let m = Math.round(min);
  const d = Math.floor(m / 1440);
  m -= d * 1440;
  const h = Math.floor(m / 60);
  m -= h * 60;
  const out: string[] = [];
  if (d) out.push(`${d} ngày`);
  if (h) out.push(`${h} giờ`);
  if (m || !out.length) out.push(`${m} phút`);
  return out.join(' ');
}

/** Hours of the day as ranges: [20, 7] -> "20h–21h, 7h–8h". */
export function hours(list: number[]): string {
  return list.length ? list.map((h) => `${h}h–${h + 1}h`).join(', ') : DASH;
}

/** "Đường truyền xã 1, Nhà mạng 2" in the vocabulary's order of causes. */
export function causes(c: Partial<Record<Cause, number>>): string {
  const parts = CAUSES.filter((k) => (c[k] ?? 0) > 0).map((k) => `${causeKindText(k, 'vi')} ${c[k]}`);
  return parts.length ? parts.join(', ') : DASH;
}

/** ASCII fold for file names: "Báo cáo Đặc khu" -> "Bao cao Dac khu". */
export function ascii(s: string): string {
  return s
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '');
}
