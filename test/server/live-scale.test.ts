// The live state at fleet scale: the province-wide verdict kept incrementally must equal the rule applied from
// scratch after every step, deltas carry the sites that changed, and the cost of one batch does not grow with the
// fleet.
import { describe, expect, it } from 'vitest';
import { loadProvince, parseConfig } from '../../config/load.ts';
import { STATUS_RANK, type Status } from '../../config/vocabulary.ts';
import type { ProbeResult } from '../../config/wire.ts';
import { buildDirectory } from '../../server/directory.ts';
import { serviceWideFailures } from '../../server/state/province-wide.ts';
import { LiveState } from '../../server/state/live-state.ts';
import { mergeSites } from '../../ui/src/lib/live.svelte.ts';
import { icmpLost, icmpOk } from '../helpers/agent-client.ts';

const HASH = 'scrypt$1024$8$1$c2FsdA==$aGFzaA==';
const T0 = Date.UTC(2026, 5, 1);

function world(agentsPerCommune: number, communeCount: number, targets = 4) {
  const cfg = parseConfig({
    province: { code: '51' },
    carriers: [{ id: 'vnpt', name: 'VNPT' }],
    targets: Array.from({ length: targets }, (_, k) => ({ id: `t${k}`, name: `T${k}`, kind: 'icmp' as const, host: '127.0.0.1' })),
    agents: [],
  });
  const province = loadProvince(cfg);
  const codes = province.communes.slice(0, communeCount).map((c) => c.code);
  cfg.agents = codes.flatMap((c) => Array.from({ length: agentsPerCommune }, (_, i) => ({ id: `a-${c}-${i}`, commune: c, tokenHash: HASH, uplinks: [{ name: 'wan1', carrier: 'vnpt', gateway: '127.0.0.1' }] })));
  const dir = buildDirectory(cfg, province);
  let t = T0;
  const live = new LiveState(dir, 20_000, () => t);
  return { dir, live, codes, agents: cfg.agents.map((a) => a.id), clock: { get: () => t, set: (x: number) => (t = x) } };
}

/** the rule from scratch: every commune's worst status per target, over all slots of the live view */
function fromScratch(live: LiveState, codes: string[]): Set<string> {
  const per = new Map<string, Map<string, Status>>();
  for (const c of codes)
    for (const s of live.commune(c).targets) {
      let m = per.get(s.id);
      if (!m) per.set(s.id, (m = new Map()));
      const prev = m.get(c);
      if (prev === undefined || STATUS_RANK[s.status] > STATUS_RANK[prev]) m.set(c, s.status);
    }
  return serviceWideFailures(new Map([...per].map(([t, m]) => [t, [...m.values()]])));
}

describe('LiveState at scale', () => {
  it('the incremental province-wide verdict equals the rule from scratch after every step (random outages, silence)', () => {
    const w = world(3, 8, 3);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let flips = 0;
    let before = '';
    for (let step = 0; step < 400; step++) {
      w.clock.set(w.clock.get() + 1000);
      // a portal-like outage on t0 comes and goes for everyone; t1 fails here and there; some agents fall silent
      const outage = Math.floor(step / 40) % 2 === 1;
      for (const a of w.agents) {
        if (rnd() < 0.15) continue; // this agent says nothing this second
        const res: ProbeResult[] = [
          outage && rnd() < 0.9 ? icmpLost('t0', w.clock.get()) : icmpOk('t0', w.clock.get()),
          rnd() < 0.2 ? icmpLost('t1', w.clock.get()) : icmpOk('t1', w.clock.get()),
          icmpOk('t2', w.clock.get()),
        ];
        w.live.apply(a, res);
      }
      if (step % 50 === 49) w.clock.set(w.clock.get() + 25_000); // everyone silent: unknown
      w.live.sweep();
      const got = [...w.live.serviceWideTargets()].sort().join(',');
      expect(got).toBe([...fromScratch(w.live, w.codes)].sort().join(','));
      if (got !== before) flips++;
      before = got;
    }
    expect(flips).toBeGreaterThan(4); // the walk did cross the line both ways
  });

  it('a change at one site reaches the hub as that site, and the merged view equals the whole commune', () => {
    const w = world(5, 2, 3);
    const seen: [Set<string>, ReadonlyMap<string, ReadonlySet<string> | null>][] = [];
    w.live.onChange((codes, agents) => seen.push([codes, agents]));
    for (const a of w.agents) w.live.apply(a, [icmpOk('t0', T0), icmpOk('t1', T0), icmpOk('t2', T0)]);
    const code = w.codes[0]!;
    const before = w.live.commune(code).targets;
    seen.length = 0;
    const site = `a-${code}-3`;
    w.live.apply(site, [icmpOk('t0', T0 + 1000, 40)]);
    expect(seen).toHaveLength(1);
    expect([...seen[0]![0]]).toEqual([code]);
    expect([...(seen[0]![1].get(code) ?? [])]).toEqual([site]);
    const part = w.live.communePart(code, seen[0]![1].get(code)!);
    expect(part.only).toEqual([site]);
    expect(part.targets.every((t) => t.agent === site)).toBe(true);
    expect(part.targets).toHaveLength(3);
    const whole = w.live.commune(code);
    expect(part.status).toBe(whole.status);
    expect(mergeSites(before, part.targets, part.only!)).toEqual(whole.targets);
  });

  it('one batch costs the same with 30 or 3,000 agents (no walk over the fleet per batch)', () => {
    const timeBatches = (perCommune: number) => {
      const w = world(perCommune, 96, 10);
      const round = (ts: number, bad: boolean) => Array.from({ length: 10 }, (_, k) => (bad && k === 0 ? icmpLost(`t${k}`, ts) : icmpOk(`t${k}`, ts, 10 + (ts % 7))));
      for (const a of w.agents) w.live.apply(a, round(T0, false));
      for (const c of w.codes) w.live.commune(c);
      const some = w.agents.slice(0, 300);
      const t0 = performance.now();
      for (let n = 1; n <= 5; n++) for (const a of some) w.live.apply(a, round(T0 + n * 1000, n % 2 === 0));
      return (performance.now() - t0) / (5 * some.length);
    };
    const small = Math.min(timeBatches(4), timeBatches(4));
    const large = Math.min(timeBatches(32), timeBatches(32));
    // quadratic cost made this ratio ~100; a generous bound keeps the test steady on a loaded machine
    expect(large / small).toBeLessThan(5);
  });
});
