// Pure UI helpers: formatters (units, Asia/Ho_Chi_Minh times), the i18n dictionary, the map projection.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  formatMs,
  formatPct,
  formatTime,
  formatDate,
  formatDateTime,
  formatHourMinute,
  formatNumber,
  pickBucketMs,
} from '../../ui/src/lib/format.ts';
import { vi as viDict, en as enDict, translate, isLang } from '../../ui/src/lib/i18n.ts';
import { makeProjection, geometryToPath, bboxOf, fitBBox, polygonsOf, type Geometry } from '../../ui/src/lib/projection.ts';
import { placeLabels, estimateTextWidth, meetRect, pickCorner, coveredCells } from '../../ui/src/lib/mapLayout.ts';
import { provinceFileSchema } from '../../config/schema.ts';

describe('formatters', () => {
  it('latency has units and the language decimal separator', () => {
    expect(formatMs(12.345, 'vi')).toBe('12,3 ms');
    expect(formatMs(12.345, 'en')).toBe('12.3 ms');
    expect(formatMs(245.4, 'vi')).toBe('245 ms');
    expect(formatMs(0.456, 'en')).toBe('0.46 ms');
    expect(formatMs(1250, 'vi')).toBe('1,25 s');
    expect(formatMs(1250, 'en')).toBe('1.25 s');
    expect(formatMs(null)).toBe('—');
    expect(formatMs(Number.NaN)).toBe('—');
  });

  it('percent has a space and sensible digits', () => {
    expect(formatPct(0, 'vi')).toBe('0 %');
    expect(formatPct(2.5, 'vi')).toBe('2,5 %');
    expect(formatPct(2.5, 'en')).toBe('2.5 %');
    expect(formatPct(33.333, 'en')).toBe('33 %');
    expect(formatPct(100, 'vi')).toBe('100 %');
    expect(formatPct(undefined)).toBe('—');
  });

  it('groups thousands per language', () => {
    expect(formatNumber(1234.5, 'en', 1)).toBe('1,234.5');
    expect(formatNumber(1234.5, 'vi', 1)).toBe('1.234,5');
  });

  it('times are in Asia/Ho_Chi_Minh (UTC+7) whatever the process zone', () => {
    // 2025-07-01T17:05:09Z is 00:05:09 on 2 July in Vietnam: the date must roll over too.
    const ts = Date.UTC(2025, 6, 1, 17, 5, 9);
    expect(formatTime(ts)).toBe('00:05:09');
    expect(formatDate(ts)).toBe('02/07/2025');
    expect(formatDateTime(ts)).toBe('00:05:09 02/07/2025');
    expect(formatHourMinute(ts)).toBe('00:05');
    // Afternoon: 24-hour clock, no AM/PM.
    const pm = Date.UTC(2026, 0, 31, 8, 30, 0);
    expect(formatTime(pm)).toBe('15:30:00');
    expect(formatDate(pm)).toBe('31/01/2026');
    expect(formatTime(null)).toBe('—');
  });

  it('chart buckets give a bounded number of points', () => {
    for (const h of [1, 6, 24, 24 * 7]) {
      const range = h * 3_600_000;
      const b = pickBucketMs(range);
      expect(b).toBeGreaterThanOrEqual(10_000);
      expect(range / b).toBeLessThanOrEqual(400);
      expect(b % 1000).toBe(0);
    }
    expect(pickBucketMs(3_600_000)).toBe(30_000);
  });
});

describe('i18n', () => {
  it('English has exactly the Vietnamese keys, none empty', () => {
    expect(Object.keys(enDict).sort()).toEqual(Object.keys(viDict).sort());
    for (const [k, v] of Object.entries(viDict)) expect(v.trim(), `vi ${k}`).not.toBe('');
    for (const [k, v] of Object.entries(enDict)) expect(v.trim(), `en ${k}`).not.toBe('');
  });

  it('Vietnamese strings carry their diacritics (NFC) and the connection labels match the spec', () => {
    expect(translate('vi', 'conn.live')).toBe('Trực tiếp');
    expect(translate('vi', 'conn.reconnecting')).toBe('Đang kết nối lại…');
    expect(translate('vi', 'conn.stale', { time: '08:15:00' })).toBe('Mất kết nối từ 08:15:00');
    expect(translate('vi', 'login.password')).toBe('Mật khẩu');
    for (const v of Object.values(viDict)) expect(v).toBe(v.normalize('NFC'));
    // Most Vietnamese UI strings have at least one non-ASCII letter; a dictionary that lost its
    // diacritics (wrong encoding, ASCII folding) would fail here.
    const withMarks = Object.values(viDict).filter((v) => /[^\x00-\x7F]/.test(v)).length;
    expect(withMarks / Object.values(viDict).length).toBeGreaterThan(0.6);
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'panel.hours', { n: 6 })).toBe('6 h');
    expect(translate('vi', 'panel.hours', { n: 6 })).toBe('6 giờ');
    expect(translate('en', 'conn.stale')).toBe('Disconnected since {time}');
    expect(translate('en', 'no.such.key')).toBe('no.such.key');
    expect(isLang('vi') && isLang('en') && !isLang('fr')).toBe(true);
  });
});

describe('projection', () => {
  const bbox = [107, 14, 109, 15.5] as const;

  it('keeps the aspect ratio with cos(mid-latitude) and puts north up', () => {
    const p = makeProjection(bbox, 1000, 0);
    const k = Math.cos((14.75 * Math.PI) / 180);
    expect(p.width).toBe(1000);
    expect(p.height).toBeCloseTo((1000 * 1.5) / (2 * k), 6);
    expect(p.project(107, 15.5)).toEqual([0, 0]);
    const [x, y] = p.project(109, 14);
    expect(x).toBeCloseTo(1000, 6);
    expect(y).toBeCloseTo(p.height, 6);
    // one degree of longitude is shorter on the ground than one of latitude, by cos(lat)
    const [x1] = p.project(108, 15);
    const [, y1] = p.project(107, 14.5);
    expect(x1 / (y1 - p.project(107, 15.5)[1])).toBeCloseTo(k, 6);
    expect(p.viewBox).toBe(`0 0 1000 ${Math.round(p.height * 10) / 10}`);
  });

  it('pads the viewBox', () => {
    const p = makeProjection(bbox, 1000, 10);
    expect(p.viewBox.startsWith('-10 -10 1020 ')).toBe(true);
  });

  it('rejects an empty bbox', () => {
    expect(() => makeProjection([1, 1, 1, 2])).toThrow(/bad bbox/);
  });

  it('turns polygons with holes and multipolygons into closed subpaths', () => {
    const p = makeProjection(bbox, 1000, 0);
    const square = (x0: number, y0: number, s: number) => [
      [x0, y0],
      [x0 + s, y0],
      [x0 + s, y0 + s],
      [x0, y0 + s],
      [x0, y0],
    ];
    const poly: Geometry = { type: 'Polygon', coordinates: [square(107.2, 14.2, 0.5), square(107.3, 14.3, 0.1)] };
    const d = geometryToPath(poly, p);
    expect(d.match(/M/g)?.length).toBe(2);
    expect(d.match(/Z/g)?.length).toBe(2);
    expect(d).toMatch(/^M[\d.]+ [\d.]+L/);
    const multi: Geometry = { type: 'MultiPolygon', coordinates: [[square(107.2, 14.2, 0.5)], [square(108.5, 15, 0.2)]] };
    expect(geometryToPath(multi, p).match(/Z/g)?.length).toBe(2);
    expect(polygonsOf(multi)).toHaveLength(2);
    // degenerate rings (collapsed by rounding) are dropped, not drawn as slivers
    const tiny: Geometry = { type: 'Polygon', coordinates: [square(107.5, 14.5, 1e-7)] };
    expect(geometryToPath(tiny, p)).toBe('');
  });

  it('computes a bbox and prefers the declared one only when it covers every commune', () => {
    const g: Geometry = { type: 'Polygon', coordinates: [[[107, 14], [108, 14], [108, 15], [107, 14]]] };
    expect(bboxOf([g])).toEqual([107, 14, 108, 15]);
    expect(fitBBox([106, 13, 109, 16], [g])).toEqual([106, 13, 109, 16]);
    expect(fitBBox([107.5, 14, 108, 15], [g])).toEqual([107, 14, 108, 15]);
    expect(fitBBox(null, [g])).toEqual([107, 14, 108, 15]);
  });

  it('draws every commune of the shipped Quảng Ngãi file inside the viewBox', () => {
    const file = fileURLToPath(new URL('../../config/provinces/51.json', import.meta.url));
    const province = provinceFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    const geoms = province.communes.map((c) => c.geometry as Geometry);
    const proj = makeProjection(fitBBox(province.bbox, geoms)!, 1000, 0);
    expect(province.communes.length).toBe(96);
    for (const c of province.communes) {
      const d = geometryToPath(c.geometry as Geometry, proj);
      expect(d.length, c.code).toBeGreaterThan(20);
      const nums = d.match(/-?[\d.]+/g)!.map(Number);
      const xs = nums.filter((_, i) => i % 2 === 0);
      const ys = nums.filter((_, i) => i % 2 === 1);
      expect(Math.min(...xs), c.code).toBeGreaterThanOrEqual(-0.1);
      expect(Math.max(...xs), c.code).toBeLessThanOrEqual(1000.1);
      expect(Math.min(...ys), c.code).toBeGreaterThanOrEqual(-0.1);
      expect(Math.max(...ys), c.code).toBeLessThanOrEqual(proj.height + 0.1);
    }
  });
});

describe('map layout', () => {
  it('places labels by priority and drops the ones that would overlap', () => {
    const placed = placeLabels(
      [
        { code: 'b', text: 'Nghĩa Giang', x: 100, y: 100, priority: 2 },
        { code: 'a', text: 'Cẩm Thành', x: 105, y: 103, priority: 0 },
        { code: 'c', text: 'Ba Vì', x: 400, y: 100, priority: 1 },
      ],
      12,
    );
    expect(placed.map((p) => p.code)).toEqual(['a', 'c']);
    expect(placed[0]!.w).toBeCloseTo(estimateTextWidth('Cẩm Thành', 12), 6);
  });

  it('fits a viewBox into an element without stretching', () => {
    expect(meetRect(100, 50, 400, 400)).toEqual({ x: 0, y: 100, w: 400, h: 200 });
    expect(meetRect(100, 100, 400, 200)).toEqual({ x: 100, y: 0, w: 200, h: 200 });
  });

  it('puts the legend in the emptiest corner', () => {
    // 10x10 raster, everything drawn except the top-right quarter.
    const cols = 10;
    const rows = 10;
    const cells = new Uint8Array(cols * rows).fill(1);
    for (let r = 0; r < 5; r++) for (let c = 5; c < 10; c++) cells[r * cols + c] = 0;
    const occ = { cols, rows, cells };
    const map = meetRect(100, 100, 500, 500);
    expect(pickCorner(occ, map, 500, 500, 200, 200)).toBe('top-right');
    expect(coveredCells(occ, map, { x: 300, y: 0, w: 200, h: 200 })).toBe(0);
    expect(coveredCells(occ, map, { x: 0, y: 0, w: 200, h: 200 })).toBeGreaterThan(0);
    // all full: keeps the default preference
    expect(pickCorner({ cols, rows, cells: new Uint8Array(100).fill(1) }, map, 500, 500, 200, 200)).toBe('bottom-left');
  });
});
