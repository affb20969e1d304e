// Report periods in Asia/Ho_Chi_Minh: boundaries as literal UTC instants (local midnight = 17:00 UTC the day before),
// Vietnamese labels, ISO weeks across year ends, previous periods.
import { describe, expect, it } from 'vitest';
import {
  containingPeriod,
  customPeriod,
  isoWeekOf,
  localHour,
  monthPeriod,
  parsePeriod,
  periodType,
  previousCalendarPeriod,
  previousPeriod,
  weekPeriod,
} from '../../server/reports/data/periods.ts';

const Z = (s: string) => Date.parse(s);

describe('periods', () => {
  it('a month runs from local midnight of the 1st to that of the next month', () => {
    expect(monthPeriod(2026, 10)).toEqual({ from: Z('2026-09-30T17:00:00Z'), to: Z('2026-10-31T17:00:00Z'), label: 'Tháng 10/2026' });
    expect(monthPeriod(2026, 12)).toEqual({ from: Z('2026-11-30T17:00:00Z'), to: Z('2026-12-31T17:00:00Z'), label: 'Tháng 12/2026' });
    expect(monthPeriod(2028, 2).to - monthPeriod(2028, 2).from).toBe(29 * 86_400_000);
    expect(() => monthPeriod(2026, 13)).toThrow(RangeError);
  });

  it('ISO weeks: Monday to Sunday, labels with the dates, across a new year', () => {
    expect(weekPeriod(2026, 44)).toEqual({ from: Z('2026-10-25T17:00:00Z'), to: Z('2026-11-01T17:00:00Z'), label: 'Tuần 44/2026 (26/10–01/11/2026)' });
    expect(weekPeriod(2026, 1)).toEqual({ from: Z('2025-12-28T17:00:00Z'), to: Z('2026-01-04T17:00:00Z'), label: 'Tuần 1/2026 (29/12/2025–04/01/2026)' });
    expect(weekPeriod(2026, 53).label).toBe('Tuần 53/2026 (28/12/2026–03/01/2027)'); // 2026 has 53 ISO weeks
    expect(() => weekPeriod(2025, 53)).toThrow(RangeError);
    // 31/12/2024 is in week 1 of 2025; 00:30 local on Monday 27/10/2026 is week 44 (still 26/10 in UTC)
    expect(isoWeekOf(Z('2024-12-31T05:00:00Z'))).toEqual({ year: 2025, week: 1 });
    expect(isoWeekOf(Z('2026-10-25T17:30:00Z'))).toEqual({ year: 2026, week: 44 });
    expect(isoWeekOf(Z('2026-10-25T16:59:59Z'))).toEqual({ year: 2026, week: 43 });
  });

  it('custom periods: whole days, one day, or with times', () => {
    expect(customPeriod(Z('2026-09-30T17:00:00Z'), Z('2026-10-15T17:00:00Z')).label).toBe('01/10/2026–15/10/2026');
    expect(customPeriod(Z('2026-09-30T17:00:00Z'), Z('2026-10-01T17:00:00Z')).label).toBe('01/10/2026');
    expect(customPeriod(Z('2026-10-01T01:00:00Z'), Z('2026-10-01T10:30:00Z')).label).toBe('01/10/2026 08:00–01/10/2026 17:30');
    expect(() => customPeriod(5, 5)).toThrow(RangeError);
  });

  it('containing, previous, type', () => {
    const now = Z('2026-11-02T01:00:00Z'); // Monday 02/11/2026 08:00 local
    expect(previousCalendarPeriod('week', now).label).toBe('Tuần 44/2026 (26/10–01/11/2026)');
    expect(previousCalendarPeriod('month', now).label).toBe('Tháng 10/2026');
    expect(containingPeriod('month', Z('2026-10-31T16:59:59Z')).label).toBe('Tháng 10/2026');
    expect(containingPeriod('month', Z('2026-10-31T17:00:00Z')).label).toBe('Tháng 11/2026');
    expect(previousCalendarPeriod('month', Z('2026-01-10T00:00:00Z')).label).toBe('Tháng 12/2025');
    expect(previousPeriod(monthPeriod(2026, 3))).toEqual(monthPeriod(2026, 2));
    expect(previousPeriod(weekPeriod(2026, 1))).toEqual(weekPeriod(2025, 52));
    const c = customPeriod(Z('2026-10-04T17:00:00Z'), Z('2026-10-14T17:00:00Z'));
    expect(previousPeriod(c)).toEqual({ from: Z('2026-09-24T17:00:00Z'), to: Z('2026-10-04T17:00:00Z'), label: '25/09/2026–04/10/2026' });
    expect([periodType(monthPeriod(2026, 10)), periodType(weekPeriod(2026, 44)), periodType(c)]).toEqual(['month', 'week', 'custom']);
  });

  it('parses YYYY-MM, YYYY-Www and day ranges', () => {
    expect(parsePeriod('2026-10')).toEqual(monthPeriod(2026, 10));
    expect(parsePeriod('2026-W44')).toEqual(weekPeriod(2026, 44));
    expect(parsePeriod('2026-10-01..2026-10-15')).toEqual({ from: Z('2026-09-30T17:00:00Z'), to: Z('2026-10-15T17:00:00Z'), label: '01/10/2026–15/10/2026' });
    expect(() => parsePeriod('2026-02-30..2026-03-01')).toThrow(/no such day/);
    expect(() => parsePeriod('2026-10-05..2026-10-01')).toThrow(RangeError);
    expect(() => parsePeriod('October')).toThrow(/expected/);
  });

  it('hour of the day is local', () => {
    expect(localHour(Z('2026-10-01T17:00:00Z'))).toBe(0);
    expect(localHour(Z('2026-10-01T16:59:59Z'))).toBe(23);
    expect(localHour(Z('2026-10-01T12:30:00Z'))).toBe(19);
  });
});
