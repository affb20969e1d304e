// CSV for spreadsheets set to Vietnamese: UTF-8 with a BOM (Excel otherwise reads it as ANSI), `;` between
// fields because the decimal separator is a comma, CRLF line ends (RFC 4180). One file: the report's facts and
// definitions first, then each table as a title line, a header line and its rows, separated by an empty line.
import type { Cell, ColType, ReportDoc } from './document.ts';
import { dateTime, num } from './format.ts';
import type { Renderer } from './types.ts';

export const SEP = ';';

const cellText = {
  text: (v) => (v === null ? '' : String(v)),
  int: (v) => (typeof v === 'number' ? num(v, 0) : ''),
  pct: (v) => (typeof v === 'number' ? num(v, 2) : ''),
  ms: (v) => (typeof v === 'number' ? num(v, 1) : ''),
  hours: (v) => (typeof v === 'number' ? num(v, 1) : ''),
  minutes: (v) => (typeof v === 'number' ? num(v, 0) : ''),
  delta: (v) => (typeof v === 'number' ? num(v, 2) : ''),
  datetime: (v) => (typeof v === 'number' ? dateTime(v) : v === null ? '' : String(v)),
  bool: (v) => (v === null ? '' : v ? 'Có' : 'Không'),
} satisfies Record<ColType, (v: Cell) => string>;

/** Quote when needed; text that a spreadsheet would run as a formula gets a leading apostrophe. */
export function field(s: string, isText = true): string {
  const safe = isText && /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[;"\r\n]|^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const line = (fields: string[]) => fields.join(SEP);

export function csvText(doc: ReportDoc): string {
  const out: string[] = [line([field(doc.title), field(doc.subtitle)])];
  for (const [k, v] of doc.meta) out.push(line([field(k), field(v)]));
  for (const d of doc.definitions.lines) out.push(line([field('Định nghĩa'), field(d)]));
  for (const [k, v] of doc.summary) out.push(line([field(k), field(v)]));
  for (const t of doc.tables) {
    out.push('', field(t.title));
    out.push(line(t.columns.map((c) => field(c.header))));
    if (!t.rows.length) out.push(field(t.empty));
    for (const r of t.rows) out.push(line(t.columns.map((c, i) => field(cellText[c.type](r[i] ?? null), c.type === 'text'))));
  }
  return out.join('\r\n') + '\r\n';
}

export const csv: Renderer = {
  ext: 'csv',
  contentType: 'text/csv; charset=utf-8',
  async render(doc) {
    return Buffer.from('\uFEFF' + csvText(doc), 'utf8');
  },
};
