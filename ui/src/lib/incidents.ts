// Pure incident helpers for the feed, the detail panel and the history page: names, durations,
// the timeline layout, time-range presets, the query string and the CSV export. No DOM, no Svelte: unit-tested.
import type { IncidentWire } from '../../../config/wire.ts';
import { CAUSES, type Cause } from '../../../config/vocabulary.ts';
import { causeText, evidenceSummary, networkText, placeTexts, type NameLookup } from '../../../config/words.ts';
import { formatDuration, formatHmDate, type Lang } from './format.ts';
import { translate, type MessageKey } from './i18n.ts';

// The cause and evidence in words come from config/words.ts, shared with the notifier messages and the reports.
export { CAUSES, causeText, type Cause, type NameLookup };

export type Incident = IncidentWire;

/** What failed, by name: the commune (local link, agent), the carrier or network, or the service. */
export function subjectName(inc: Pick<Incident, 'cause' | 'subject'>, names: NameLookup, lang: Lang = 'vi'): string {
  const by = {
    local_link: names.commune,
    agent: names.commune,
    // a network-wide outage (`tslcd`) is carrier-like and named by its network; networkText gives an unknown id back
    carrier: (id) => (networkText(id, lang) !== id ? networkText(id, lang) : names.carrier(id)),
    service: names.target,
  } as const satisfies Record<Cause, (id: string) => string>;
  return by[inc.cause](inc.subject);
}

/**
 * "Cẩm Thành, Nghĩa Lộ, Trương Quang Trọng và 5 nơi khác": the first few by name, then a count; a commune where the
 * incident names sites carries them ("Ba Tơ — Trường THCS Ba Tơ"), and then communes are set apart by "; ".
 */
export function communeSummary(codes: readonly string[], names: NameLookup, lang: Lang, max = 3, sites?: Incident['sites']): string {
  const shown = placeTexts(codes.slice(0, max), sites, names);
  const sep = sites?.length ? '; ' : ', ';
  const rest = codes.length - shown.length;
  return rest > 0 ? `${shown.join(sep)} ${translate(lang, 'feed.more', { n: rest })}` : shown.join(sep);
}

/** How long it lasted, or has lasted so far when still open. */
export function incidentDurationMs(inc: Pick<Incident, 'openedAt' | 'resolvedAt'>, now: number): number {
  return Math.max(0, (inc.resolvedAt ?? now) - inc.openedAt);
}

/** Newest first (by opening time, then id for a stable order). */
export function byNewest(a: Incident, b: Incident): number {
  return b.openedAt - a.openedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// ---- time ranges ---------------------------------------------------------------------------

/** Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset gives its day boundaries. */
export const VN_OFFSET_MS = 7 * 3_600_000;
const DAY = 86_400_000;
const HOUR = 3_600_000;

export const PRESETS = ['24h', '7d', '30d', 'custom'] as const;
export type Preset = (typeof PRESETS)[number];
const PRESET_MS: Record<Exclude<Preset, 'custom'>, number> = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY };

export interface Range {
  from: number;
  to: number;
}

export function presetRange(p: Exclude<Preset, 'custom'>, now: number): Range {
  return { from: now - PRESET_MS[p], to: now };
}

/** That calendar day's 00:00 in Asia/Ho_Chi_Minh; null when there is no such day (31/02, month 13). */
export function vnDay(y: number, mo: number, d: number): number | null {
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return t - VN_OFFSET_MS;
}

/** "yyyy-mm-dd" (an `<input type=date>` value) -> that day's 00:00 in Asia/Ho_Chi_Minh; null when malformed. */
export function parseDateInput(v: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  return m ? vnDay(Number(m[1]), Number(m[2]), Number(m[3])) : null;
}

/** The Vietnamese calendar day of `ts` as "yyyy-mm-dd". */
export function toDateInput(ts: number): string {
  const d = new Date(ts + VN_OFFSET_MS);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
}

/** Custom range from two date inputs, both days included; null when either is malformed or they're reversed. */
export function customRange(fromDay: string, toDay: string): Range | null {
  const from = parseDateInput(fromDay);
  const to = parseDateInput(toDay);
  if (from === null || to === null || to < from) return null;
  return { from, to: to + DAY };
}

export interface IncidentFilters {
  range: Range;
  cause?: Cause | '';
  commune?: string;
  carrier?: string;
  target?: string;
  open?: boolean;
}

/** Query string for GET /api/incidents (empty filters left out). */
export function incidentQuery(f: IncidentFilters): string {
  const q = new URLSearchParams({ from: String(Math.round(f.range.from)), to: String(Math.round(f.range.to)) });
  if (f.cause) q.set('cause', f.cause);
  if (f.commune) q.set('commune', f.commune);
  if (f.carrier) q.set('carrier', f.carrier);
  if (f.target) q.set('target', f.target);
  if (f.open) q.set('open', '1');
  return q.toString();
}

/** Find a commune by what the user typed: its code, its full name or its short name (case and accents as typed). */
export function matchCommune(typed: string, communes: readonly { code: string; name: string; fullName: string }[]): string | null {
  const s = typed.trim().toLocaleLowerCase('vi');
  if (!s) return null;
  const hit =
    communes.find((c) => c.code === s) ??
    communes.find((c) => c.fullName.toLocaleLowerCase('vi') === s) ??
    communes.find((c) => c.name.toLocaleLowerCase('vi') === s);
  return hit?.code ?? null;
}

// ---- timeline --------------------------------------------------------------------------------

export interface TimelineBar {
  id: string;
  lane: number;
  /** fractions of the range, 0..1, clipped */
  x0: number;
  x1: number;
  /** still open (drawn to `now` with an open end) */
  open: boolean;
  /** started before / ends after the range: drawn with a cut edge */
  clippedStart: boolean;
  clippedEnd: boolean;
}

export interface TimelineLayout {
  lanes: number;
  bars: TimelineBar[];
}

/**
 * Bars for incidents over [from, to], packed into as few lanes as possible (greedy by start time) so that
 * a month of incidents stays readable. `minFrac` is the narrowest a bar is drawn (a 30 s incident on a
 * 30-day axis would otherwise vanish) and is also respected when packing, so widened bars never overlap.
 */
export function layoutTimeline(incidents: readonly Incident[], range: Range, now: number, minFrac = 0.004, gapFrac = 0.002): TimelineLayout {
  const span = Math.max(1, range.to - range.from);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  const items = incidents
    .filter((i) => i.openedAt < range.to && (i.resolvedAt ?? now) > range.from)
    .slice()
    .sort((a, b) => a.openedAt - b.openedAt || (a.id < b.id ? -1 : 1));
  const laneEnds: number[] = [];
  const bars: TimelineBar[] = [];
  for (const inc of items) {
    const end = inc.resolvedAt ?? now;
    let x0 = clamp((inc.openedAt - range.from) / span);
    let x1 = clamp((end - range.from) / span);
    if (x1 - x0 < minFrac) {
      x1 = Math.min(1, x0 + minFrac);
      x0 = Math.max(0, x1 - minFrac);
    }
    let lane = laneEnds.findIndex((e) => e + gapFrac <= x0);
    if (lane < 0) {
      lane = laneEnds.length;
      laneEnds.push(x1);
    } else laneEnds[lane] = x1;
    bars.push({ id: inc.id, lane, x0, x1, open: inc.resolvedAt === null, clippedStart: inc.openedAt < range.from, clippedEnd: end > range.to });
  }
  return { lanes: laneEnds.length, bars };
}

export interface Tick {
  t: number;
  /** fraction of the range */
  x: number;
  label: string;
  /** a day boundary (drawn stronger, labelled with the date) */
  major: boolean;
}

const TICK_STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

/** Axis ticks on round Vietnamese times: at most `max` of them, labelled "HH:mm" (hours) or "dd/mm" (days). */
export function timeTicks(range: Range, max = 8): Tick[] {
  const span = range.to - range.from;
  if (!(span > 0)) return [];
  const step = TICK_STEPS.find((s) => span / s <= max) ?? Math.ceil(span / max / DAY) * DAY;
  // round up to the next multiple of `step` in Vietnamese local time (weeks start on a day boundary)
  const local0 = range.from + VN_OFFSET_MS;
  const align = step >= DAY ? DAY : step;
  let t = Math.ceil(local0 / align) * align - VN_OFFSET_MS;
  if (step > DAY) {
    // multi-day steps: count days from the epoch so the same days are ticked whatever the range start
    const days = step / DAY;
    while (Math.round((t + VN_OFFSET_MS) / DAY) % days !== 0) t += DAY;
  }
  const out: Tick[] = [];
  for (let i = 0; t <= range.to && i < 1000; t += step, i++) {
    const d = new Date(t + VN_OFFSET_MS);
    const p = (n: number) => String(n).padStart(2, '0');
    const major = (t + VN_OFFSET_MS) % DAY === 0;
    const label = step >= DAY || major ? `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}` : `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
    out.push({ t, x: (t - range.from) / span, label, major });
  }
  return out;
}

// ---- CSV -------------------------------------------------------------------------------------

/** One CSV field: quoted when needed; a leading = + - @ is defused so a spreadsheet never runs it as a formula. */
export function csvField(v: string | number | null | undefined): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s) && typeof v !== 'number') s = `'${s}`;
  return /[",\r\n;]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The filtered incidents as CSV in the UI language: a BOM (so Excel reads the Vietnamese as UTF-8), CRLF line ends,
 * times as HH:mm dd/mm/yyyy in Asia/Ho_Chi_Minh, plus the raw epoch-ms start/end for scripts.
 */
export function incidentsCsv(incidents: readonly Incident[], names: NameLookup, lang: Lang, now: number): string {
  const tr = (k: MessageKey) => translate(lang, k);
  const head = [
    'id',
    tr('col.start'),
    tr('col.end'),
    tr('col.duration'),
    `${tr('col.duration')} (min)`,
    tr('col.cause'),
    tr('col.subject'),
    tr('col.severity'),
    tr('col.communes'),
    tr('col.communeCodes'),
    tr('col.targets'),
    tr('col.carrier'),
    tr('col.acked'),
    tr('col.maintenance'),
    tr('col.evidence'),
    'opened_at_ms',
    'resolved_at_ms',
  ];
  const rows = incidents.map((i) => {
    const dur = incidentDurationMs(i, now);
    return [
      i.id,
      formatHmDate(i.openedAt),
      i.resolvedAt === null ? tr('col.ongoing') : formatHmDate(i.resolvedAt),
      formatDuration(dur, lang),
      Math.floor(dur / 60_000),
      causeText(i, names, lang),
      subjectName(i, names, lang),
      translate(lang, i.severity === 'down' ? 'severity.down' : 'severity.degraded'),
      placeTexts(i.communes, i.sites, names).join('; '),
      i.communes.join(' '),
      i.targets.map((t) => names.target(t)).join('; '),
      i.carrier ? names.carrier(i.carrier) : '',
      i.acknowledgedBy ?? '',
      i.maintenance ? tr('col.yes') : '',
      evidenceSummary(i.evidence, lang, names),
      i.openedAt,
      i.resolvedAt ?? '',
    ];
  });
  return '\uFEFF' + [head, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** File name for the export: su-co_2025-07-01_2025-07-08.csv (Vietnamese calendar days). */
export function csvFileName(range: Range): string {
  return `su-co_${toDateInput(range.from)}_${toDateInput(range.to - 1)}.csv`;
}

// ---- detail timeline -------------------------------------------------------------------------

export interface IncidentEventRow {
  at: number;
  kind: 'opened' | 'acknowledged' | 'note' | 'resolved';
  by?: string;
  text?: string;
}

/** The incident's story in time order: opened, acknowledged, notes, resolved. */
export function incidentEvents(inc: Incident): IncidentEventRow[] {
  const ev: IncidentEventRow[] = [{ at: inc.openedAt, kind: 'opened' }];
  if (inc.acknowledgedAt !== null) ev.push({ at: inc.acknowledgedAt, kind: 'acknowledged', by: inc.acknowledgedBy ?? '?' });
  for (const n of inc.notes) ev.push({ at: n.at, kind: 'note', by: n.by, text: n.text });
  if (inc.resolvedAt !== null) ev.push({ at: inc.resolvedAt, kind: 'resolved' });
  const order = { opened: 0, acknowledged: 1, note: 2, resolved: 3 };
  return ev.sort((a, b) => a.at - b.at || order[a.kind] - order[b.kind]);
}
