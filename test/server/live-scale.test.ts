// The live state at fleet scale: the province-wide verdict kept incrementally must equal the rule applied from
// scratch after every step, the commune figures kept per site must equal the figures computed from every slot, deltas
// carry the sites that changed, and the cost of one batch does not grow with the fleet.
import { describe, expect, it } from 'vitest';
import { loadProvince, parseConfig } from '../../config/load.ts';
import { STATUS_RANK, type Status } from '../../config/vocabulary.ts';
import type { CommuneLive, ProbeResult, TargetLive } from '../../config/wire.ts';
import { buildDirectory } from '../../server/directory.ts';
import { describesLink } from '../../server/kinds/index.ts';
import { communeStatus } from '../../server/state/commune-status.ts';
import { serviceWideFailures } from '../../server/state/province-wide.ts';
import { LiveState } from '../../server/state/live-state.ts';
import { applyResult, INITIAL, markUnknown, type TargetState } from '../../server/state/status.ts';
import { mergeSiteList, mergeSites } from '../../ui/src/lib/live.svelte.ts';
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

/** The live state kept the simple way: every slot's state by the status machine, every figure from all slots. */
class Reference {
  slots = new Map<string, { agent: string; target: string; uplink: string; commune: string; carrier: string; state: TargetState }>();
  seen = new Map<string, number>();
  constructor(
    private dir: ReturnType<typeof buildDirectory>,
    private timeoutMs: number,
  ) {}
  apply(agent: string, now: number, results: ProbeResult[]) {
    const a = this.dir.agents.get(agent)!;
    this.seen.set(agent, now);
    for (const r of results) {
      const key = `${agent}|${r.target}|${r.uplink ?? ''}`;
      let s = this.slots.get(key);
      if (!s) this.slots.set(key, (s = { agent, target: r.target, uplink: r.uplink ?? '', commune: a.commune, carrier: this.dir.carrierOf(agent, r.uplink), state: INITIAL }));
      s.state = applyResult(s.state, r, this.dir.thresholdsFor(r.target, a.commune));
    }
  }
  sweep(now: number) {
    for (const s of this.slots.values()) if (now - (this.seen.get(s.agent) ?? 0) > this.timeoutMs) s.state = markUnknown(s.state);
  }
  /** an agent moved: its slots go, and come back with its next result in the new commune */
  drop(agent: string) {
    for (const [k, s] of this.slots) if (s.agent === agent) this.slots.delete(k);
  }
  wide(): Set<string> {
    const per = new Map<string, Map<string, Status>>();
    for (const s of this.slots.values()) {
      let m = per.get(s.target);
      if (!m) per.set(s.target, (m = new Map()));
      const prev = m.get(s.commune);
      if (prev === undefined || STATUS_RANK[s.state.status] > STATUS_RANK[prev]) m.set(s.commune, s.state.status);
    }
    return serviceWideFailures(new Map([...per].map(([t, m]) => [t, [...m.values()]])));
  }
  /** a commune's view from all its slots: sites in directory order, each in target order then uplink */
  commune(code: string, carrier?: string): Omit<CommuneLive, 'lastSeen'> {
    const wide = this.wide();
    const order = (t: string) => this.dir.targetOrder.indexOf(t);
    const agents = this.dir.agentsOfCommune(code);
    const slots = [...this.slots.values()]
      .filter((s) => s.commune === code && (!carrier || s.carrier === carrier))
      .sort((a, b) => agents.indexOf(a.agent) - agents.indexOf(b.agent) || order(a.target) - order(b.target) || a.uplink.localeCompare(b.uplink));
    const targets: TargetLive[] = slots.map((s) => ({
      id: s.target, agent: s.agent, uplink: s.uplink || undefined, carrier: s.carrier || null, status: s.state.status,
      latencyMs: s.state.latencyMs, lossPct: s.state.lossPct, lastTs: s.state.lastTs,
      reason: wide.has(s.target) && s.state.status !== 'up' && s.state.reason ? { ...s.state.reason, provinceWide: true } : s.state.reason,
    }));
    // headline: first link-describing slot with data in target order, then uplink, then site order; beyond the gateway first
    const ranked = [...targets].sort((a, b) => order(a.id) - order(b.id) || (a.uplink ?? '').localeCompare(b.uplink ?? ''));
    const withData = ranked.filter((t) => describesLink(this.dir.targets.get(t.id)) && t.lastTs !== null && t.status !== 'unknown');
    const icmp = withData.find((t) => (this.dir.targets.get(t.id) as { host?: string }).host !== 'gateway') ?? withData[0];
    return {
      code,
      status: communeStatus(targets, wide),
      carrier: carrier ? (slots.length ? carrier : null) : this.dir.communeCarrier(code),
      latencyMs: icmp?.latencyMs ?? null,
      lossPct: icmp?.lossPct ?? null,
      agents,
      sites: agents.flatMap((agent) => {
        const own = targets.filter((t) => t.agent === agent);
        const site = this.dir.siteOf(agent)!;
        return !carrier || own.length ? [{ agent, ...site, status: communeStatus(own, wide) }] : [];
      }),
      targets,
    };
  }
}

describe('LiveState at scale', () => {
  it('commune and site figures kept per site equal the figures from every slot; a screen fed the deltas shows the same (random walk)', () => {
    const TIMEOUT = 20_000;
    const cfg = parseConfig({
      province: { code: '51' },
      carriers: [{ id: 'vnpt', name: 'VNPT' }, { id: 'viettel', name: 'Viettel' }],
      targets: [
        { id: 'gw', name: 'Gateway', kind: 'icmp' as const, host: 'gateway' },
        { id: 't0', name: 'T0', kind: 'icmp' as const, host: '127.0.0.1' },
        { id: 't1', name: 'T1', kind: 'icmp' as const, host: '127.0.0.1' },
        { id: 'web', name: 'Web', kind: 'http' as const, url: 'http://127.0.0.1/' },
      ],
      agents: [],
    });
    const province = loadProvince(cfg);
    const codes = province.communes.slice(0, 6).map((c) => c.code);
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    cfg.agents = codes.flatMap((c, ci) =>
      Array.from({ length: 1 + (ci % 4) }, (_, i) => ({
        id: `a-${c}-${i}`, commune: c, tokenHash: HASH,
        // every other site has a second uplink through another carrier
        uplinks: [{ name: 'wan1', carrier: 'vnpt', gateway: '127.0.0.1' }, ...(i % 2 ? [{ name: 'wan2', carrier: 'viettel', gateway: '127.0.0.2' }] : [])],
      })),
    );
    const dir = buildDirectory(cfg, province);
    let now = T0;
    const live = new LiveState(dir, TIMEOUT, () => now);
    const ref = new Reference(dir, TIMEOUT);
    // a screen: the snapshot, then every change as the hub sends it (a site-sized part, or the whole commune)
    const screen = new Map(live.all().map((c) => [c.code, c]));
    const dirty = new Map<string, Set<string> | null>();
    live.onChange((_codes, agents) => {
      for (const [c, a] of agents) {
        const prev = dirty.get(c);
        if (a === null || prev === null) dirty.set(c, null);
        else dirty.set(c, new Set([...(prev ?? []), ...a]));
      }
    });
    const flush = () => {
      for (const [c, agents] of dirty) {
        const part = agents ? live.communePart(c, agents) : live.commune(c);
        seen.add(agents ? 'part' : 'whole');
        const prev = screen.get(c)!;
        screen.set(c, part.only ? { ...part, targets: mergeSites(prev.targets, part.targets, part.only), sites: mergeSiteList(prev.sites ?? [], part.sites ?? [], part.only) } : part);
      }
      dirty.clear();
    };
    const noTs = (ts: TargetLive[]) => ts.map(({ lastTs: _, ...t }) => t).sort((a, b) => `${a.agent}${a.id}${a.uplink}`.localeCompare(`${b.agent}${b.id}${b.uplink}`));
    const bySite = <T extends { agent: string }>(xs: T[] | undefined) => [...(xs ?? [])].sort((a, b) => a.agent.localeCompare(b.agent));
    const result = (agent: string, target: string, uplink: string, ts: number, outage: boolean): ProbeResult => {
      const fail = outage || rnd() < 0.15;
      if (target === 'web') return { kind: 'http', target, ts, uplink, ok: !fail, status: fail ? null : 200, total_ms: fail ? null : Math.round(50 + rnd() * 2000) };
      return fail ? icmpLost(target, ts, uplink) : icmpOk(target, ts, Math.round(5 + rnd() * 300), uplink);
    };
    let compared = 0;
    const seen = new Set<string>();
    for (let step = 0; step < 300; step++) {
      now += 1000;
      // t0 goes down everywhere now and then (province-wide), a carrier's uplinks fail together now and then
      const t0Out = Math.floor(step / 30) % 3 === 1;
      const viettelOut = Math.floor(step / 45) % 4 === 2;
      for (const a of dir.agents.values()) {
        if (rnd() < 0.3) continue;
        const results: ProbeResult[] = [];
        for (const u of a.uplinks)
          for (const t of ['gw', 't0', 't1', 'web']) if (rnd() < 0.7) results.push(result(a.id, t, u.name, now, (t === 't0' && t0Out && rnd() < 0.9) || (u.carrier === 'viettel' && viettelOut)));
        live.apply(a.id, results);
        ref.apply(a.id, now, results);
      }
      if (step % 60 === 59) now += 25_000; // everyone silent for a while
      live.sweep();
      ref.sweep(now);
      if (step === 150) {
        // a site moves to another commune: its slots go and come back there with its next round
        const moved = cfg.agents.find((a) => a.commune === codes[3])!;
        dir.replace({ ...cfg, agents: cfg.agents.map((a) => (a === moved ? { ...a, commune: codes[0]! } : a)) });
        live.reconcile();
        ref.drop(moved.id);
      }
      // read some views between steps, so caches live across changes
      if (rnd() < 0.5) live.commune(codes[Math.floor(rnd() * codes.length)]!, rnd() < 0.5 ? 'viettel' : undefined);
      if (rnd() < 0.7) flush();
      if (step % 3 !== 0) continue;
      flush();
      expect([...live.serviceWideTargets()].sort()).toEqual([...ref.wide()].sort());
      if (ref.wide().size) seen.add('wide');
      for (const c of codes) {
        for (const carrier of [undefined, 'viettel', 'vnpt']) {
          const { lastSeen, ...got } = live.commune(c, carrier);
          expect(got, `${c} ${carrier ?? 'all'} step ${step}`).toEqual(ref.commune(c, carrier));
          expect(lastSeen).toBe(Math.max(0, ...dir.agentsOfCommune(c).map((a) => ref.seen.get(a) ?? 0)) || null);
        }
        const want = ref.commune(c);
        const { targets, sites, lastSeen: _, only: __, ...figures } = screen.get(c)!;
        const { targets: wantTargets, sites: wantSites, ...wantFigures } = want;
        expect(figures, `screen ${c} step ${step}`).toEqual(wantFigures);
        seen.add(want.status);
        expect(noTs(targets)).toEqual(noTs(wantTargets));
        expect(bySite(sites)).toEqual(bySite(wantSites));
        compared++;
      }
    }
    expect(compared).toBe(100 * codes.length);
    // the walk went through what it is meant to: a province-wide failure, red and grey communes, site-sized deltas
    expect(seen.has('wide') && seen.has('down') && seen.has('unknown') && seen.has('part') && seen.has('whole')).toBe(true);
  });

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
