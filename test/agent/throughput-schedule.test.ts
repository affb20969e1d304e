// The speed test timetable (agent/throughput-schedule.ts): allowed hours, exponential gaps in allowed time, the
// rolling byte budget, restarts. Pure: fixed clocks and seeded draws.
import { describe, expect, it } from 'vitest';
import {
  advanceAllowed,
  allowedAt,
  allowedMinutesPerDay,
  decide,
  EMPTY_BOOK,
  gapMs,
  GAP_CLAMP,
  localMinute,
  parseBook,
  retrySoon,
  settle,
  spentBytes,
  type ScheduleBook,
  type ThroughputRules,
} from '../../agent/throughput-schedule.ts';
import { mulberry32 } from '../../agent/simulator/model.ts';

const MIN = 60_000;
const H = 60 * MIN;
/** local (UTC+7) wall time on 2026-12-05 as epoch ms */
const vn = (hh: number, mm = 0, day = 5) => Date.UTC(2026, 11, day, hh, mm) - 7 * H;
const hm = (h: number, m = 0) => h * 60 + m;

const NIGHT: ThroughputRules = {
  windows: [[hm(22), hm(6)]],
  blocked: [],
  tzOffsetMin: 420,
  testsPerDay: 4,
  maxBytes: 100e6,
  dailyBytes: 400e6,
};

/** the same draws every run */
const seeded = mulberry32;

describe('allowed hours (local time, Vietnam UTC+7)', () => {
  it.each([
    // [local time, rules, allowed]
    ['21:59', NIGHT, false],
    ['22:00', NIGHT, true],
    ['23:30', NIGHT, true],
    ['00:00', NIGHT, true],
    ['05:59', NIGHT, true],
    ['06:00', NIGHT, false],
    ['12:00', NIGHT, false],
    ['12:00', { ...NIGHT, windows: [[0, 0]] }, true], // 00:00-00:00 is the whole day
    ['12:00', { ...NIGHT, windows: [[0, 0]], blocked: [[hm(7), hm(17)]] }, false], // the commune's work hours
    ['17:00', { ...NIGHT, windows: [[0, 0]], blocked: [[hm(7), hm(17)]] }, true],
    ['06:59', { ...NIGHT, windows: [[0, 0]], blocked: [[hm(7), hm(17)]] }, true],
    ['23:00', { ...NIGHT, blocked: [[hm(22, 30), hm(23, 30)]] }, false], // a nightly backup
    ['23:30', { ...NIGHT, blocked: [[hm(22, 30), hm(23, 30)]] }, true],
    ['13:00', { ...NIGHT, windows: [[hm(22), hm(6)], [hm(12), hm(13, 30)]] }, true], // lunch break too
  ] as const)('%s', (time, rules, allowed) => {
    const [h, m] = time.split(':').map(Number);
    expect(allowedAt(vn(h!, m!), rules as ThroughputRules)).toBe(allowed);
  });

  it('local minutes follow the configured offset, not the machine', () => {
    expect(localMinute(vn(22, 15), 420)).toBe(hm(22, 15));
    expect(localMinute(vn(22, 15), 0)).toBe(hm(15, 15));
    expect(allowedMinutesPerDay(NIGHT)).toBe(8 * 60);
    expect(allowedMinutesPerDay({ windows: [[0, 0]], blocked: [[hm(7), hm(17)]] })).toBe(14 * 60);
  });
});

describe('gaps counted in allowed time', () => {
  it.each([
    // [from (local), allowed gap, lands at (local)]
    ['23:00', 30 * MIN, vn(23, 30)],
    ['05:30', 60 * MIN, vn(22, 30)], // 30 min tonight, the rest after 22:00
    ['12:00', 10 * MIN, vn(22, 10)], // from outside the window: the clock starts at 22:00
    ['05:00', 8.5 * H, vn(5, 30, 6)], // 1 h before 06:00, then 7.5 h of the next night (22:00-06:00)
    ['05:00', 9 * H, vn(22, 0, 6)], // a gap ending with a window runs out at the next window's start
  ] as const)('from %s', (from, gap, at) => {
    const [h, m] = from.split(':').map(Number);
    expect(advanceAllowed(vn(h!, m!), gap, NIGHT)).toBe(at);
  });

  it('skips blocked spans inside the window', () => {
    const r = { ...NIGHT, blocked: [[hm(23), hm(1)]] as [number, number][] };
    expect(advanceAllowed(vn(22, 30), 60 * MIN, r)).toBe(vn(1, 30, 6));
  });

  it('never, when every window is blocked', () => {
    expect(advanceAllowed(vn(12), MIN, { ...NIGHT, blocked: [[0, 0]] })).toBe(Infinity);
  });

  it('exponential with the mean allowed-minutes / testsPerDay, clamped like NDT7 (0.1x .. 2.5x the mean)', () => {
    const mean = (8 * 60 * MIN) / 4; // 2 h of allowed time
    expect(gapMs(0, NIGHT)).toBe(GAP_CLAMP[0] * mean);
    expect(gapMs(0.999999, NIGHT)).toBe(GAP_CLAMP[1] * mean);
    expect(gapMs(1 - Math.exp(-1), NIGHT)).toBeCloseTo(mean, 3);
    const rnd = seeded(7);
    const gaps = Array.from({ length: 20_000 }, () => gapMs(rnd(), NIGHT));
    const avg = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    // the clamp moves the mean a little: E[clamp(X, 0.1m, 2.5m)] = m (0.1 + e^-0.1 - e^-2.5) = 0.923 m
    expect(avg / mean).toBeGreaterThan(0.9);
    expect(avg / mean).toBeLessThan(0.95);
  });

  it('over a simulated month: about testsPerDay tests a day, all inside the allowed hours, never in blocked ones', () => {
    const r: ThroughputRules = { ...NIGHT, blocked: [[hm(2), hm(3)]] };
    const rnd = seeded(42);
    let book: ScheduleBook = EMPTY_BOOK;
    const runs: number[] = [];
    const start = vn(12, 0, 1);
    for (let now = start; now < start + 30 * 24 * H; now += 5 * MIN) {
      const d = decide('speed\u0000wan1', now, book, r, rnd);
      book = d.book;
      if (d.due) {
        runs.push(now);
        book = settle(book, d.id, 20e6);
      }
    }
    for (const t of runs) expect(allowedAt(t, r)).toBe(true);
    const perDay = runs.length / 30;
    // 4 a day minus the clamp's 8 % and the 5-minute checking grain
    expect(perDay).toBeGreaterThan(3);
    expect(perDay).toBeLessThan(5.5);
  });
});

describe('decide', () => {
  const key = 'speed\u0000wan1';

  it('a first look draws a time later (agents restarting together do not test together), then runs it once', () => {
    const rnd = seeded(1);
    const d0 = decide(key, vn(22), EMPTY_BOOK, NIGHT, rnd);
    expect(d0).toMatchObject({ due: false, why: 'first' });
    const at = d0.book.next[key]!;
    expect(at).toBeGreaterThan(vn(22));
    expect(allowedAt(at, NIGHT)).toBe(true);
    expect(decide(key, at - 1, d0.book, NIGHT, rnd)).toMatchObject({ due: false, why: 'later' });
    const d1 = decide(key, at, d0.book, NIGHT, rnd);
    expect(d1).toMatchObject({ due: true, capBytes: 100e6 });
    expect(d1.book.next[key]).toBeGreaterThan(at);
    expect(spentBytes(d1.book, at)).toBe(100e6);
  });

  it.each([
    // [bytes spent in the last 24 h, due?, cap]
    [0, true, 100e6],
    [300e6, true, 100e6],
    [320e6, true, 80e6], // what is left of the day's budget
    [375e6, true, 25e6], // a quarter of a usual test is still worth running
    [376e6, false, 0], // less is not: the reading would be a fragment
    [400e6, false, 0],
  ] as const)('budget: %d bytes spent -> due %s', (spent, due, cap) => {
    const now = vn(23);
    const book: ScheduleBook = { v: 1, spent: [{ id: 'x', at: now - 2 * H, bytes: spent }], next: { [key]: now - MIN } };
    const d = decide(key, now, book, NIGHT, seeded(3));
    expect(d.due).toBe(due);
    if (d.due) expect(d.capBytes).toBe(cap);
    else expect(d).toMatchObject({ why: 'budget' });
    // budget-bound: the test time is kept, so it runs as soon as older tests leave the 24 h
    if (!d.due) expect(d.book.next[key]).toBe(now - MIN);
  });

  it('the budget is a rolling 24 h: a test 24 h ago no longer counts', () => {
    const now = vn(23);
    const book: ScheduleBook = { v: 1, spent: [{ id: 'old', at: now - 24 * H, bytes: 400e6 }], next: { [key]: now - MIN } };
    expect(decide(key, now, book, NIGHT, seeded(3))).toMatchObject({ due: true, capBytes: 100e6 });
    expect(decide(key, now, { ...book, spent: [{ id: 'old', at: now - 24 * H + MIN, bytes: 400e6 }] }, NIGHT, seeded(3)).due).toBe(false);
  });

  it('two uplinks due together share the budget: the second is booked against what the first booked', () => {
    const now = vn(23);
    const r = { ...NIGHT, dailyBytes: 150e6 };
    const book: ScheduleBook = { v: 1, spent: [], next: { a: now - MIN, b: now - MIN } };
    const a = decide('a', now, book, r, seeded(1));
    expect(a).toMatchObject({ due: true, capBytes: 100e6 });
    const b = decide('b', now, a.book, r, seeded(2));
    expect(b).toMatchObject({ due: true, capBytes: 50e6 });
    expect(decide('a', now, b.book, r, seeded(2)).due).toBe(false);
    // a test that moved less gives the rest back
    const settled = settle(b.book, (a as { id: string }).id, 12e6);
    expect(spentBytes(settled, now)).toBe(62e6);
    // never more than booked, whatever is reported
    expect(spentBytes(settle(b.book, (a as { id: string }).id, 1e12), now)).toBe(150e6);
  });

  it('outside the hours (rules changed) or missed while the agent was off: drawn again, not run at once', () => {
    const book: ScheduleBook = { v: 1, spent: [], next: { [key]: vn(12) - MIN } };
    const d = decide(key, vn(12), book, NIGHT, seeded(5));
    expect(d).toMatchObject({ due: false, why: 'hours' });
    expect(allowedAt(d.book.next[key]!, NIGHT)).toBe(true);
    const missed = decide(key, vn(23, 30), { ...book, next: { [key]: vn(22) } }, NIGHT, seeded(5));
    expect(missed).toMatchObject({ due: false, why: 'hours' });
    expect(missed.book.next[key]).toBeGreaterThan(vn(23, 30));
    // within the longest check interval it is just due
    expect(decide(key, vn(23), { ...book, next: { [key]: vn(22) } }, NIGHT, seeded(5)).due).toBe(true);
  });

  it('a busy link puts the test off by 10-30 min of allowed time', () => {
    const b = retrySoon(key, vn(5, 50), EMPTY_BOOK, NIGHT, () => 0.5);
    // 10 min before 06:00, the other 10 min after 22:00
    expect(b.next[key]).toBe(vn(22, 10));
  });

  it('the book survives a restart as JSON; a damaged file is an empty book', () => {
    const rnd = seeded(9);
    const d = decide(key, vn(22), EMPTY_BOOK, NIGHT, rnd);
    expect(parseBook(JSON.stringify(d.book))).toEqual(d.book);
    expect(parseBook(undefined)).toEqual(EMPTY_BOOK);
    expect(parseBook('{"v":1,')).toEqual(EMPTY_BOOK);
    expect(parseBook('{"v":2,"spent":[],"next":{}}')).toEqual(EMPTY_BOOK);
    expect(parseBook('{"v":1,"spent":[{"id":"a","at":1,"bytes":-5},{"id":"b","at":2,"bytes":7}],"next":{"k":"x","j":3}}')).toEqual({
      v: 1, spent: [{ id: 'b', at: 2, bytes: 7 }], next: { j: 3 },
    });
  });
});
