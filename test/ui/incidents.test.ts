// Pure incident helpers of the UI: the cause in words (vi/en), durations, the timeline layout and its axis,
// date ranges in Vietnamese time, the query string, the CSV export, and the hash routes.
import { describe, it, expect } from 'vitest';
import type { IncidentWire } from '../../config/wire.ts';
import { incidentSchema } from '../../config/wire.ts';
import { formatDuration, formatHmDate, formatBytes, formatSignedMs } from '../../ui/src/lib/format.ts';
import {
  causeText,
  subjectName,
  communeSummary,
  incidentDurationMs,
  byNewest,
  layoutTimeline,
  timeTicks,
  parseDateInput,
  toDateInput,
  customRange,
  presetRange,
  incidentQuery,
  matchCommune,
  csvField,
  incidentsCsv,
  csvFileName,
  incidentEvents,
  VN_OFFSET_MS,
  type NameLookup,
} from '../../ui/src/lib/incidents.ts';
import { parseRoute, routeHref, type Route } from '../../ui/src/lib/route.ts';
import { canOperate } from '../../ui/src/lib/roles.ts';

const names: NameLookup = {
  commune: (c) => ({ '21025': 'Phường Cẩm Thành', '21028': 'Phường Nghĩa Lộ', '21172': 'Phường Trương Quang Trọng', '21211': 'Xã Tịnh Khê' })[c] ?? c,
  carrier: (c) => ({ viettel: 'Viettel', vnpt: 'VNPT' })[c] ?? c,
  target: (t) => ({ dvc: 'Cổng Dịch vụ công quốc gia' })[t] ?? t,
};

const T0 = Date.UTC(2025, 6, 1, 1, 0, 0); // 08:00 01/07/2025 in Vietnam
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function inc(p: Partial<IncidentWire> & Pick<IncidentWire, 'id'>): IncidentWire {
  return incidentSchema.parse({
    cause: 'local_link',
    subject: '21025',
    openedAt: T0,
    resolvedAt: null,
    communes: ['21025'],
    targets: ['gw'],
    carrier: null,
    severity: 'down',
    evidence: { summary: 'gw: 3 vòng liên tiếp mất 100 %', figures: { lossPct: 100, rounds: 3 } },
    acknowledgedBy: null,
    acknowledgedAt: null,
    notes: [],
    maintenance: false,
    ...p,
  });
}

describe('cause in words', () => {
  it('names each cause in Vietnamese, with the carrier and service names', () => {
    expect(causeText(inc({ id: 'a' }), names, 'vi')).toBe('Mất kết nối đường truyền xã');
    expect(causeText(inc({ id: 'a', severity: 'degraded' }), names, 'vi')).toBe('Đường truyền xã chất lượng kém');
    expect(causeText(inc({ id: 'b', cause: 'carrier', subject: 'viettel' }), names, 'vi')).toBe('Sự cố nhà mạng Viettel');
    expect(causeText(inc({ id: 'c', cause: 'service', subject: 'dvc' }), names, 'vi')).toBe('Dịch vụ Cổng Dịch vụ công quốc gia không truy cập được');
    expect(causeText(inc({ id: 'c', cause: 'service', subject: 'dvc', severity: 'degraded' }), names, 'vi')).toBe('Dịch vụ Cổng Dịch vụ công quốc gia truy cập chậm');
    expect(causeText(inc({ id: 'd', cause: 'agent' }), names, 'vi')).toBe('Trạm đo mất liên lạc');
  });

  it('has English equivalents, and an unknown id shows as itself', () => {
    expect(causeText(inc({ id: 'a' }), names, 'en')).toBe('Commune link down');
    expect(causeText(inc({ id: 'b', cause: 'carrier', subject: 'fpt' }), names, 'en')).toBe('Carrier outage: fpt');
    expect(causeText(inc({ id: 'c', cause: 'service', subject: 'dvc' }), names, 'en')).toBe('Service unreachable: Cổng Dịch vụ công quốc gia');
    expect(causeText(inc({ id: 'd', cause: 'agent' }), names, 'en')).toBe('Probe agent unreachable');
  });

  it('names the subject by its kind', () => {
    expect(subjectName(inc({ id: 'a' }), names)).toBe('Phường Cẩm Thành');
    expect(subjectName(inc({ id: 'b', cause: 'carrier', subject: 'vnpt' }), names)).toBe('VNPT');
    expect(subjectName(inc({ id: 'c', cause: 'service', subject: 'dvc' }), names)).toBe('Cổng Dịch vụ công quốc gia');
    expect(subjectName(inc({ id: 'd', cause: 'agent', subject: '21211' }), names)).toBe('Xã Tịnh Khê');
    // a network-wide outage is named by its network, in the reader's language
    expect(subjectName(inc({ id: 'e', cause: 'carrier', subject: 'tslcd' }), names)).toMatch(/^mạng truyền số liệu chuyên dùng/i);
    expect(subjectName(inc({ id: 'e', cause: 'carrier', subject: 'tslcd' }), names, 'en')).toMatch(/TSLCD/);
    expect(subjectName(inc({ id: 'e', cause: 'carrier', subject: 'tslcd' }), names, 'en')).not.toMatch(/truyền/);
  });

  it('lists the first few communes by name, then counts the rest', () => {
    const codes = ['21025', '21028', '21172', '21211', '99999'];
    expect(communeSummary(codes, names, 'vi')).toBe('Phường Cẩm Thành, Phường Nghĩa Lộ, Phường Trương Quang Trọng và 2 nơi khác');
    expect(communeSummary(codes, names, 'en', 2)).toBe('Phường Cẩm Thành, Phường Nghĩa Lộ and 3 more');
    expect(communeSummary(codes.slice(0, 3), names, 'vi')).toBe('Phường Cẩm Thành, Phường Nghĩa Lộ, Phường Trương Quang Trọng');
    expect(communeSummary([], names, 'vi')).toBe('');
  });
});

describe('times and durations', () => {
  it('start time is HH:mm dd/mm/yyyy in Asia/Ho_Chi_Minh', () => {
    expect(formatHmDate(T0)).toBe('08:00 01/07/2025');
    // 17:30 UTC is 00:30 the next day in Vietnam
    expect(formatHmDate(Date.UTC(2025, 11, 31, 17, 30))).toBe('00:30 01/01/2026');
    expect(formatHmDate(null)).toBe('—');
  });

  it('durations read in words, rounded down', () => {
    expect(formatDuration(0, 'vi')).toBe('0 giây');
    expect(formatDuration(59_999, 'vi')).toBe('59 giây');
    expect(formatDuration(60_000, 'vi')).toBe('1 phút');
    expect(formatDuration(59 * MIN + 59_000, 'vi')).toBe('59 phút');
    expect(formatDuration(HOUR, 'vi')).toBe('1 giờ');
    expect(formatDuration(2 * HOUR + 5 * MIN + 30_000, 'vi')).toBe('2 giờ 5 phút');
    expect(formatDuration(3 * DAY + 4 * HOUR + 59 * MIN, 'vi')).toBe('3 ngày 4 giờ');
    expect(formatDuration(2 * DAY, 'en')).toBe('2 d');
    expect(formatDuration(2 * HOUR + 5 * MIN, 'en')).toBe('2 h 5 min');
    expect(formatDuration(-5, 'en')).toBe('0 s');
    expect(formatDuration(null)).toBe('—');
  });

  it('an open incident lasts until now, a resolved one until its end', () => {
    expect(incidentDurationMs(inc({ id: 'a' }), T0 + 90 * MIN)).toBe(90 * MIN);
    expect(incidentDurationMs(inc({ id: 'a', resolvedAt: T0 + 10 * MIN }), T0 + 90 * MIN)).toBe(10 * MIN);
  });

  it('sorts newest first', () => {
    const list = [inc({ id: 'x', openedAt: T0 }), inc({ id: 'y', openedAt: T0 + MIN }), inc({ id: 'w', openedAt: T0 })];
    expect(list.sort(byNewest).map((i) => i.id)).toEqual(['y', 'w', 'x']);
  });

  it('spool sizes and clock offsets', () => {
    expect(formatBytes(512, 'vi')).toBe('512 B');
    expect(formatBytes(1536, 'vi')).toBe('1,5 KiB');
    expect(formatBytes(200 * 1024 * 1024, 'en')).toBe('200 MiB');
    expect(formatSignedMs(1250, 'vi')).toBe('+1,25 s');
    expect(formatSignedMs(-40, 'en')).toBe('−40 ms');
    expect(formatSignedMs(null)).toBe('—');
  });
});

describe('timeline layout', () => {
  const range = { from: T0, to: T0 + 10 * HOUR };

  it('places bars by time and packs non-overlapping ones into one lane', () => {
    const list = [
      inc({ id: 'a', openedAt: T0 + HOUR, resolvedAt: T0 + 2 * HOUR }),
      inc({ id: 'b', openedAt: T0 + 1.5 * HOUR, resolvedAt: T0 + 3 * HOUR }), // overlaps a
      inc({ id: 'c', openedAt: T0 + 4 * HOUR, resolvedAt: T0 + 5 * HOUR }), // fits after a
    ];
    const l = layoutTimeline(list, range, T0 + 10 * HOUR, 0, 0);
    expect(l.lanes).toBe(2);
    const by = Object.fromEntries(l.bars.map((b) => [b.id, b]));
    expect(by.a!.lane).toBe(0);
    expect(by.b!.lane).toBe(1);
    expect(by.c!.lane).toBe(0);
    expect(by.a!.x0).toBeCloseTo(0.1, 10);
    expect(by.a!.x1).toBeCloseTo(0.2, 10);
    expect(by.b!.x1).toBeCloseTo(0.3, 10);
  });

  it('clips at the range edges, draws open ones to now, and leaves out what is outside', () => {
    const now = T0 + 6 * HOUR;
    const list = [
      inc({ id: 'before', openedAt: T0 - 2 * HOUR, resolvedAt: T0 + HOUR }),
      inc({ id: 'open', openedAt: T0 + 5 * HOUR }),
      inc({ id: 'gone', openedAt: T0 - 5 * HOUR, resolvedAt: T0 - 4 * HOUR }),
      inc({ id: 'after', openedAt: T0 + 11 * HOUR }),
    ];
    const l = layoutTimeline(list, range, now, 0, 0);
    expect(l.bars.map((b) => b.id).sort()).toEqual(['before', 'open']);
    const before = l.bars.find((b) => b.id === 'before')!;
    expect(before.x0).toBe(0);
    expect(before.clippedStart).toBe(true);
    expect(before.clippedEnd).toBe(false);
    const open = l.bars.find((b) => b.id === 'open')!;
    expect(open.open).toBe(true);
    expect(open.x0).toBeCloseTo(0.5, 10);
    expect(open.x1).toBeCloseTo(0.6, 10);
  });

  it('widens very short incidents to a visible minimum and packs by the widened size', () => {
    const list = [
      inc({ id: 'blip1', openedAt: T0 + HOUR, resolvedAt: T0 + HOUR + 30_000 }),
      inc({ id: 'blip2', openedAt: T0 + HOUR + 60_000, resolvedAt: T0 + HOUR + 90_000 }),
    ];
    const l = layoutTimeline(list, range, T0 + 10 * HOUR, 0.01, 0.002);
    for (const b of l.bars) expect(b.x1 - b.x0).toBeCloseTo(0.01, 10);
    // 1 min apart on a 10 h axis is 0.0017 < 0.01 wide: they would overlap, so they go to two lanes
    expect(l.lanes).toBe(2);
  });

  it('ticks fall on round Vietnamese hours and days, at most `max` of them', () => {
    const ticks = timeTicks({ from: T0 + 10 * MIN, to: T0 + 10 * HOUR }, 6);
    expect(ticks.length).toBeLessThanOrEqual(6);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const tk of ticks) {
      // on a whole local hour (Vietnam is UTC+7, so whole UTC hours too) and inside the range
      expect((tk.t + VN_OFFSET_MS) % HOUR).toBe(0);
      expect(tk.x).toBeGreaterThanOrEqual(0);
      expect(tk.x).toBeLessThanOrEqual(1);
      expect(tk.label).toMatch(/^\d{2}:\d{2}$|^\d{2}\/\d{2}$/);
    }
    expect(ticks[0]!.label).toBe('10:00'); // 2-hour steps from 08:10 local

    const week = timeTicks({ from: T0, to: T0 + 7 * DAY }, 8);
    expect(week.length).toBeGreaterThanOrEqual(4);
    for (const tk of week) {
      expect((tk.t + VN_OFFSET_MS) % DAY).toBe(0); // Vietnamese midnight, not UTC midnight
      expect(tk.label).toMatch(/^\d{2}\/\d{2}$/);
    }
    expect(week[0]!.label).toBe('02/07');
    expect(timeTicks({ from: T0, to: T0 }, 8)).toEqual([]);
  });
});

describe('ranges and filters', () => {
  it('date inputs are Vietnamese calendar days', () => {
    const d = parseDateInput('2025-07-02')!;
    expect(formatHmDate(d)).toBe('00:00 02/07/2025');
    expect(toDateInput(d)).toBe('2025-07-02');
    expect(toDateInput(Date.UTC(2025, 6, 1, 17, 0))).toBe('2025-07-02'); // 00:00 on the 2nd in Vietnam
    expect(parseDateInput('2025-02-30')).toBeNull();
    expect(parseDateInput('02/07/2025')).toBeNull();
  });

  it('a custom range includes both days; a reversed one is refused', () => {
    const r = customRange('2025-07-01', '2025-07-03')!;
    expect(r.to - r.from).toBe(3 * DAY);
    expect(formatHmDate(r.from)).toBe('00:00 01/07/2025');
    expect(customRange('2025-07-03', '2025-07-01')).toBeNull();
    expect(customRange('', '2025-07-01')).toBeNull();
    expect(csvFileName(r)).toBe('su-co_2025-07-01_2025-07-03.csv');
  });

  it('presets end now', () => {
    expect(presetRange('24h', T0)).toEqual({ from: T0 - DAY, to: T0 });
    expect(presetRange('30d', T0).from).toBe(T0 - 30 * DAY);
  });

  it('builds the query with only the filters that are set', () => {
    const q = new URLSearchParams(incidentQuery({ range: { from: 1000, to: 2000 }, cause: 'carrier', commune: '', carrier: 'vnpt', target: undefined }));
    expect(Object.fromEntries(q)).toEqual({ from: '1000', to: '2000', cause: 'carrier', carrier: 'vnpt' });
    expect(new URLSearchParams(incidentQuery({ range: { from: 1, to: 2 }, open: true })).get('open')).toBe('1');
  });

  it('finds a commune by full name, short name or code, whatever the case', () => {
    const list = [
      { code: '21025', name: 'Cẩm Thành', fullName: 'Phường Cẩm Thành' },
      { code: '21211', name: 'Tịnh Khê', fullName: 'Xã Tịnh Khê' },
    ];
    expect(matchCommune('Phường Cẩm Thành', list)).toBe('21025');
    expect(matchCommune('  xã tịnh khê ', list)).toBe('21211');
    expect(matchCommune('Tịnh Khê', list)).toBe('21211');
    expect(matchCommune('21025', list)).toBe('21025');
    expect(matchCommune('Tịnh', list)).toBeNull();
    expect(matchCommune('', list)).toBeNull();
  });
});

/** Minimal RFC 4180 reader, to check the export parses back to the same fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === '"' && text[i + 1] === '"') (f += '"'), i++;
      else if (c === '"') q = false;
      else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') row.push(f), (f = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(f), rows.push(row), (row = []), (f = ''), i++;
    } else f += c;
  }
  return rows;
}

describe('CSV export', () => {
  it('quotes what needs quoting and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-5')).toBe(`'-5`);
    expect(csvField(-5)).toBe('-5'); // numbers stay numbers
    expect(csvField(null)).toBe('');
  });

  it('exports the table in Vietnamese with a BOM, and parses back', () => {
    const list = [
      inc({
        id: 'carrier:viettel:1',
        cause: 'carrier',
        subject: 'viettel',
        carrier: 'viettel',
        communes: ['21025', '21028'],
        openedAt: T0,
        resolvedAt: T0 + 75 * MIN,
        acknowledgedBy: 'vanhanh',
        acknowledgedAt: T0 + 5 * MIN,
        evidence: { summary: '=8/10 xã Viettel mất kết nối, "cùng lúc"', figures: {} },
      }),
      inc({ id: 'local_link:21211:2', subject: '21211', communes: ['21211'], openedAt: T0 + 2 * HOUR }),
    ];
    const csv = incidentsCsv(list, names, 'vi', T0 + 3 * HOUR);
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const rows = parseCsv(csv.slice(1));
    expect(rows).toHaveLength(3);
    const [head, a, b] = rows as [string[], string[], string[]];
    expect(head.slice(0, 7)).toEqual(['id', 'Bắt đầu', 'Kết thúc', 'Thời gian', 'Thời gian (min)', 'Nguyên nhân', 'Đối tượng']);
    const col = (name: string) => head.indexOf(name);
    expect(a[0]).toBe('carrier:viettel:1');
    expect(a[col('Bắt đầu')]).toBe('08:00 01/07/2025');
    expect(a[col('Kết thúc')]).toBe('09:15 01/07/2025');
    expect(a[col('Thời gian')]).toBe('1 giờ 15 phút');
    expect(a[col('Thời gian (min)')]).toBe('75');
    expect(a[col('Nguyên nhân')]).toBe('Sự cố nhà mạng Viettel');
    expect(a[col('Xã, phường')]).toBe('Phường Cẩm Thành; Phường Nghĩa Lộ');
    expect(a[col('Mã xã, phường')]).toBe('21025 21028');
    expect(a[col('Tiếp nhận')]).toBe('vanhanh');
    expect(a[col('Căn cứ')]).toBe(`'=8/10 xã Viettel mất kết nối, "cùng lúc"`);
    expect(a[head.length - 2]).toBe(String(T0));
    expect(b[col('Kết thúc')]).toBe('đang diễn ra');
    expect(b[col('Thời gian (min)')]).toBe('60');
    expect(b[col('Nguyên nhân')]).toBe('Mất kết nối đường truyền xã');
    expect(b[col('Đối tượng')]).toBe('Xã Tịnh Khê');
    expect(b[head.length - 1]).toBe('');
    expect(incidentsCsv(list, names, 'en', T0).split('\r\n')[0]).toContain('Cause');
  });
});

describe('incident story and routes', () => {
  it('orders the events of an incident in time', () => {
    const i = inc({
      id: 'a',
      resolvedAt: T0 + 60 * MIN,
      acknowledgedBy: 'op',
      acknowledgedAt: T0 + 10 * MIN,
      notes: [
        { at: T0 + 30 * MIN, by: 'op', text: 'đã gọi VNPT' },
        { at: T0 + 5 * MIN, by: 'admin', text: 'kiểm tra' },
      ],
    });
    expect(incidentEvents(i).map((e) => `${e.kind}${e.text ? `:${e.text}` : ''}`)).toEqual([
      'opened',
      'note:kiểm tra',
      'acknowledged',
      'note:đã gọi VNPT',
      'resolved',
    ]);
    expect(incidentEvents(inc({ id: 'b' })).map((e) => e.kind)).toEqual(['opened']);
  });

  it('parses hash routes and the notification links path form', () => {
    expect(parseRoute('', '/')).toEqual({ page: 'map' });
    expect(parseRoute('#/', '/')).toEqual({ page: 'map' });
    expect(parseRoute('#/incidents', '/')).toEqual({ page: 'incidents' });
    expect(parseRoute('#/agents', '/')).toEqual({ page: 'agents' });
    expect(parseRoute('#/incidents/carrier%3Aviettel%3A1', '/')).toEqual({ page: 'incident', id: 'carrier:viettel:1' });
    expect(parseRoute('', '/incidents/local_link%3A21025%3A5')).toEqual({ page: 'incident', id: 'local_link:21025:5' });
    expect(parseRoute('#/nonsense/x/y', '/')).toEqual({ page: 'map' });
    expect(parseRoute('#/incidents/%E0%A4%A', '/')).toEqual({ page: 'map' });
    const all: Route[] = [{ page: 'map' }, { page: 'incidents' }, { page: 'agents' }, { page: 'incident', id: 'service:dvc:1/2?' }];
    for (const r of all) expect(parseRoute(routeHref(r))).toEqual(r);
  });

  it('only admins and operators operate', () => {
    expect(canOperate('admin')).toBe(true);
    expect(canOperate('operator')).toBe(true);
    expect(canOperate('dost')).toBe(false);
    expect(canOperate('carrier')).toBe(false);
  });
});
