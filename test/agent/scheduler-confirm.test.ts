// Fast confirmation in the scheduler: a changed outcome is re-probed at once on a short interval, a bounded number
// of times, stopped by a flip back, and failure bursts are rate-limited; a pulse between rounds whose answer differs
// from the last round starts the burst at once and is never reported itself. Scripted probe and pulse, real timers;
// intervals are shortened so the test runs in seconds (the defaults are 2 rounds, 2 s apart, one burst a minute,
// a pulse every 5 s for ICMP). A server's probe request (another site saw a service fail) starts the same burst.
import { afterEach, describe, expect, it } from 'vitest';
import type { PlanTarget, ProbeResult } from '../../config/wire.ts';
import { Scheduler, roundFailed } from '../../agent/scheduler.ts';
import type { Probe, TargetOf } from '../../agent/probes/types.ts';
import type { Pulse } from '../../agent/pulse.ts';

type Http = TargetOf<'http'>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const target: PlanTarget = { id: 'portal', kind: 'http', intervalSec: 5, timeoutMs: 1000, url: 'http://127.0.0.1:9/', expectStatus: [200] } as PlanTarget;

describe('Scheduler fast confirmation', () => {
  let sched: Scheduler | null = null;
  afterEach(async () => {
    await sched?.stop();
    sched = null;
  });

  function world(outcomes: (n: number) => boolean) {
    const results: { at: number; failed: boolean }[] = [];
    let n = 0;
    const probe: Probe<Http> = {
      kind: 'http',
      failure: (t, ts) => ({ target: t.id, ts, kind: 'http', ok: false, status: null, total_ms: null, error: 'other' }),
      async run(t): Promise<ProbeResult> {
        const ok = outcomes(n++);
        return ok ? { target: t.id, ts: Date.now(), kind: 'http', ok: true, status: 200, total_ms: 1 } : { target: t.id, ts: Date.now(), kind: 'http', ok: false, status: null, total_ms: null, error: 'timeout' };
      },
    };
    const t0 = Date.now();
    sched = new Scheduler({ probes: { http: probe }, onResult: (r) => results.push({ at: Date.now() - t0, failed: roundFailed(r) }), random: () => 0, confirm: { rounds: 2, intervalMs: 100, minGapMs: 60_000 } });
    sched.setPlan({ uplinks: [], targets: [target] });
    return results;
  }

  it('a failed round is confirmed by 2 quick rounds, and a recovery too; then back to the normal interval', async () => {
    // rounds 0-2 fail (the first round and its burst), round 3 (the next regular slot) and on answer
    const results = world((n) => n >= 3);
    await sleep(1000);
    expect(results.map((r) => r.failed)).toEqual([true, true, true]);
    expect(results[2]!.at).toBeLessThan(800); // three failed rounds well inside one 5 s interval
    await sleep(5000);
    // the regular round at 5 s answers: two quick rounds confirm the recovery, then nothing until 10 s
    expect(results.map((r) => r.failed)).toEqual([true, true, true, false, false, false]);
    expect(results[5]!.at - results[3]!.at).toBeLessThan(800);
  }, 15_000);

  it('one lost round followed by an answer ends the burst (noise), and a second failure within a minute waits for its rounds', async () => {
    // round 0 fails, its first confirmation answers; round 2 (regular, 5 s) fails again: rate-limited, no burst
    const results = world((n) => n !== 0 && n !== 2);
    await sleep(1000);
    expect(results.map((r) => r.failed)).toEqual([true, false]);
    await sleep(5000);
    // the regular failure at 5 s: no burst (a minute has not passed since the last failure burst)
    expect(results.map((r) => r.failed)).toEqual([true, false, true]);
  }, 15_000);

  it('a target probed every few seconds gets no burst', async () => {
    const results: ProbeResult[] = [];
    const probe: Probe<Http> = {
      kind: 'http',
      failure: (t, ts) => ({ target: t.id, ts, kind: 'http', ok: false, status: null, total_ms: null, error: 'other' }),
      run: async (t) => ({ target: t.id, ts: Date.now(), kind: 'http', ok: false, status: null, total_ms: null, error: 'timeout' }),
    };
    sched = new Scheduler({ probes: { http: probe }, onResult: (r) => results.push(r), random: () => 0 });
    sched.setPlan({ uplinks: [], targets: [{ ...target, intervalSec: 5 } as PlanTarget] });
    await sleep(1500);
    expect(results).toHaveLength(1); // defaults: 2 s bursts are not faster than 5 s rounds by enough
  }, 10_000);

  describe('probe requests from the server', () => {
    /** a portal and another service whose health the test sets, on two bound uplinks */
    function twoUplinks() {
      const w = { up: true, rounds: [] as { target: string; uplink?: string; at: number; failed: boolean }[] };
      const probe: Probe<Http> = {
        kind: 'http',
        failure: (t, ts) => ({ target: t.id, ts, kind: 'http', ok: false, status: null, total_ms: null, error: 'other' }),
        run: async (t) =>
          t.id === 'portal' && !w.up
            ? { target: t.id, ts: Date.now(), kind: 'http', ok: false, status: null, total_ms: null, error: 'timeout' }
            : { target: t.id, ts: Date.now(), kind: 'http', ok: true, status: 200, total_ms: 1 },
      };
      const t0 = Date.now();
      sched = new Scheduler({
        probes: { http: probe },
        onResult: (r) => w.rounds.push({ target: r.target, ...(r.uplink ? { uplink: r.uplink } : {}), at: Date.now() - t0, failed: roundFailed(r) }),
        random: () => 0,
        confirm: { rounds: 2, intervalMs: 100, minGapMs: 60_000 },
      });
      sched.setPlan({
        uplinks: [
          { name: 'vnpt', carrier: 'vnpt', interface: 'lo' },
          { name: 'viettel', carrier: 'viettel', interface: 'lo' },
        ],
        targets: [target, { ...target, id: 'other' } as PlanTarget],
      });
      return { w, t0 };
    }
    const of = (w: ReturnType<typeof twoUplinks>['w'], id: string, uplink: string) => w.rounds.filter((r) => r.target === id && r.uplink === uplink);

    it('starts a burst of real rounds on every uplink of that target at once, bounded: none while one runs, none once the failure is seen here', async () => {
      const { w, t0 } = twoUplinks();
      await sleep(300);
      expect(w.rounds).toHaveLength(4); // the first regular round of each target on each uplink
      w.up = false;
      const asked = Date.now() - t0;
      expect(sched!.probeNow(['portal', 'not-planned'])).toBe(2);
      expect(sched!.probeNow(['portal'])).toBe(0); // the bursts are under way
      await sleep(800);
      for (const u of ['vnpt', 'viettel']) {
        const rounds = of(w, 'portal', u);
        // the regular round, then the burst: a full round at once and its 2 confirmations, long before the 5 s round
        expect(rounds.map((r) => r.failed)).toEqual([false, true, true, true]);
        expect(rounds[1]!.at - asked).toBeLessThan(150);
        expect(rounds[3]!.at - asked).toBeLessThan(600);
        expect(of(w, 'other', u)).toHaveLength(1); // a target not asked for keeps its timetable
      }
      // confirmed failed here: nothing left to confirm, so a further request runs nothing
      expect(sched!.probeNow(['portal'])).toBe(0);
      await sleep(300);
      expect(w.rounds).toHaveLength(10);
    }, 10_000);

    it('a request whose round answers here is noise: a second one within the gap runs nothing', async () => {
      const { w } = twoUplinks();
      await sleep(300);
      expect(sched!.probeNow(['portal'])).toBe(2);
      await sleep(400);
      // one full round per uplink that answered ends each burst
      expect(of(w, 'portal', 'vnpt').map((r) => r.failed)).toEqual([false, false]);
      expect(of(w, 'portal', 'viettel').map((r) => r.failed)).toEqual([false, false]);
      expect(sched!.probeNow(['portal'])).toBe(0);
      await sleep(300);
      expect(w.rounds).toHaveLength(6);
    }, 10_000);
  });

  describe('pulses', () => {
    /** a portal whose health the test sets; rounds and pulses both ask it, a scripted pulse can lie once */
    function pulsed(o: { pulseLies?: number[] } = {}) {
      const w = { up: true, pulses: 0, rounds: [] as { at: number; failed: boolean; timeoutMs: number }[] };
      const probe: Probe<Http> = {
        kind: 'http',
        failure: (t, ts) => ({ target: t.id, ts, kind: 'http', ok: false, status: null, total_ms: null, error: 'other' }),
        async run(t): Promise<ProbeResult> {
          w.rounds.push({ at: Date.now() - t0, failed: !w.up, timeoutMs: t.timeoutMs });
          return w.up ? { target: t.id, ts: Date.now(), kind: 'http', ok: true, status: 200, total_ms: 1 } : { target: t.id, ts: Date.now(), kind: 'http', ok: false, status: 503, total_ms: 1, error: 'status' };
        },
      };
      const pulse: Pulse<Http> = {
        everyMs: 200,
        answered: async () => ((o.pulseLies ?? []).includes(w.pulses++) ? !w.up : w.up),
        confirmRound: (t) => ({ ...t, timeoutMs: 999 }),
      };
      const t0 = Date.now();
      sched = new Scheduler({ probes: { http: probe }, pulses: { http: pulse }, onResult: () => {}, random: () => 0, confirm: { rounds: 2, intervalMs: 100, minGapMs: 60_000 } });
      sched.setPlan({ uplinks: [], targets: [target] });
      return { w, t0 };
    }

    it('a failed pulse starts the burst at once: a full round and its 2 confirmations, long before the next regular round; a pulse answering again starts the recovery burst', async () => {
      const { w, t0 } = pulsed();
      await sleep(1000);
      expect(w.rounds.map((r) => r.failed)).toEqual([false]); // the first round; pulses are not rounds
      expect(w.pulses).toBeGreaterThanOrEqual(2);
      w.up = false;
      const cut = Date.now() - t0;
      await sleep(1000);
      expect(w.rounds.map((r) => r.failed)).toEqual([false, true, true, true]);
      const burst = w.rounds.slice(1);
      expect(burst[0]!.at - cut).toBeLessThan(400); // at the next pulse (every 200 ms), not at the 5 s round
      expect(burst[2]!.at - burst[0]!.at).toBeLessThan(500); // 3 rounds 100 ms apart, start to start
      expect(burst.map((r) => r.timeoutMs)).toEqual([999, 999, 999]); // the burst's rounds take the pulse's shape
      w.up = true;
      await sleep(1000);
      expect(w.rounds.map((r) => r.failed)).toEqual([false, true, true, true, false, false, false]);
      expect(w.rounds.every((r) => r.at < 4500)).toBe(true); // all of it before the regular round at 5 s
      expect(w.rounds[0]!.timeoutMs).toBe(target.timeoutMs); // a regular round runs as planned
    }, 10_000);

    it('one lost pulse costs one round that answers, and nothing else (noise)', async () => {
      const { w } = pulsed({ pulseLies: [2] });
      await sleep(2000);
      expect(w.rounds.map((r) => r.failed)).toEqual([false, false]);
      expect(w.pulses).toBeGreaterThanOrEqual(5); // pulses went on after the extra round
    }, 10_000);

    it('a confirmed fault, repaired, then a new fault within the minute: confirmed at once again (only noise is rate-limited)', async () => {
      const { w } = pulsed();
      await sleep(600);
      w.up = false;
      await sleep(900);
      w.up = true;
      await sleep(900);
      w.up = false;
      await sleep(900);
      expect(w.rounds.map((r) => r.failed)).toEqual([false, true, true, true, false, false, false, true, true, true]);
    }, 10_000);

    it('after a lost pulse (noise), a second failed pulse within the minute waits for the regular round', async () => {
      const { w } = pulsed({ pulseLies: [1, 4] });
      await sleep(2000);
      // the first lie costs one round (a failure burst ended by the answer: noise); the second is rate-limited
      expect(w.rounds.map((r) => r.failed)).toEqual([false, false]);
    }, 10_000);
  });
});
