// When an agent runs its link speed tests. Pure: (rules, the persisted book, now, random draws) -> a decision.
//
// Like NDT7's unattended clients, the gap before an uplink's next test is drawn from an exponential distribution and
// clamped (so tests land at times nobody can predict or line up, and a province's agents do not test together), but
// the gap is counted in *allowed* time only: time outside `windows`, or inside `blocked` (the commune's work hours),
// does not run the clock. So `testsPerDay` tests a day land inside the allowed hours whatever their length.
// The byte budget is a rolling 24 hours over every test of the agent (all uplinks), booked before a test starts so
// two uplinks' tests can never overdraw it together, and settled with what the test really moved.
import type { PlanTarget } from '../config/wire.ts';

export type ThroughputRules = Pick<
  Extract<PlanTarget, { kind: 'throughput' }>,
  'windows' | 'blocked' | 'tzOffsetMin' | 'testsPerDay' | 'maxBytes' | 'dailyBytes'
>;

/** What survives a restart (the agent's state dir): booked bytes and each uplink's next test time. */
export interface ScheduleBook {
  v: 1;
  /** tests of the last 24 h: start time, bytes booked (then settled to what moved) */
  spent: { id: string; at: number; bytes: number }[];
  /** per target + uplink key: the next test's time, epoch ms */
  next: Record<string, number>;
}

export const EMPTY_BOOK: ScheduleBook = { v: 1, spent: [], next: {} };

const MIN = 60_000;
const DAY = 1440 * MIN;
/** NDT7 clamps its exponential gaps (mean 6 h) to 36 min .. 15 h: the same proportions of the mean here */
export const GAP_CLAMP = [0.1, 2.5] as const;
/** a test that cannot have this share of its usual bytes is not worth starting (its reading would be a fragment) */
export const MIN_TEST_SHARE = 0.25;
/** a test put off (link busy, server full) is tried again after this much allowed time, drawn uniformly */
export const RETRY_MIN = [10, 30] as const;
/**
 * a test time missed by more than this (the agent was off) is drawn again rather than run at once; longer than the
 * longest check interval (a target's intervalSec, at most 3600 s), so a running agent never misses its own times
 */
export const STALE_MS = 65 * MIN;

type Span = readonly [number, number];
/** [from, to) minutes after local midnight; from > to wraps past midnight; from == to is the whole day */
const inSpan = ([from, to]: Span, m: number) => (from === to ? true : from < to ? m >= from && m < to : m >= from || m < to);

/** minutes after local midnight, fractional */
export function localMinute(now: number, tzOffsetMin: number): number {
  const local = now + tzOffsetMin * MIN;
  return (((local % DAY) + DAY) % DAY) / MIN;
}

export function allowedAt(now: number, r: Pick<ThroughputRules, 'windows' | 'blocked' | 'tzOffsetMin'>): boolean {
  const m = localMinute(now, r.tzOffsetMin);
  return r.windows.some((w) => inSpan(w, m)) && !r.blocked.some((b) => inSpan(b, m));
}

/** the next span edge strictly after `now` (where allowed-ness may change), epoch ms */
function nextEdge(now: number, r: Pick<ThroughputRules, 'windows' | 'blocked' | 'tzOffsetMin'>): number {
  const m = localMinute(now, r.tzOffsetMin);
  const edges = [...r.windows, ...r.blocked].flatMap(([a, b]) => [a % 1440, b % 1440]);
  let best = 1440; // local midnight: no edge today after now
  for (const e of edges) {
    const ahead = e > m ? e - m : e + 1440 - m;
    if (ahead > 0 && ahead < best) best = ahead;
  }
  // a whole minute count may land a hair before the edge in floating point: step past it
  return now + Math.max(best * MIN, 1);
}

/**
 * `now` plus `gapMs` of allowed time: the clock runs only inside the windows and outside the blocked spans.
 * Infinity when nothing is ever allowed (every window blocked).
 */
export function advanceAllowed(now: number, gapMs: number, r: Pick<ThroughputRules, 'windows' | 'blocked' | 'tzOffsetMin'>): number {
  let t = now;
  let left = gapMs;
  // every edge is visited at most once a day, and a gap is at most a few days of allowed time
  for (let i = 0; i < 4000; i++) {
    const edge = nextEdge(t, r);
    if (allowedAt(t, r)) {
      if (t + left < edge) return t + left;
      left -= edge - t;
    }
    t = edge;
  }
  return Infinity;
}

/** allowed minutes in one local day */
export function allowedMinutesPerDay(r: Pick<ThroughputRules, 'windows' | 'blocked'>): number {
  let n = 0;
  for (let m = 0; m < 1440; m++) if (r.windows.some((w) => inSpan(w, m + 0.5)) && !r.blocked.some((b) => inSpan(b, m + 0.5))) n++;
  return n;
}

/** one exponential gap of allowed time for a uniform draw u in [0, 1), clamped like NDT7's, ms */
export function gapMs(u: number, r: Pick<ThroughputRules, 'windows' | 'blocked' | 'testsPerDay'>): number {
  const mean = (allowedMinutesPerDay(r) / r.testsPerDay) * MIN;
  const x = -Math.log(1 - Math.min(u, 1 - 1e-12)) * mean;
  return Math.min(Math.max(x, GAP_CLAMP[0] * mean), GAP_CLAMP[1] * mean);
}

/** bytes booked within the 24 h before `now` */
export function spentBytes(book: ScheduleBook, now: number): number {
  return book.spent.reduce((n, s) => (s.at > now - DAY && s.at <= now ? n + s.bytes : n), 0);
}

export type Decision =
  | { due: true; book: ScheduleBook; /** this test's byte cap */ capBytes: number; /** the booking, settled after the test */ id: string }
  | { due: false; book: ScheduleBook; why: 'first' | 'later' | 'hours' | 'budget' | 'never' };

/**
 * Whether the uplink's test runs now. The book returned replaces the old one (persist it): a first look draws the
 * first test's time (a gap from now, not at once: agents that restart together must not all test together); a due
 * test books its bytes and draws the next time. Not due for lack of budget keeps the time: the test runs as soon as
 * older tests leave the 24 hours.
 */
export function decide(key: string, now: number, book: ScheduleBook, r: ThroughputRules, random: () => number): Decision {
  const spent = book.spent.filter((s) => s.at > now - DAY);
  const at = book.next[key];
  const draw = () => advanceAllowed(now, gapMs(random(), r), r);
  if (at === undefined || !Number.isFinite(at)) {
    const next = draw();
    return { due: false, why: Number.isFinite(next) ? 'first' : 'never', book: { v: 1, spent, next: { ...book.next, [key]: next } } };
  }
  if (now < at) return { due: false, why: 'later', book: { ...book, spent } };
  // due, but the rules changed under it (new hours), or the agent was off when it came (after a power cut every
  // agent would test at once on restart): draw again from now
  if (!allowedAt(now, r) || now - at > STALE_MS) return { due: false, why: 'hours', book: { v: 1, spent, next: { ...book.next, [key]: draw() } } };
  const left = r.dailyBytes - spentBytes({ ...book, spent }, now);
  const cap = Math.min(r.maxBytes, left);
  if (cap < MIN_TEST_SHARE * Math.min(r.maxBytes, r.dailyBytes)) return { due: false, why: 'budget', book: { ...book, spent } };
  const id = `${key}@${now}`;
  return { due: true, capBytes: cap, id, book: { v: 1, spent: [...spent, { id, at: now, bytes: cap }], next: { ...book.next, [key]: draw() } } };
}

/** After the test: its booking becomes what it moved (never more than booked: the cap bounded it). */
export function settle(book: ScheduleBook, id: string, bytes: number): ScheduleBook {
  return { ...book, spent: book.spent.map((s) => (s.id === id ? { ...s, bytes: Math.min(s.bytes, Math.max(0, Math.round(bytes))) } : s)) };
}

/** A test put off (the link busy, the server full): tried again after 10-30 min of allowed time, not a full gap. */
export function retrySoon(key: string, now: number, book: ScheduleBook, r: ThroughputRules, random: () => number): ScheduleBook {
  const ms = (RETRY_MIN[0] + random() * (RETRY_MIN[1] - RETRY_MIN[0])) * MIN;
  return { ...book, next: { ...book.next, [key]: advanceAllowed(now, ms, r) } };
}

/** A book read from disk, or the empty one when it is missing or not ours. */
export function parseBook(text: string | undefined): ScheduleBook {
  if (!text) return EMPTY_BOOK;
  try {
    const b = JSON.parse(text) as Partial<ScheduleBook>;
    if (b.v !== 1 || !Array.isArray(b.spent) || typeof b.next !== 'object' || b.next === null) return EMPTY_BOOK;
    const spent = b.spent.filter((s) => typeof s?.id === 'string' && Number.isFinite(s.at) && Number.isFinite(s.bytes) && s.bytes >= 0);
    const next = Object.fromEntries(Object.entries(b.next).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)));
    return { v: 1, spent, next };
  } catch {
    return EMPTY_BOOK;
  }
}
