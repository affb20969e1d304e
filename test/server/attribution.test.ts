// Attribution table tests: a synthetic province (20 communes on 4 carriers, one agent each unless said otherwise),
// faults applied to it, and the causes attribution names.
import { describe, expect, it } from 'vitest';
import { attribute, attributionThresholds, DEFAULT_ATTRIBUTION, type CauseFinding } from '../../server/state/attribution.ts';
import { isProvinceWide, provinceWideRule, serviceWideFailures } from '../../server/state/province-wide.ts';
import type { Status } from '../../config/vocabulary.ts';
import { CARRIER_OF, code, province, World, WORLD_NOW } from '../helpers/attribution-world.ts';

const NOW = WORLD_NOW;
const ag = (i: number) => `ag-${code(i)}`;

const brief = (cs: CauseFinding[]) => cs.map((c) => ({ key: c.key, communes: c.communes, severity: c.severity, hard: c.hard }));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);

interface Case {
  name: string;
  world: () => World;
  expect: { key: string; communes: string[]; severity: 'down' | 'degraded'; hard: boolean }[];
}

const cases: Case[] = [
  { name: 'everything fine: no cause', world: province, expect: [] },
  {
    name: 'one commune cut (3 failed rounds): one local link, down',
    world: () => province().cut(ag(3)),
    expect: [{ key: `local_link:${code(3)}`, communes: [code(3)], severity: 'down', hard: true }],
  },
  {
    name: 'one commune cut, first failed round: local link, hard but not yet down',
    world: () => province().cut(ag(3), 'degraded'),
    expect: [{ key: `local_link:${code(3)}`, communes: [code(3)], severity: 'degraded', hard: true }],
  },
  {
    name: 'a portal down everywhere: one service cause listing every commune, no local link',
    world: () => {
      const w = province();
      for (let i = 1; i <= 20; i++) w.set(ag(i), 'portal', 'down');
      return w;
    },
    expect: [{ key: 'service:portal', communes: range(1, 20).map(code), severity: 'down', hard: true }],
  },
  {
    name: 'a portal down for 14 of 20 (70 %) across carriers: service',
    world: () => {
      const w = province();
      for (const i of [1, 2, 3, 4, 9, 10, 11, 12, 15, 16, 17, 19, 20, 5]) w.set(ag(i), 'portal', 'down');
      return w;
    },
    expect: [{ key: 'service:portal', communes: [1, 2, 3, 4, 5, 9, 10, 11, 12, 15, 16, 17, 19, 20].map(code), severity: 'down', hard: true }],
  },
  {
    name: 'a portal down for 10 of 20 (50 %) across carriers: below the service share, no cause (the map shows them)',
    world: () => {
      const w = province();
      for (const i of [1, 2, 3, 9, 10, 11, 15, 16, 19, 20]) w.set(ag(i), 'portal', 'down');
      return w;
    },
    expect: [],
  },
  {
    name: 'portal down everywhere and one commune cut: the service plus that commune, nothing else',
    world: () => {
      const w = province();
      for (let i = 1; i <= 20; i++) w.set(ag(i), 'portal', 'down');
      return w.cut(ag(12));
    },
    expect: [
      { key: 'service:portal', communes: range(1, 20).filter((i) => i !== 12).map(code), severity: 'down', hard: true },
      { key: `local_link:${code(12)}`, communes: [code(12)], severity: 'down', hard: true },
    ],
  },
  {
    name: "one carrier's communes all down while the others are fine: one carrier cause",
    world: () => {
      const w = province();
      for (const i of range(1, 8)) w.cut(ag(i));
      return w;
    },
    expect: [{ key: 'carrier:vnpt', communes: range(1, 8).map(code), severity: 'down', hard: true }],
  },
  {
    name: "5 of 8 (62 %) of one carrier's communes down: carrier",
    world: () => {
      const w = province();
      for (const i of [1, 2, 4, 6, 8]) w.cut(ag(i));
      return w;
    },
    expect: [{ key: 'carrier:vnpt', communes: [1, 2, 4, 6, 8].map(code), severity: 'down', hard: true }],
  },
  {
    name: "3 of 8 (37 %) of one carrier's communes down: three local links, no carrier",
    world: () => province().cut(ag(1)).cut(ag(2)).cut(ag(5)),
    expect: [1, 2, 5].map((i) => ({ key: `local_link:${code(i)}`, communes: [code(i)], severity: 'down' as const, hard: true })),
  },
  {
    name: 'mixed: a carrier outage and an unrelated cut on another carrier',
    world: () => {
      const w = province();
      for (const i of range(9, 14)) w.cut(ag(i));
      return w.cut(ag(2));
    },
    expect: [
      { key: 'carrier:viettel', communes: range(9, 14).map(code), severity: 'down', hard: true },
      { key: `local_link:${code(2)}`, communes: [code(2)], severity: 'down', hard: true },
    ],
  },
  {
    name: "one carrier's agents all silent while the others report: carrier",
    world: () => {
      const w = province();
      for (const i of range(15, 18)) w.silence(ag(i));
      return w;
    },
    expect: [{ key: 'carrier:mobifone', communes: range(15, 18).map(code), severity: 'down', hard: true }],
  },
  {
    name: 'an agent silent with no other evidence: agent, grey (degraded), not a local link',
    world: () => province().silence(ag(7)),
    expect: [{ key: `agent:${code(7)}`, communes: [code(7)], severity: 'degraded', hard: true }],
  },
  {
    name: 'an agent that fell silent right after its link failed: local link, down',
    world: () => province().cut(ag(7), 'degraded').silence(ag(7)),
    expect: [{ key: `local_link:${code(7)}`, communes: [code(7)], severity: 'down', hard: true }],
  },
  {
    name: 'a gateway not answering while everything beyond it works: soft (check the gateway), never hard',
    world: () => province().set(ag(4), 'gw', 'down'),
    expect: [{ key: `local_link:${code(4)}`, communes: [code(4)], severity: 'degraded', hard: false }],
  },
  {
    name: 'the gateway answers but every target beyond it fails: the uplink beyond the LAN router is down',
    world: () => province().set(ag(4), 'dc', 'down').set(ag(4), 'portal', 'down').set(ag(4), 'ioffice', 'down'),
    expect: [{ key: `local_link:${code(4)}`, communes: [code(4)], severity: 'down', hard: true }],
  },
  {
    name: 'a lossy gateway (30 %): soft local link (the engine opens it only if sustained)',
    world: () => province().set(ag(10), 'gw', 'degraded', 30),
    expect: [{ key: `local_link:${code(10)}`, communes: [code(10)], severity: 'degraded', hard: false }],
  },
  {
    name: 'a link losing 90 % (one reply in ten, web pages time out): hard, though not yet down',
    world: () => province().set(ag(10), 'gw', 'degraded', 90).set(ag(10), 'dc', 'degraded', 90).set(ag(10), 'portal', 'degraded').set(ag(10), 'ioffice', 'degraded'),
    expect: [{ key: `local_link:${code(10)}`, communes: [code(10)], severity: 'degraded', hard: true }],
  },
  {
    name: 'a portal slow everywhere (answers, past its threshold): a soft service cause',
    world: () => {
      const w = province();
      for (let i = 1; i <= 20; i++) w.set(ag(i), 'portal', 'degraded', 0);
      return w;
    },
    expect: [{ key: 'service:portal', communes: range(1, 20).map(code), severity: 'degraded', hard: false }],
  },
  {
    name: "one carrier's route to a portal broken (only its agents fail it): carrier, not service",
    world: () => {
      const w = province();
      for (const i of range(1, 8)) w.set(ag(i), 'portal', 'down');
      return w;
    },
    expect: [{ key: 'carrier:vnpt', communes: range(1, 8).map(code), severity: 'down', hard: true }],
  },
];

describe('attribution', () => {
  it.each(cases)('$name', (c) => {
    expect(brief(attribute(c.world().input()))).toEqual(c.expect);
  });

  it('two uplinks, one fails: a degraded local link on that uplink, naming its carrier', () => {
    const w = province().add('ag-dual', '20021', ['vnpt', 'viettel']).set('ag-dual', 'gw', 'down', 100, 'wan1');
    const got = attribute(w.input());
    expect(brief(got)).toEqual([{ key: 'local_link:20021', communes: ['20021'], severity: 'degraded', hard: true }]);
    expect(got[0]!.carrier).toBe('vnpt');
    expect(got[0]!.evidence.figures.uplink).toBe('wan1');
    expect(got[0]!.evidence.figures.pathsOk).toBeGreaterThan(0);
  });

  it('two uplinks, both fail: down', () => {
    const w = province().add('ag-dual', '20021', ['vnpt', 'viettel']).cut('ag-dual');
    expect(brief(attribute(w.input()))).toEqual([{ key: 'local_link:20021', communes: ['20021'], severity: 'down', hard: true }]);
  });

  it('a dual-uplink agent falling silent is the agent (both links failing at once is unlikely)', () => {
    const w = province().add('ag-dual', '20021', ['vnpt', 'viettel']).silence('ag-dual');
    const got = attribute(w.input());
    expect(brief(got)).toEqual([{ key: 'agent:20021', communes: ['20021'], severity: 'degraded', hard: true }]);
    expect(got[0]!.evidence.figures.evidence).toBe('multi-uplink');
  });

  it('two agents in a commune: one silent while the other reports the link fine -> agent', () => {
    const w = province().add('ag-b', code(5), ['vnpt']).silence(ag(5));
    const got = attribute(w.input());
    expect(brief(got)).toEqual([{ key: `agent:${code(5)}`, communes: [code(5)], severity: 'degraded', hard: true }]);
    expect(got[0]!.evidence.figures.evidence).toBe('sibling-ok');
  });

  it('two agents in a commune: one silent while the other reports the link down -> local link', () => {
    const w = province().add('ag-b', code(5), ['vnpt']).cut('ag-b').silence(ag(5));
    const got = attribute(w.input());
    expect(brief(got)).toEqual([{ key: `local_link:${code(5)}`, communes: [code(5)], severity: 'down', hard: true }]);
    expect(got[0]!.evidence.figures.silentAgents).toBe(ag(5));
  });

  it('two portals down everywhere on agents probing only the gateway and those portals: two services, no local links', () => {
    const w = new World();
    for (let i = 1; i <= 10; i++) w.add(ag(i), code(i), [CARRIER_OF(i)], [['portal', 'http'], ['ioffice', 'http']]);
    for (let i = 1; i <= 10; i++) w.set(ag(i), 'portal', 'down').set(ag(i), 'ioffice', 'down');
    expect(attribute(w.input()).map((c) => c.key)).toEqual(['service:ioffice', 'service:portal']);
  });

  it('a service needs at least serviceMinAgents agents', () => {
    const w = new World().add('a1', '20001').add('a2', '20002', ['viettel']);
    w.set('a1', 'portal', 'down').set('a2', 'portal', 'down');
    expect(attribute(w.input())).toEqual([]);
    w.add('a3', '20003', ['fpt']).set('a3', 'portal', 'down');
    expect(attribute(w.input()).map((c) => c.key)).toEqual(['service:portal']);
  });

  it('a carrier needs carrierMinCommunes communes: 2 of 2 FPT communes down are two local links with peers', () => {
    const got = attribute(province().cut(ag(19)).cut(ag(20)).input());
    expect(got.map((c) => [c.key, c.peers])).toEqual([
      [`local_link:${code(19)}`, 1],
      [`local_link:${code(20)}`, 1],
    ]);
  });

  it('the whole province failing is no carrier (others are not fine)', () => {
    const w = province();
    for (let i = 1; i <= 20; i++) w.cut(ag(i));
    expect(attribute(w.input()).every((c) => c.cause === 'local_link')).toBe(true);
  });

  it('thresholds are honoured: carrierShare 0.3 makes 3 of 8 a carrier', () => {
    const w = province().cut(ag(1)).cut(ag(2)).cut(ag(5));
    expect(attribute(w.input(), { ...DEFAULT_ATTRIBUTION, carrierShare: 0.3 }).map((c) => c.key)).toEqual(['carrier:vnpt']);
  });

  it('many agents silent together across carriers: one grouped agent cause, not one per commune', () => {
    const w = province();
    for (const i of [1, 9, 10, 15, 19, 20]) w.silence(ag(i), NOW - 30_000 - i * 1000);
    const got = attribute(w.input());
    expect(brief(got)).toEqual([{ key: 'agent:*', communes: [1, 9, 10, 15, 19, 20].map(code), severity: 'degraded', hard: true }]);
    expect(got[0]!.evidence.figures.agentsSilent).toBe(6);
  });

  it('silences far apart in time are not grouped', () => {
    const w = province();
    for (const [n, i] of [1, 9, 10, 15, 19, 20].entries()) w.silence(ag(i), NOW - 30_000 - n * 600_000);
    expect(attribute(w.input()).map((c) => c.key)).toEqual([1, 9, 10, 15, 19, 20].map((i) => `agent:${code(i)}`));
  });

  // Attribution sees each snapshot alone: noise makes soft causes come and go (a lossy round on a gateway, now and
  // then enough of one carrier's at once); the engine's sustain rule is what keeps them from opening incidents.
  it('5 % random loss on every link: only soft causes, never a hard one', () => {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    let soft = 0;
    for (let round = 0; round < 200; round++) {
      const w = province();
      for (let i = 1; i <= 20; i++)
        for (const t of ['gw', 'dc']) {
          // 10 echoes, each lost with p = 0.05; status.ts: degraded when loss >= 10 %
          let lost = 0;
          for (let e = 0; e < 10; e++) if (rnd() < 0.05) lost++;
          if (lost > 0) w.set(ag(i), t, 'degraded', lost * 10);
        }
      for (const c of attribute(w.input())) {
        expect(c.hard).toBe(false);
        soft++;
      }
    }
    expect(soft).toBeGreaterThan(50); // the noise is really there (rounds losing 2+ echoes of 10)
  });

  it('is deterministic: shuffled input gives the same output', () => {
    const w = province().cut(ag(2)).set(ag(10), 'gw', 'degraded', 20).add('ag-x', code(11), ['viettel']).silence(ag(11));
    for (const i of range(15, 18)) w.cut(ag(i));
    for (let i = 1; i <= 20; i++) w.set(ag(i), 'ioffice', 'down');
    w.set('ag-x', 'ioffice', 'down');
    const a = attribute(w.input());
    const shuffled = { ...w.input(), agents: [...w.agents].reverse(), slots: [...w.slots].reverse() };
    expect(attribute(shuffled)).toEqual(a);
    expect(a.map((c) => c.key)).toEqual(['carrier:mobifone', 'service:ioffice', `local_link:${code(2)}`, `local_link:${code(10)}`, `agent:${code(11)}`]);
  });

  it('evidence carries the figures that triggered it', () => {
    const w = province();
    for (const i of range(1, 8)) w.cut(ag(i));
    const [c] = attribute(w.input());
    expect(c!.evidence.figures).toMatchObject({ carrier: 'vnpt', communesFailing: 8, carrierCommunes: 8, share: 100, otherCarriersShare: 0 });
    expect(c!.evidence.items).toContainEqual(expect.objectContaining({ code: 'carrier_share', carrier: 'vnpt', failing: 8, of: 8 }));
    const [l] = attribute(province().cut(ag(3)).input());
    expect(l!.evidence.figures).toMatchObject({ agent: ag(3), uplink: 'wan1', carrier: 'vnpt', lossPct: 100, reason: 'loss 100%' });
  });
});

describe('province-wide rule (live map and service incidents)', () => {
  it.each([
    // failing communes, reporting communes, province-wide
    [0, 0, false],
    [2, 2, false], // two unlucky communes are never province-wide
    [3, 3, true],
    [3, 5, true], // 60 %
    [3, 6, false], // 50 %
    [4, 5, true],
    [5, 10, false],
    [6, 10, true],
  ] as const)('%i of %i communes failing -> %s', (failing, reporting, wide) => {
    expect(isProvinceWide(failing, reporting)).toBe(wide);
  });

  it('config: serviceShare and serviceMinCommunes; the old serviceMinAgents still read', () => {
    expect(provinceWideRule(undefined)).toEqual({ share: 0.6, minCommunes: 3 });
    expect(provinceWideRule({ serviceShare: 0.5, serviceMinCommunes: 4 })).toEqual({ share: 0.5, minCommunes: 4 });
    expect(provinceWideRule({ serviceMinAgents: 5 })).toEqual({ share: 0.6, minCommunes: 5 });
    expect(provinceWideRule({ serviceMinAgents: 5, serviceMinCommunes: 2 })).toEqual({ share: 0.6, minCommunes: 2 });
    expect(attributionThresholds({ serviceMinAgents: 5 }).serviceMinCommunes).toBe(5);
    expect(attributionThresholds({ serviceShare: 0.7 })).toMatchObject({ serviceShare: 0.7, serviceMinCommunes: 3 });
  });

  it('the map counts one status per commune: unknown is not reporting', () => {
    const per = new Map<string, Status[]>([
      ['portal', ['down', 'degraded', 'down', 'unknown', 'unknown']],
      ['ioffice', ['down', 'down', 'up', 'up', 'up']],
    ]);
    expect([...serviceWideFailures(per)]).toEqual(['portal']);
    expect([...serviceWideFailures(per, { share: 0.4, minCommunes: 2 })].sort()).toEqual(['ioffice', 'portal']);
  });

  it('attribution counts communes, not agents: two communes with two agents each are not a service', () => {
    const w = new World().add('a1', '20001').add('a1b', '20001', ['viettel']).add('a2', '20002', ['viettel']).add('a2b', '20002', ['fpt']);
    for (const a of ['a1', 'a1b', 'a2', 'a2b']) w.set(a, 'portal', 'down');
    expect(attribute(w.input())).toEqual([]);
    w.add('a3', '20003', ['fpt']).set('a3', 'portal', 'down');
    const [svc] = attribute(w.input());
    expect(svc!.key).toBe('service:portal');
    expect(svc!.evidence.items).toEqual([{ code: 'service_share', target: 'portal', failing: 3, of: 3, reason: { code: 'no_reply' } }]);
    expect(svc!.evidence.figures).toMatchObject({ communesFailing: 3, communesReporting: 3, agentsFailing: 5 });
  });
});

describe('evidence as data', () => {
  it('a local link names its path and the reason; a silent agent its kind of silence', () => {
    const [l] = attribute(province().cut(ag(3)).input());
    expect(l!.evidence.items).toEqual([{ code: 'gateway_failing', uplink: 'wan1', carrier: 'vnpt', hard: true, reason: { code: 'no_reply' } }]);
    const [a] = attribute(province().silence(ag(4)).input());
    expect(a!.evidence.items).toEqual([{ code: 'agent_silent', agents: [ag(4)], silentSec: 25, siblingOk: false }]);
  });
});

// The agent confirms a changed outcome with rounds a few seconds apart, and communes probe at different moments: a
// portal's failed round before the status machine says `down`, and causes whose other communes have not probed yet.
describe('confirmation rounds and causes still growing', () => {
  /** a portal answering 503 in its `n`th failed round, not yet `down`: no loss figure, a streak (status.ts) */
  const portal503 = (w: World, i: number, n = 1) => {
    w.set(ag(i), 'portal', 'degraded', null);
    for (const s of w.slots) if (s.agent === ag(i) && s.target === 'portal') s.reason = { code: 'http_status', status: 503, streak: { n, of: 3 } };
    return w;
  };

  it.each([
    ['a failed round awaiting its confirmation (a streak) is hard, like an ICMP round with no reply', true],
    ['a slow answer (no streak) stays soft', false],
  ])('%s', (_name, failed) => {
    const w = province();
    for (let i = 1; i <= 20; i++) {
      if (failed) portal503(w, i);
      else w.set(ag(i), 'portal', 'degraded', null);
    }
    expect(brief(attribute(w.input()))).toEqual([{ key: 'service:portal', communes: range(1, 20).map(code), severity: 'degraded', hard: failed }]);
  });

  it.each([
    ['a service failing in every reporting commune is complete', range(1, 20), 'service:portal', false],
    ['a service failing in 14 of 20 may still grow (the others may not have probed since)', [1, 2, 3, 4, 5, 9, 10, 11, 12, 15, 16, 17, 19, 20], 'service:portal', true],
    ["one carrier's route failing while the others reach the target may still become a service", range(1, 8), 'carrier:vnpt', true],
  ])('%s', (_name, failing, key, growing) => {
    const w = province();
    for (const i of failing) portal503(w, i);
    const [f, ...rest] = attribute(w.input());
    expect(rest).toEqual([]);
    expect(f!.key).toBe(key);
    expect(f!.hard).toBe(true);
    expect(f!.growing === true).toBe(growing);
  });

  it('a cut seen on the gateway and the DC while the portals still show answers from before it: a hard local link', () => {
    // the portals are probed every 60 s and a round on a dead link lasts its timeout: their answers are stale
    const w = province().set(ag(6), 'gw', 'degraded').set(ag(6), 'dc', 'degraded');
    expect(brief(attribute(w.input()))).toEqual([{ key: `local_link:${code(6)}`, communes: [code(6)], severity: 'degraded', hard: true }]);
    // the gateway alone failing while everything beyond answers stays soft (the existing case above)
    expect(brief(attribute(province().set(ag(6), 'gw', 'down').input()))).toEqual([{ key: `local_link:${code(6)}`, communes: [code(6)], severity: 'degraded', hard: false }]);
  });

  it("a carrier's links failing is complete: it waits for nothing", () => {
    const w = province();
    for (const i of range(1, 8)) w.cut(ag(i), 'degraded');
    const [f] = attribute(w.input());
    expect(f!.key).toBe('carrier:vnpt');
    expect(f!.growing).toBeUndefined();
  });
});
