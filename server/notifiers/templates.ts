// Message texts: Vietnamese by default, English per channel or route. One template per message kind
// (opening, reminder, recovery) plus the digest that merges messages held back by the rate limit.
// Plain text and HTML are built from the same fields so the two never say different things.
import { causeText, evidenceSummary, placeTexts } from '../../config/words.ts';
import type { Incident } from '../incidents/types.ts';
import type { Lang, MessageKind, NameLookup, Rendered, RenderedEvent } from './types.ts';

export { causeText };

export const TIME_ZONE = 'Asia/Ho_Chi_Minh';
/** lists longer than this are cut with "và N xã/phường khác": chat APIs cap a message at 2-4 kB */
export const MAX_LISTED = 30;

// en-GB with h23 gives stable two-digit parts; assembled by hand so no locale can reorder them.
const parts = new Intl.DateTimeFormat('en-GB', {
  timeZone: TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

/** "HH:mm dd/mm/yyyy" in the province's zone, whatever the server's zone is. */
export function formatTime(ms: number): string {
  const p: Record<string, string> = {};
  for (const x of parts.formatToParts(new Date(ms))) p[x.type] = x.value;
  return `${p.hour}:${p.minute} ${p.day}/${p.month}/${p.year}`;
}

/** "1 giờ 12 phút", "45 phút", "2 ngày 3 giờ", "dưới 1 phút" (en: "1 h 12 min"). Whole minutes, rounded down. */
export function formatDuration(ms: number, lang: Lang): string {
  const totalMin = Math.floor(Math.max(0, ms) / 60_000);
  if (totalMin === 0) return lang === 'vi' ? 'dưới 1 phút' : 'under 1 min';
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  const u = lang === 'vi' ? (['ngày', 'giờ', 'phút'] as const) : (['d', 'h', 'min'] as const);
  return [d && `${d} ${u[0]}`, h && `${h} ${u[1]}`, m && `${m} ${u[2]}`].filter(Boolean).join(' ');
}

/** Link to the incident in the UI (null without notifications.uiBaseUrl). */
export function incidentUrl(uiBaseUrl: string | undefined, id: string): string | null {
  if (!uiBaseUrl) return null;
  return `${uiBaseUrl.replace(/\/+$/, '')}/incidents/${encodeURIComponent(id)}`;
}

const T = {
  vi: {
    tag: { opened: 'SỰ CỐ', reminder: 'NHẮC LẠI', resolved: 'ĐÃ KHẮC PHỤC' },
    communes: (n: number) => `${n} xã/phường`,
    more: (n: number) => `và ${n} xã/phường khác`,
    severity: 'Mức độ',
    sev: { down: 'Gián đoạn', degraded: 'Suy giảm chất lượng' },
    carrier: 'Nhà mạng',
    start: 'Bắt đầu',
    end: 'Kết thúc',
    lasted: (d: string) => `kéo dài ${d}`,
    affected: 'Xã/phường bị ảnh hưởng',
    targets: 'Dịch vụ bị ảnh hưởng',
    evidence: 'Căn cứ',
    ack: 'Tiếp nhận',
    ackBy: (by: string, at: string) => `${by} lúc ${at}`,
    reminder: (d: string, n: number) => `Sự cố chưa được tiếp nhận, đã kéo dài ${d} (nhắc lần ${n}).`,
    maintenance: 'Trong thời gian bảo trì.',
    link: 'Xem chi tiết',
    digestTag: 'TỔNG HỢP',
    digestSubject: (n: number) => `${n} thông báo sự cố`,
    digestIntro: 'Nhiều thông báo được gộp thành một để tránh gửi dồn dập:',
    digestMore: (n: number) => `và ${n} thông báo khác`,
  },
  en: {
    tag: { opened: 'INCIDENT', reminder: 'REMINDER', resolved: 'RESOLVED' },
    communes: (n: number) => `${n} communes`,
    more: (n: number) => `and ${n} more`,
    severity: 'Severity',
    sev: { down: 'Down', degraded: 'Degraded' },
    carrier: 'Carrier',
    start: 'Started',
    end: 'Ended',
    lasted: (d: string) => `lasted ${d}`,
    affected: 'Affected communes',
    targets: 'Affected checks',
    evidence: 'Evidence',
    ack: 'Acknowledged',
    ackBy: (by: string, at: string) => `by ${by} at ${at}`,
    reminder: (d: string, n: number) => `Not acknowledged yet; open for ${d} (reminder ${n}).`,
    maintenance: 'During maintenance.',
    link: 'Details',
    digestTag: 'DIGEST',
    digestSubject: (n: number) => `${n} incident notifications`,
    digestIntro: 'Several notifications were merged into one to avoid flooding:',
    digestMore: (n: number) => `and ${n} more`,
  },
} as const;

function listNames(names: string[], more: (n: number) => string, sep = ', '): string {
  const shown = names.slice(0, MAX_LISTED);
  if (names.length > MAX_LISTED) shown.push(more(names.length - MAX_LISTED));
  return shown.join(sep);
}

/** The affected communes, each with the sites the incident names in it ("Xã Ba Tơ — Trường THCS Ba Tơ"). */
function listPlaces(inc: Incident, names: NameLookup, more: (n: number) => string): string {
  // a site list has commas of its own: then communes are set apart by "; "
  return listNames(placeTexts(inc.communes, inc.sites, names), more, inc.sites?.length ? '; ' : ', ');
}

export interface RenderOptions {
  names: NameLookup;
  lang: Lang;
  uiBaseUrl?: string | undefined;
  /** epoch ms: "now" for a reminder's running duration */
  now: number;
  /** 1-based, reminders only */
  reminder?: number;
}

/** The one-line summary of an incident message: "[SỰ CỐ] Sự cố nhà mạng Viettel – 12 xã/phường". */
export function subjectFor(kind: MessageKind, inc: Incident, o: Pick<RenderOptions, 'names' | 'lang'>): string {
  const t = T[o.lang];
  const n = inc.communes.length;
  const where = n === 1 ? ` – ${placeTexts(inc.communes, inc.sites, o.names)[0]}` : n > 1 ? ` – ${t.communes(n)}` : '';
  return `[${t.tag[kind]}] ${causeText(inc, o.names, o.lang)}${where}`;
}

interface Body {
  subject: string;
  intro: string[];
  fields: [string, string][];
  link: string | null;
}

function toText(b: Body, linkLabel: string): string {
  return [b.subject, ...b.intro, ...b.fields.map(([k, v]) => `${k}: ${v}`), ...(b.link ? [`${linkLabel}: ${b.link}`] : [])].join('\n');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function toHtml(b: Body, lang: Lang, linkLabel: string, colour: string, listItems: string[] = []): string {
  const rows = b.fields
    .map(([k, v]) => `<tr><th align="left" valign="top" style="padding:2px 12px 2px 0;white-space:nowrap">${esc(k)}</th><td style="padding:2px 0">${esc(v)}</td></tr>`)
    .join('');
  return [
    `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${esc(b.subject)}</title></head>`,
    `<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1f2328">`,
    `<h2 style="color:${colour};font-size:18px">${esc(b.subject)}</h2>`,
    ...b.intro.map((p) => `<p>${esc(p)}</p>`),
    listItems.length ? `<ul>${listItems.join('')}</ul>` : '',
    rows ? `<table cellspacing="0" cellpadding="0">${rows}</table>` : '',
    b.link ? `<p><a href="${esc(b.link)}">${esc(linkLabel)}</a></p>` : '',
    `</body></html>`,
  ].join('');
}

const COLOUR: Record<MessageKind, string> = { opened: '#b42318', reminder: '#b54708', resolved: '#067647' };

/** One message about one incident. `at` is when the event happened (the recovery time for 'resolved'). */
export function renderMessage(kind: MessageKind, inc: Incident, at: number, o: RenderOptions): Rendered {
  const t = T[o.lang];
  const { names } = o;
  const fields: [string, string][] = [];
  const intro: string[] = [];
  const reminderNo = kind === 'reminder' ? (o.reminder ?? 1) : undefined;
  if (reminderNo !== undefined) intro.push(t.reminder(formatDuration(o.now - inc.openedAt, o.lang), reminderNo));
  if (inc.maintenance) intro.push(t.maintenance);
  fields.push([t.severity, t.sev[inc.severity]]);
  if (inc.carrier && inc.cause !== 'carrier') fields.push([t.carrier, names.carrier(inc.carrier)]);
  fields.push([t.start, formatTime(inc.openedAt)]);
  if (kind === 'resolved') {
    const end = inc.resolvedAt ?? at;
    fields.push([t.end, `${formatTime(end)}, ${t.lasted(formatDuration(end - inc.openedAt, o.lang))}`]);
  }
  if (inc.communes.length) fields.push([`${t.affected} (${inc.communes.length})`, listPlaces(inc, names, t.more)]);
  if (inc.targets.length) fields.push([t.targets, listNames(inc.targets.map(names.target), t.more)]);
  const evidence = evidenceSummary(inc.evidence, o.lang, names);
  if (evidence) fields.push([t.evidence, evidence]);
  if (kind === 'resolved' && inc.acknowledgedBy && inc.acknowledgedAt !== null)
    fields.push([t.ack, t.ackBy(inc.acknowledgedBy, formatTime(inc.acknowledgedAt))]);
  const url = incidentUrl(o.uiBaseUrl, inc.id);
  const body: Body = { subject: subjectFor(kind, inc, o), intro, fields, link: url };
  const event: RenderedEvent = {
    kind: kind === 'opened' ? 'opened' : kind === 'resolved' ? 'resolved' : 'reminder',
    at,
    incident: inc,
    message: kind,
    summary: body.subject,
    url,
    ...(reminderNo !== undefined ? { reminder: reminderNo } : {}),
  };
  return {
    lang: o.lang,
    subject: body.subject,
    text: toText(body, t.link),
    html: toHtml(body, o.lang, t.link, COLOUR[kind]),
    events: [event],
    digest: false,
  };
}

/** Several messages merged into one: each keeps its summary line (and link); all events stay in `events`. */
export function renderDigest(msgs: Rendered[], lang: Lang): Rendered {
  if (msgs.length === 1) return msgs[0]!;
  const t = T[lang];
  const events = msgs.flatMap((m) => m.events);
  const shown = events.slice(0, MAX_LISTED);
  const lines = shown.map((e) => e.summary);
  const subject = `[${t.digestTag}] ${t.digestSubject(events.length)}`;
  const more = events.length > MAX_LISTED ? [t.digestMore(events.length - MAX_LISTED)] : [];
  const textLines = shown.map((e, i) => `- ${lines[i]}${e.url ? ` ${e.url}` : ''}`);
  const items = shown.map((e, i) => `<li>${e.url ? `<a href="${esc(e.url)}">${esc(lines[i]!)}</a>` : esc(lines[i]!)}</li>`);
  const body: Body = { subject, intro: [t.digestIntro], fields: [], link: null };
  return {
    lang,
    subject,
    text: [subject, t.digestIntro, ...textLines, ...more].join('\n'),
    html: toHtml(body, lang, t.link, '#b42318', [...items, ...more.map((m) => `<li>${esc(m)}</li>`)]),
    events,
    digest: true,
  };
}
