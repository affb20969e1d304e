import { describe, expect, it } from 'vitest';
import { triage, DEFAULT_TIMELINESS } from '../../server/ingest/timeliness.ts';
import { icmpOk } from '../helpers/agent-client.ts';

const NOW = Date.UTC(2026, 10, 22, 8, 0, 0);
const interval = (t: string) => (t === 'portal' ? 300 : 30);

describe('triage', () => {
  it.each([
    ['just measured', 'dc', NOW - 1_000, 'fresh'],
    ['a slightly fast agent clock', 'dc', NOW + 4 * 60_000, 'fresh'],
    ['one round late on a 30 s target is still live', 'dc', NOW - 80_000, 'fresh'],
    ['over 90 s old on a 30 s target is backfill', 'dc', NOW - 91_000, 'late'],
    ['a 5-minute target tolerates 2 intervals + 30 s', 'portal', NOW - 600_000, 'fresh'],
    ['and is late beyond that', 'portal', NOW - 631_000, 'late'],
    ['a week old (spool replay) is late, kept', 'dc', NOW - 7 * 86_400_000, 'late'],
    ['10 minutes in the future is rejected', 'dc', NOW + 10 * 60_000, 'rejected'],
    ['years in the past (agent clock reset to 1970/2000) is rejected', 'dc', Date.UTC(2000, 0, 1), 'rejected'],
  ])('%s -> %s', (_n, target, ts, bucket) => {
    const t = triage([icmpOk(target, ts)], NOW, interval);
    const where = t.fresh.length ? 'fresh' : t.late.length ? 'late' : 'rejected';
    expect(where).toBe(bucket);
  });

  it('says why a result was rejected', () => {
    const t = triage([icmpOk('dc', NOW + 3_600_000)], NOW, interval, DEFAULT_TIMELINESS);
    expect(t.rejected[0]!.why).toBe('ts 3600 s in the future');
  });
});
