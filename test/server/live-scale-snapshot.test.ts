// Attribution's input at fleet scale: the snapshot builder keeps an unchanged slot's (and agent's) snapshot from the
// previous build, and the attribution worker is sent only what changed. Both must give exactly what a build from
// scratch gives, after any mix of results, silence and directory changes.
import { afterEach, describe, expect, it } from 'vitest';
import { loadProvince, parseConfig } from '../../config/load.ts';
import type { CommuneLive } from '../../config/wire.ts';
import { buildDirectory } from '../../server/directory.ts';
import { SnapshotBuilder } from '../../server/incidents/snapshot.ts';
import { attribute, DEFAULT_ATTRIBUTION } from '../../server/state/attribution.ts';
import { AttributionThread, diffList, nothingSent, patchList } from '../../server/state/attribution-thread.ts';
import { LiveState } from '../../server/state/live-state.ts';
import { icmpLost, icmpOk } from '../helpers/agent-client.ts';

const HASH = 'scrypt$1024$8$1$c2FsdA==$aGFzaA==';
const T0 = Date.UTC(2026, 5, 1);
const TIMEOUT = 20_000;

function world(agentsPerCommune: number, communeCount: number, targets = 4) {
  const cfg = parseConfig({
    province: { code: '51' },
    carriers: [{ id: 'vnpt', name: 'VNPT' }, { id: 'viettel', name: 'Viettel' }],
    targets: Array.from({ length: targets }, (_, k) => ({ id: `t${k}`, name: `T${k}`, kind: 'icmp' as const, host: k === 0 ? 'gateway' : '127.0.0.1' })),
    agents: [],
  });
  const province = loadProvince(cfg);
  const codes = province.communes.slice(0, communeCount).map((c) => c.code);
  cfg.agents = codes.flatMap((c, j) =>
    Array.from({ length: agentsPerCommune }, (_, i) => ({ id: `a-${c}-${i}`, commune: c, tokenHash: HASH, uplinks: [{ name: 'wan1', carrier: j % 2 ? 'viettel' : 'vnpt', gateway: '127.0.0.1' }] })),
  );
  const dir = buildDirectory(cfg, province);
  let t = T0;
  const live = new LiveState(dir, TIMEOUT, () => t);
  return { cfg, dir, live, codes, clock: { get: () => t, set: (x: number) => (t = x) } };
}

/** a small deterministic generator, so a failure replays */
function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

let thread: AttributionThread | null = null;
afterEach(async () => {
  await thread?.close();
  thread = null;
});

describe('attribution input kept across builds', () => {
  it('reused snapshots equal freshly built ones, and the worker fed diffs finds what attribute() finds', async () => {
    const w = world(6, 10);
    const opts = { agentTimeoutMs: TIMEOUT, startedAt: T0 };
    const kept = new SnapshotBuilder(w.dir, w.live, opts);
    // the server's large-fleet path: the same pass in slices of about 17 slots, the event loop turning between them
    const sliced = new SnapshotBuilder(w.dir, w.live, opts);
    // the same builder fed copies of the live view: no object is ever seen twice, so every snapshot is built anew
    const fresh = new SnapshotBuilder(w.dir, { all: () => structuredClone(w.live.all()) as CommuneLive[], lastSeen: (id) => w.live.lastSeen(id) }, opts);
    thread = new AttributionThread(0);
    const rand = rng(7);
    const agentIds = () => [...w.dir.agents.keys()];
    let reused = 0;
    let findings = 0;
    let prevSlots: readonly object[] = [];
    for (let step = 0; step < 40; step++) {
      const now = T0 + step * 2000;
      w.clock.set(now);
      // a few sites report (some failing), the rest stay as they were
      for (const id of agentIds()) {
        if (rand() > 0.15) continue;
        const failing = rand() < 0.3;
        w.live.apply(id, ['t0', 't1', 't2', 't3'].map((t) => (failing && t !== 't0' ? icmpLost(t, now) : icmpOk(t, now, 10 + Math.floor(rand() * 3) * 200))));
      }
      if (step % 9 === 4) w.live.sweep();
      if (step === 20) {
        // an agent moves and another one is revoked: the directory changes
        const [a, b] = w.cfg.agents;
        w.dir.replace({ ...w.cfg, agents: w.cfg.agents.filter((x) => x !== b).map((x) => (x === a ? { ...x, commune: w.codes[3]! } : x)) });
        w.live.reconcile();
      }
      const got = kept.build(now);
      const want = fresh.build(now);
      const slices = await sliced.buildSliced(now, 17);
      expect(slices.agents).toEqual(want.agents);
      expect(slices.slots).toEqual(want.slots);
      expect(got.agents).toEqual(want.agents);
      expect(got.slots).toEqual(want.slots);
      expect(got.baselineTargets).toEqual(want.baselineTargets);
      reused += got.slots.filter((s, i) => prevSlots[i] === s).length;
      prevSlots = got.slots;
      const off = thread.run(got, DEFAULT_ATTRIBUTION);
      expect(off).not.toBeNull();
      const found = await off!;
      expect(found).toEqual(attribute(want, DEFAULT_ATTRIBUTION));
      findings += found.length;
    }
    // most slots are unchanged from one build to the next: the point of keeping them
    expect(findings).toBeGreaterThan(0);
    expect(reused).toBeGreaterThan(40 * 6 * 10 * 4 * 0.3);
  });

  it('a sliced pass lets other work run between its slices, and reads each commune once', async () => {
    const w = world(6, 10);
    for (const id of w.dir.agents.keys()) w.live.apply(id, ['t0', 't1', 't2', 't3'].map((t) => icmpOk(t, T0)));
    const reads: string[] = [];
    const live = { all: () => w.live.all(), lastSeen: (id: string) => w.live.lastSeen(id), commune: (code: string) => (reads.push(code), w.live.commune(code)) };
    const b = new SnapshotBuilder(w.dir, live, { agentTimeoutMs: TIMEOUT, startedAt: T0 });
    // other work queued the way I/O callbacks are: one turn per loop iteration
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    // 10 communes x 6 sites x 4 targets = 240 slots; slices of 48 slots (two communes): 4 yields
    const ticks: number[] = [];
    const done = b.buildSliced(T0, 48).then((r) => (ticks.push(turns), r));
    const input = await done;
    ticking = false;
    expect(input.slots).toHaveLength(240);
    expect(reads).toEqual([...w.dir.communes.keys()]);
    // setImmediate between slices: timers and I/O callbacks run in between
    expect(ticks[0]).toBeGreaterThanOrEqual(4);
    // all at once: no turn of the loop
    const before = turns;
    b.build(T0);
    expect(turns).toBe(before);
  });

  it("an agent's planned target ids follow its config and the targets across directory changes, as its plan does", () => {
    const w = world(2, 3);
    const planned = (id: string) => [...(w.dir.plannedTargets(id) ?? [])].sort();
    const fromPlan = (id: string) => [...new Set(w.dir.planFor(id, 0, 1)?.targets.map((t) => t.id))].sort();
    const [a, b] = w.cfg.agents;
    expect(planned(a!.id)).toEqual(fromPlan(a!.id));
    // an enrolment-like change: same targets and defaults objects, one agent's own target list narrowed
    w.dir.replace({ ...w.cfg, agents: w.cfg.agents.map((x) => (x === a ? { ...x, targets: ['t1', 't2'] } : x)) });
    expect(planned(a!.id)).toEqual(['t1', 't2']);
    expect(planned(b!.id)).toEqual(fromPlan(b!.id));
    // the targets themselves change: every agent planned again
    w.dir.replace({ ...w.cfg, targets: w.cfg.targets.filter((t) => t.id !== 't3') });
    expect(planned(b!.id)).toEqual(['t0', 't1', 't2']);
    expect(planned(b!.id)).toEqual(fromPlan(b!.id));
    expect(w.dir.plannedTargets('nobody')).toBeUndefined();
  });

  it('a diff copies runs of the same frozen objects, sends the rest, and patching it rebuilds the list', () => {
    const [a, b, c, d] = [Object.freeze({ v: 1 }), Object.freeze({ v: 2 }), Object.freeze({ v: 3 }), Object.freeze({ v: 4 })];
    const mutable = { v: 5 };
    const first = diffList(nothingSent<object>(), [a, b, mutable]);
    expect(first.diff).toEqual([a, b, mutable]);
    // c inserted, a dropped, the rest shifted: copies from the old positions; the unfrozen object goes again
    // even though it is the same object (it may have changed in place)
    const next = [b, c, mutable, d, b];
    const second = diffList(first.sent, next);
    expect(second.diff).toEqual([[1, 1], c, mutable, d, [1, 1]]);
    expect(patchList([a, b, mutable], second.diff)).toEqual(next);
    const third = diffList(second.sent, [b, c, a]);
    // the same object at the same position is found without a look-up: b and c stand where they stood
    expect(third.diff).toEqual([[0, 2], a]);
    expect(patchList(next, third.diff)).toEqual([b, c, a]);
    expect(patchList(next, diffList(second.sent, next).diff)).toEqual(next);
    expect(diffList(second.sent, [c, b]).diff).toEqual([[1, 1], [4, 1]]);
    // replaced where they stood: found by position, the rest copied
    const e = Object.freeze({ v: 6 });
    expect(diffList(second.sent, [b, e, mutable, d, b]).diff).toEqual([[0, 1], e, mutable, [3, 2]]);
    expect(diffList(second.sent, [e, e, mutable, e, b]).diff).toEqual([e, e, mutable, e, [4, 1]]);
    expect(diffList(second.sent, [b, c, mutable, d]).diff).toEqual([[0, 2], mutable, [3, 1]]);
  });

  it('long runs of entries replaced where they stood are found by position, without indexing the old list', () => {
    const list = Array.from({ length: 10_000 }, (_, v) => Object.freeze({ v }));
    const sent = diffList(nothingSent<object>(), list).sent;
    // 70 sites' slots in a row (700 entries) and 100 more further on: sites reporting in the same pass
    const next = list.map((o, i) => ((i >= 2000 && i < 2700) || (i >= 5000 && i < 5100) ? Object.freeze({ v: -i }) : o));
    const { diff } = diffList(sent, next);
    expect(sent.at).toBeNull();
    expect(diff.filter((x) => !Array.isArray(x))).toHaveLength(800);
    expect(diff.filter((x) => Array.isArray(x))).toEqual([[0, 2000], [2700, 2300], [5100, 4900]]);
    expect(patchList(list, diff)).toEqual(next);
  });

  it('any insertions, removals, replacements and moves patch back to the same list', () => {
    const rand = rng(11);
    let list: object[] = Array.from({ length: 300 }, (_, v) => Object.freeze({ v }));
    let sent = diffList(nothingSent<object>(), list).sent;
    let worker = [...list];
    let v = 1000;
    for (let round = 0; round < 200; round++) {
      const next = [...list];
      for (let n = Math.floor(rand() * 6); n > 0; n--) {
        const at = Math.floor(rand() * next.length);
        const len = 1 + Math.floor(rand() * 12);
        const op = rand();
        const fresh = () => (rand() < 0.9 ? Object.freeze({ v: v++ }) : { v: v++ });
        if (op < 0.3) next.splice(at, len, ...Array.from({ length: len }, fresh));
        else if (op < 0.5) next.splice(at, 0, ...Array.from({ length: len }, fresh));
        else if (op < 0.7) next.splice(at, len);
        else next.splice(Math.floor(rand() * next.length), 0, ...next.splice(at, len));
      }
      const d = diffList(sent, next);
      worker = patchList(worker, d.diff);
      expect(worker).toEqual(next);
      // copies are the very objects, not look-alikes
      expect(worker.every((o, i) => o === next[i] || !Object.isFrozen(next[i]))).toBe(true);
      sent = d.sent;
      list = next;
    }
  });
});
