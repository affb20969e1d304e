import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../config/schema.ts';
import type { ProbeResult, Status } from '../../config/wire.ts';
import { applyResult, classify, INITIAL, markUnknown, type TargetState } from '../../server/state/status.ts';
import { worstStatus as worst } from '../../config/vocabulary.ts';
import { communeStatus } from '../../server/state/commune-status.ts';
import { serviceWideFailures } from '../../server/state/province-wide.ts';

const th = DEFAULT_THRESHOLDS; // loss 10 %, rtt 150 ms, response 3000 ms, down after 3, up after 2
const icmp = (received: number, median: number | null, ts = 0): ProbeResult => ({
  kind: 'icmp', target: 't', ts, sent: 10, received, loss: ((10 - received) / 10) * 100,
  rtt_min: median, rtt_median: median, rtt_avg: median, rtt_max: median, jitter: 0,
});
const http = (ok: boolean, total: number | null, status: number | null = ok ? 200 : 503): ProbeResult => ({
  kind: 'http', target: 'p', ts: 0, ok, status, total_ms: total, ...(ok ? {} : { error: 'status' as const }),
});

describe('classify', () => {
  it.each([
    ['all echoes answered, fast', icmp(10, 20), 'good'],
    ['one of ten answered is not up', icmp(1, 20), 'slow'],
    ['loss exactly at threshold (10 %)', icmp(9, 20), 'slow'],
    ['median above rtt threshold', icmp(10, 151), 'slow'],
    ['median at threshold is fine', icmp(10, 150), 'good'],
    ['nothing answered', icmp(0, null), 'fail'],
    ['http 200 fast', http(true, 300), 'good'],
    ['http 200 slower than responseMs', http(true, 3500), 'slow'],
    ['http 503', http(false, 80), 'fail'],
    ['http timeout', { kind: 'http', target: 'p', ts: 0, ok: false, status: null, total_ms: null, error: 'timeout' } as ProbeResult, 'fail'],
    ['dns NXDOMAIN', { kind: 'dns', target: 'd', ts: 0, ok: false, total_ms: 5, answers: 0, rcode: 'NXDOMAIN' } as ProbeResult, 'fail'],
    ['tcp refused', { kind: 'tcp', target: 'x', ts: 0, ok: false, connect_ms: null, error: 'refused' } as ProbeResult, 'fail'],
    ['tcp connect ok', { kind: 'tcp', target: 'x', ts: 0, ok: true, connect_ms: 12 } as ProbeResult, 'good'],
  ])('%s -> %s', (_name, r, verdict) => {
    expect(classify(r, th).verdict).toBe(verdict);
  });

  it('names the reason', () => {
    expect(classify(icmp(7, 20), th).reason).toEqual({ code: 'loss', pct: 30 });
    expect(classify(http(false, 80), th).reason).toEqual({ code: 'http_status', status: 503 });
  });
});

// Transition table: a sequence of round verdicts (G good, S slow, F fail) and the status after each round.
const seqCases: [string, string, Status[]][] = [
  ['fresh good', 'G', ['up']],
  ['fresh slow', 'S', ['degraded']],
  ['down needs 3 consecutive fails', 'GFFF', ['up', 'degraded', 'degraded', 'down']],
  ['a good round resets the fail streak', 'GFFGFF', ['up', 'degraded', 'degraded', 'up', 'degraded', 'degraded']],
  ['recovery needs 2 good rounds', 'FFFGG', ['degraded', 'degraded', 'down', 'down', 'up']],
  ['a fail during recovery stays down', 'FFFGFGG', ['degraded', 'degraded', 'down', 'down', 'down', 'down', 'up']],
  ['slow rounds count toward recovery and land on degraded', 'FFFSS', ['degraded', 'degraded', 'down', 'down', 'degraded']],
  ['slow is not a failure', 'SSSS', ['degraded', 'degraded', 'degraded', 'degraded']],
];
const forVerdict = (v: string, ts: number) => (v === 'G' ? icmp(10, 20, ts) : v === 'S' ? icmp(5, 20, ts) : icmp(0, null, ts));

describe('status machine', () => {
  it.each(seqCases)('%s (%s)', (_n, seq, expected) => {
    let s: TargetState = INITIAL;
    const got: Status[] = [];
    [...seq].forEach((v, i) => {
      s = applyResult(s, forVerdict(v, (i + 1) * 1000), th);
      got.push(s.status);
    });
    expect(got).toEqual(expected);
  });

  it('thresholds are per target: downAfter 1 goes down at once', () => {
    expect(applyResult(INITIAL, icmp(0, null, 1), { ...th, downAfter: 1 }).status).toBe('down');
  });

  it('a late (backfilled) result does not move the live state', () => {
    let s = applyResult(INITIAL, icmp(10, 20, 5000), th);
    s = applyResult(s, icmp(0, null, 4000), th);
    expect(s.status).toBe('up');
    expect(s.lastTs).toBe(5000);
  });

  it('unknown when the agent is silent, then starts afresh', () => {
    let s = applyResult(INITIAL, icmp(0, null, 1), th);
    s = applyResult(s, icmp(0, null, 2), th);
    s = markUnknown(s);
    expect(s.status).toBe('unknown');
    s = applyResult(s, icmp(0, null, 3), th);
    expect(s.status).toBe('degraded'); // streak restarted: 1 of 3
  });
});

describe('rollup', () => {
  it.each([
    [['up', 'up'], 'up'],
    [['up', 'degraded'], 'degraded'],
    [['down', 'degraded', 'up'], 'down'],
    [['unknown', 'up'], 'up'],
    [['unknown', 'unknown'], 'unknown'],
    [[], 'unknown'],
  ] as [Status[], Status][])('worst(%j) = %s', (xs, w) => expect(worst(xs)).toBe(w));

  it('a portal down in most communes is the portal, not the commune', () => {
    const per = new Map<string, Status[]>([
      ['portal', ['down', 'down', 'down', 'down', 'up']],
      ['gw', ['up', 'up', 'down', 'up', 'up']],
    ]);
    const wide = serviceWideFailures(per);
    expect([...wide]).toEqual(['portal']);
    expect(communeStatus([{ id: 'gw', status: 'up' }, { id: 'portal', status: 'down' }], wide)).toBe('up');
    expect(communeStatus([{ id: 'gw', status: 'down' }, { id: 'portal', status: 'down' }], wide)).toBe('down');
  });

  it('too few communes reporting is not province-wide', () => {
    expect(serviceWideFailures(new Map([['portal', ['down', 'down'] as Status[]]])).size).toBe(0);
  });
});
