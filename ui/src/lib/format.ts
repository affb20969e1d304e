// Pure formatters. Times are always shown in the province's zone, whatever the browser's zone is,
// so a wall screen and a laptop set to UTC show the same clock.
export const TIME_ZONE = 'Asia/Ho_Chi_Minh';
import type { Lang } from '../../../config/words.ts';
export type { Lang };

const DASH = '—';

const numberFormats = new Map<string, Intl.NumberFormat>();
function nf(lang: Lang, maxDigits: number): Intl.NumberFormat {
  const key = `${lang}:${maxDigits}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: maxDigits, minimumFractionDigits: 0 });
    numberFormats.set(key, f);
  }
  return f;
}

function isNum(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A number in the language's notation (vi: 1.234,5; en: 1,234.5). */
export function formatNumber(v: number | null | undefined, lang: Lang = 'vi', maxDigits = 1): string {
  return isNum(v) ? nf(lang, maxDigits).format(v) : DASH;
}

/** Latency: "0,42 ms", "12,3 ms", "245 ms", "1,25 s". */
export function formatMs(v: number | null | undefined, lang: Lang = 'vi'): string {
  if (!isNum(v)) return DASH;
  const a = Math.abs(v);
  if (a >= 1000) return `${nf(lang, 2).format(v / 1000)} s`;
  if (a >= 100) return `${nf(lang, 0).format(v)} ms`;
  if (a >= 1) return `${nf(lang, 1).format(v)} ms`;
  return `${nf(lang, 2).format(v)} ms`;
}

/** Percent: "0 %", "2,5 %", "100 %". Vietnamese and SI style put a space before %. */
export function formatPct(v: number | null | undefined, lang: Lang = 'vi'): string {
  if (!isNum(v)) return DASH;
  const digits = Math.abs(v) >= 10 || Number.isInteger(v) ? 0 : 1;
  return `${nf(lang, digits).format(v)} %`;
}

interface Parts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}
// en-GB with h23 gives stable two-digit parts; we assemble them ourselves so no locale can reorder them.
const partsFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});
function parts(ts: number): Parts {
  const out: Record<string, string> = {};
  for (const p of partsFormat.formatToParts(new Date(ts))) out[p.type] = p.value;
  return {
    year: out.year ?? '',
    month: out.month ?? '',
    day: out.day ?? '',
    hour: out.hour ?? '',
    minute: out.minute ?? '',
    second: out.second ?? '',
  };
}

/** HH:mm:ss in Asia/Ho_Chi_Minh. */
export function formatTime(ts: number | null | undefined): string {
  if (!isNum(ts)) return DASH;
  const p = parts(ts);
  return `${p.hour}:${p.minute}:${p.second}`;
}

/** HH:mm in Asia/Ho_Chi_Minh (chart ticks). */
export function formatHourMinute(ts: number | null | undefined): string {
  if (!isNum(ts)) return DASH;
  const p = parts(ts);
  return `${p.hour}:${p.minute}`;
}

/** dd/mm/yyyy in Asia/Ho_Chi_Minh. */
export function formatDate(ts: number | null | undefined): string {
  if (!isNum(ts)) return DASH;
  const p = parts(ts);
  return `${p.day}/${p.month}/${p.year}`;
}

/** HH:mm:ss dd/mm/yyyy in Asia/Ho_Chi_Minh. */
export function formatDateTime(ts: number | null | undefined): string {
  if (!isNum(ts)) return DASH;
  const p = parts(ts);
  return `${p.hour}:${p.minute}:${p.second} ${p.day}/${p.month}/${p.year}`;
}

/** Pick a chart bucket: about `points` buckets over the range, rounded to a whole number of seconds (min 10 s). */
export function pickBucketMs(rangeMs: number, points = 180): number {
  const raw = Math.max(10_000, rangeMs / Math.max(1, points));
  const steps = [10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];
  for (const s of steps) if (s >= raw) return s;
  return Math.ceil(raw / 3_600_000) * 3_600_000;
}

/** HH:mm dd/mm/yyyy in Asia/Ho_Chi_Minh (incident start/end). */
export function formatHmDate(ts: number | null | undefined): string {
  if (!isNum(ts)) return DASH;
  const p = parts(ts);
  return `${p.hour}:${p.minute} ${p.day}/${p.month}/${p.year}`;
}

/**
 * A duration in words, coarse enough to read at a glance: "45 giây", "12 phút", "2 giờ 5 phút", "3 ngày 4 giờ"
 * (en: "45 s", "12 min", "2 h 5 min", "3 d 4 h"). Rounded down: a running incident never claims more than it has lasted.
 */
export function formatDuration(ms: number | null | undefined, lang: Lang = 'vi'): string {
  if (!isNum(ms)) return DASH;
  const s = Math.floor(Math.max(0, ms) / 1000);
  const u = lang === 'vi' ? { s: 'giây', m: 'phút', h: 'giờ', d: 'ngày' } : { s: 's', m: 'min', h: 'h', d: 'd' };
  if (s < 60) return `${s} ${u.s}`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} ${u.m}`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} ${u.h} ${m % 60} ${u.m}` : `${h} ${u.h}`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} ${u.d} ${h % 24} ${u.h}` : `${d} ${u.d}`;
}

/** Bytes in binary units: "512 B", "1,5 KiB", "200 MiB". */
export function formatBytes(v: number | null | undefined, lang: Lang = 'vi'): string {
  if (!isNum(v)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = Math.max(0, v);
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${nf(lang, i === 0 || x >= 100 ? 0 : 1).format(x)} ${units[i]}`;
}

/** A signed offset, e.g. clock offsets: "+1,25 s", "−40 ms", "0 ms". */
export function formatSignedMs(v: number | null | undefined, lang: Lang = 'vi'): string {
  if (!isNum(v)) return DASH;
  const body = formatMs(Math.abs(v), lang);
  return v > 0 ? `+${body}` : v < 0 ? `−${body}` : body;
}

/** dd/mm/yyyy HH:mm in Asia/Ho_Chi_Minh (report archive: when a report was generated). */
export function formatDateHm(ts: number | null | undefined): string {
  if (!isNum(ts)) return DASH;
  const p = parts(ts);
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
}
