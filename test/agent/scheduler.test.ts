// Scheduler behaviour with scripted probes (the probes themselves are tested against real servers
// and namespaces in their own files; here what matters is timing, isolation and bookkeeping).
import { afterEach, describe, expect, it } from 'vitest';
import type { PlanTarget, PlanUplink, ProbeResult } from '../../config/wire.ts';
import { Scheduler, runsFor, type Log } from '../../agent/scheduler.ts';
import type { ProbeRegistry } from '../../agent/probes/index.ts';
import type { Probe, ProbeContext, TargetOf } from '../../agent/probes/types.ts';

type Http = TargetOf<'http'>;
type Behaviour = 'ok' | 'throw' | 'hang' | { delayMs: number };

interface Call {
  id: string;
  at: number;
  uplink?: PlanUplink;
}

function scripted(behaviour: (t: Http) => Behaviour) {
  const calls: Call[] = [];
  let running = 0;
  let maxRunning = 0;
  const probe: Probe<Http> = {
    kind: 'http',
    failure: (t, ts, message) => ({ target: t.id, ts, kind: 'http', ok: false, status: null, total_ms: null, error: 'other', detail: message }),
    async run(t, ctx: ProbeContext): Promise<ProbeResult> {
      calls.push({ id: t.id, at: Date.now(), ...(ctx.uplink ? { uplink: ctx.uplink } : {}) });
      const ts = Date.now();
      const b = behaviour(t);
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        if (b === 'throw') throw new Error('boom');
        if (b === 'hang') await new Promise(() => {}); // ignores its signal on purpose
        if (typeof b === 'object') await new Promise((r) => setTimeout(r, b.delayMs));
        return { target: t.id, ts, kind: 'http', ok: true, status: 200, total_ms: 1 };
      } finally {
        running--;
      }
    },
  };
  return { probe, calls, maxRunning: () => maxRunning };
}

const http = (id: string, intervalSec = 1, timeoutMs = 500, extra: Partial<Http> = {}): Http => ({
  id,
  kind: 'http',
  url: 'http://127.0.0.1:9/',
  intervalSec,
  timeoutMs,
  ...extra,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const mk = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, ...(msg ? { msg } : {}) });
  const log: Log = { debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error') };
  return { log, lines };
}

let sched: Scheduler | undefined;
afterEach(async () => {
  await sched?.stop();
  sched = undefined;
});

describe('scheduler', () => {
  it('spreads first rounds over the interval (random initial phase), then repeats every interval', async () => {
    const s = scripted(() => 'ok');
    const phases = [0.1, 0.5, 0.9];
    let i = 0;
    const results: ProbeResult[] = [];
    const t0 = Date.now();
    sched = new Scheduler({ probes: { http: s.probe }, onResult: (r) => results.push(r), random: () => phases[i++ % 3]! });
    sched.setPlan({ uplinks: [], targets: [http('a'), http('b'), http('c')] });
    await sleep(2300);
    const first = (id: string) => s.calls.find((c) => c.id === id)!.at - t0;
    expect(first('a')).toBeGreaterThanOrEqual(90);
    expect(first('a')).toBeLessThan(400);
    expect(first('b')).toBeGreaterThanOrEqual(490);
    expect(first('b')).toBeLessThan(800);
    expect(first('c')).toBeGreaterThanOrEqual(890);
    expect(first('c')).toBeLessThan(1200);
    // a: 0.1, 1.1, 2.1 s -> 3 rounds; c: 0.9, 1.9 s -> 2 rounds
    expect(s.calls.filter((c) => c.id === 'a')).toHaveLength(3);
    expect(s.calls.filter((c) => c.id === 'c')).toHaveLength(2);
    const aTimes = s.calls.filter((c) => c.id === 'a').map((c) => c.at);
    expect(aTimes[1]! - aTimes[0]!).toBeGreaterThanOrEqual(950);
    expect(aTimes[1]! - aTimes[0]!).toBeLessThan(1250);
  });

  it('caps concurrency and still runs every target', async () => {
    const s = scripted(() => ({ delayMs: 150 }));
    const results: ProbeResult[] = [];
    sched = new Scheduler({ probes: { http: s.probe }, onResult: (r) => results.push(r), concurrency: 2, random: () => 0 });
    sched.setPlan({ uplinks: [], targets: ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => http(id, 5)) });
    await sleep(700);
    expect(s.maxRunning()).toBe(2);
    expect(new Set(results.map((r) => r.target))).toEqual(new Set(['a', 'b', 'c', 'd', 'e', 'f']));
  });

  it('a probe that throws or hangs becomes an error result and never stalls the others', async () => {
    const s = scripted((t) => (t.id === 'boom' ? 'throw' : t.id === 'stuck' ? 'hang' : 'ok'));
    const results: ProbeResult[] = [];
    const { log, lines } = capture();
    sched = new Scheduler({ probes: { http: s.probe }, onResult: (r) => results.push(r), concurrency: 2, abandonAfterMs: 100, random: () => 0, log });
    // concurrency 2 and a hung probe: the healthy target must still get its slot every second
    sched.setPlan({ uplinks: [], targets: [http('stuck', 1, 200), http('boom'), http('fine')] });
    await sleep(2200);
    const of = (id: string) => results.filter((r) => r.target === id);
    expect(of('fine').length).toBeGreaterThanOrEqual(3);
    expect(of('fine').every((r) => r.kind === 'http' && r.ok)).toBe(true);
    expect(of('boom').length).toBeGreaterThanOrEqual(3);
    expect(of('boom')[0]).toMatchObject({ ok: false, detail: 'probe error: boom' });
    expect(of('stuck').length).toBeGreaterThanOrEqual(2);
    expect(of('stuck')[0]).toMatchObject({ ok: false, detail: expect.stringMatching(/^timeout/) });
    expect(lines.some((l) => l.level === 'error' && /threw/.test(l.msg ?? ''))).toBe(true);
  });

  it('reports an unsupported probe kind once per kind and runs the rest', async () => {
    const s = scripted(() => 'ok');
    const results: ProbeResult[] = [];
    const { log, lines } = capture();
    sched = new Scheduler({ probes: { http: s.probe } as ProbeRegistry, onResult: (r) => results.push(r), random: () => 0, log });
    const dns: PlanTarget = { id: 'd1', kind: 'dns', intervalSec: 1, timeoutMs: 500, resolver: '127.0.0.1', query: 'x', recordType: 'A' };
    const dns2: PlanTarget = { ...dns, id: 'd2' };
    const tcp: PlanTarget = { id: 't1', kind: 'tcp', intervalSec: 1, timeoutMs: 500, host: '127.0.0.1', port: 9 };
    sched.setPlan({ uplinks: [], targets: [dns, dns2, tcp, http('h')] });
    sched.setPlan({ uplinks: [], targets: [dns, tcp, http('h')] });
    await sleep(100);
    const warns = lines.filter((l) => l.level === 'warn' && /unsupported probe kind/.test(l.msg ?? ''));
    expect(warns.map((w) => (w.obj as { kind: string }).kind).sort()).toEqual(['dns', 'tcp']);
    expect(warns.find((w) => (w.obj as { kind: string }).kind === 'dns')!.obj).toMatchObject({ targets: ['d1', 'd2'] });
    expect(sched.unsupportedKinds.sort()).toEqual(['dns', 'tcp']);
    expect(results.map((r) => r.target)).toEqual(['h']);
  });

  it('runs once per bindable uplink and labels results; one uplink labels without needing binding', async () => {
    const s = scripted(() => 'ok');
    const results: ProbeResult[] = [];
    sched = new Scheduler({ probes: { http: s.probe }, onResult: (r) => results.push(r), random: () => 0 });
    const a: PlanUplink = { name: 'vnpt', carrier: 'vnpt', interface: 'eth0' };
    const b: PlanUplink = { name: 'viettel', carrier: 'viettel', sourceAddress: '127.0.0.2' };
    sched.setPlan({ uplinks: [a, b], targets: [http('p', 5)] });
    await sleep(100);
    expect(results.map((r) => r.uplink).sort()).toEqual(['viettel', 'vnpt']);
    expect(s.calls.map((c) => c.uplink?.name).sort()).toEqual(['viettel', 'vnpt']);

    expect(runsFor(http('x'), [{ name: 'only', carrier: 'fpt' }])).toEqual([{ label: 'only' }]);
    expect(runsFor(http('x'), [{ name: 'u1', carrier: 'fpt' }, { name: 'u2', carrier: 'vnpt' }])).toEqual([{}]);
    expect(runsFor(http('x'), [])).toEqual([{}]);
    expect(runsFor(http('gw', 1, 500, { uplink: 'viettel' }), [a, b])).toEqual([{ bind: b, label: 'viettel' }]);
  });

  it('setPlan replaces the schedule live: removed targets stop, kept ones keep their phase, new ones start', async () => {
    const s = scripted(() => 'ok');
    const results: ProbeResult[] = [];
    sched = new Scheduler({ probes: { http: s.probe }, onResult: (r) => results.push(r), random: () => 0.2 });
    sched.setPlan({ uplinks: [], targets: [http('keep'), http('drop')] });
    await sleep(300); // both ran once at ~200 ms
    sched.setPlan({ uplinks: [], targets: [http('keep'), http('new')] });
    await sleep(1050);
    const ids = (id: string) => s.calls.filter((c) => c.id === id);
    expect(ids('drop')).toHaveLength(1);
    expect(ids('new').length).toBeGreaterThanOrEqual(1);
    const keep = ids('keep').map((c) => c.at);
    expect(keep).toHaveLength(2); // ~200 ms and ~1200 ms: not restarted by the new plan
    expect(keep[1]! - keep[0]!).toBeGreaterThanOrEqual(950);
    expect(sched.size).toBe(2);
  });

  it('stop() returns promptly even with a hung probe, and nothing is reported afterwards', async () => {
    const s = scripted(() => 'hang');
    const results: ProbeResult[] = [];
    sched = new Scheduler({ probes: { http: s.probe }, onResult: (r) => results.push(r), random: () => 0 });
    sched.setPlan({ uplinks: [], targets: [http('a', 1, 5000), http('b', 1, 5000)] });
    await sleep(100);
    expect(sched.running).toBe(2);
    const t0 = Date.now();
    await sched.stop();
    expect(Date.now() - t0).toBeLessThan(100);
    await sleep(1200);
    expect(results).toHaveLength(0);
    expect(s.calls).toHaveLength(2);
  });
});
