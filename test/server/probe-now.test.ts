// "Probe now": a service failing after a good round at one site asks the other sites measuring it to confirm at once
// (instead of every site sending the portal a HEAD every 10 s). The decision as a table, then through the real
// server with test agents: who is asked, who is not, the gap per target, link targets never.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../config/wire.ts';
import { plansRemembered, probeNowStats } from '../../server/ingest/agent-ws.ts';
import { ProbeNow, type ProbeNowRound } from '../../server/ingest/probe-now.ts';
import { connectAgent, icmpLost, icmpOk, type TestAgentClient } from '../helpers/agent-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ProbeNow.decide', () => {
  const round = (o: Partial<ProbeNowRound>): ProbeNowRound => ({ agent: 'a', target: 'portal', uplink: 'wan1', failed: false, service: true, ...o });
  const cases: { name: string; rounds: [number, Partial<ProbeNowRound>][]; asked: string[][] }[] = [
    { name: 'a failed round after a good one asks', rounds: [[0, {}], [1, { failed: true }]], asked: [[], ['portal']] },
    { name: 'the first round seen of a slot is no change', rounds: [[0, { failed: true }]], asked: [[]] },
    { name: 'a failure after a failure is no change', rounds: [[0, {}], [1, { failed: true }], [2, { failed: true }]], asked: [[], ['portal'], []] },
    { name: 'a link target never asks', rounds: [[0, { service: false }], [1, { service: false, failed: true }]], asked: [[], []] },
    {
      name: 'a second failure of the target within the gap (another site, or the same after a recovery) asks nothing',
      rounds: [[0, {}], [0, { agent: 'b' }], [1, { failed: true }], [30, { agent: 'b', failed: true }], [40, {}], [50, { failed: true }]],
      asked: [[], [], ['portal'], [], [], []],
    },
    { name: 'after the gap it asks again', rounds: [[0, {}], [1, { failed: true }], [30, {}], [61, { failed: true }]], asked: [[], ['portal'], [], ['portal']] },
    { name: 'slots are per uplink', rounds: [[0, { uplink: 'wan2' }], [1, { failed: true }]], asked: [[], []] },
    {
      name: 'a site whose own link fails (a cut) asks nothing; once its link answers again it does',
      rounds: [[0, {}], [0, { target: 'gw', service: false, link: true }], [5, { target: 'gw', service: false, link: true, failed: true }], [10, { failed: true }], [20, { target: 'gw', service: false, link: true }], [30, {}], [40, { failed: true }]],
      asked: [[], [], [], [], [], [], ['portal']],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const p = new ProbeNow(() => 60_000);
      expect(c.rounds.map(([at, r]) => p.decide([round(r)], at * 1000))).toEqual(c.asked);
    });
  it('one request per target per batch, several targets at once', () => {
    const p = new ProbeNow(() => 60_000);
    p.decide([round({}), round({ uplink: 'wan2' }), round({ target: 'dns' })], 0);
    expect(p.decide([round({ failed: true }), round({ uplink: 'wan2', failed: true }), round({ target: 'dns', failed: true })], 1000)).toEqual(['portal', 'dns']);
    expect(p.counts).toEqual({ requested: 2, withinGap: 0, linkDown: 0 });
  });
});

describe('ProbeNow.forget', () => {
  const round = (o: Partial<ProbeNowRound>): ProbeNowRound => ({ agent: 'a', target: 'portal', uplink: 'wan1', failed: false, service: true, ...o });
  const gw = (o: Partial<ProbeNowRound>) => round({ target: 'gw', service: false, link: true, ...o });
  // rounds before the forget, the site forgotten, rounds after; what the rounds after ask and who is remembered
  const cases: { name: string; before: Partial<ProbeNowRound>[]; forget: string; after: Partial<ProbeNowRound>[]; asked: string[][]; remembered: string[] }[] = [
    { name: "a site's good round is forgotten: its next failure is a first round, no news", before: [{}], forget: 'a', after: [{ failed: true }], asked: [[]], remembered: ['a'] },
    { name: 'a site whose link was failing leaves nothing', before: [gw({ failed: true })], forget: 'a', after: [], asked: [], remembered: [] },
    { name: 'a cut site forgotten and back: its link memory does not silence it', before: [{}, gw({ failed: true })], forget: 'a', after: [{}, { failed: true }], asked: [[], ['portal']], remembered: ['a'] },
    { name: 'the other sites keep theirs', before: [{}, { agent: 'b' }], forget: 'a', after: [{ agent: 'b', failed: true }], asked: [['portal']], remembered: ['b'] },
    { name: 'a site never seen: nothing changes', before: [{ agent: 'b' }], forget: 'a', after: [], asked: [], remembered: ['b'] },
  ];
  for (const c of cases)
    it(c.name, () => {
      const p = new ProbeNow(() => 60_000);
      for (const r of c.before) p.decide([round(r)], 0);
      p.forget(c.forget);
      expect(c.after.map((r) => p.decide([round(r)], 1000))).toEqual(c.asked);
      expect(p.agents()).toEqual(c.remembered);
    });
});

describe('probe frames through the real server', () => {
  const A = { id: 'agent-a', commune: '21025', carrier: 'viettel' };
  const B = { id: 'agent-b', commune: '21548', carrier: 'vnpt' };
  const C = { id: 'agent-c', commune: '21484', carrier: 'vnpt' }; // a commune the portal is not measured from
  let s: TestServer;
  const agents: Record<string, TestAgentClient> = {};
  beforeAll(async () => {
    s = await startTestServer({
      agents: [A, B, C],
      targets: [
        { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway' },
        { id: 'portal', name: 'Cổng Dịch vụ công (test)', kind: 'http', url: 'http://127.0.0.1:9/', communes: [A.commune, B.commune] },
      ],
    });
    for (const a of [A, B, C]) {
      agents[a.id] = await connectAgent(s.url, a.id, s.tokens[a.id]!);
      await agents[a.id]!.hello();
    }
  });
  afterAll(async () => {
    for (const c of Object.values(agents)) c.close();
    await s?.stop();
  });

  const http = (ok: boolean, ts = Date.now()): ProbeResult =>
    ok
      ? { kind: 'http', target: 'portal', ts, uplink: 'wan1', ok: true, status: 200, total_ms: 40 }
      : { kind: 'http', target: 'portal', ts, uplink: 'wan1', ok: false, status: null, total_ms: null, error: 'timeout' };
  const probes = (id: string) => agents[id]!.received.filter((m) => m.type === 'probe');
  const metric = async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    return Object.fromEntries([...text.matchAll(/^ioc_probe_now_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]));
  };

  it('a failed http round after a good one: the other agents with that target get a probe frame within 1 s; the reporter and an agent without it do not', async () => {
    expect((await agents[A.id]!.batch([http(true, Date.now() - 1000)])).type).toBe('ack');
    const asked = Date.now();
    const frame = agents[B.id]!.next('probe', 1000);
    expect((await agents[A.id]!.batch([http(false)])).type).toBe('ack');
    expect(await frame).toMatchObject({ type: 'probe', targets: ['portal'] });
    expect(Date.now() - asked).toBeLessThan(1000);
    await sleep(300);
    expect(probes(A.id)).toHaveLength(0);
    expect(probes(C.id)).toHaveLength(0);
    expect(await metric()).toMatchObject({ requested: 1, within_gap: 0, link_down: 0, frames: 1 });
  });

  it('a second failure within the gap (another site, good then failed) sends nothing', async () => {
    expect((await agents[B.id]!.batch([http(true, Date.now() - 1000)])).type).toBe('ack');
    expect((await agents[B.id]!.batch([http(false)])).type).toBe('ack');
    await sleep(500);
    expect(probes(A.id)).toHaveLength(0);
    expect(probes(B.id)).toHaveLength(1);
    expect(await metric()).toMatchObject({ requested: 1, within_gap: 1, frames: 1 });
  });

  it('a link (ICMP) failure after a good round sends nothing', async () => {
    expect((await agents[C.id]!.batch([icmpOk('gw', Date.now() - 1000)])).type).toBe('ack');
    expect((await agents[C.id]!.batch([icmpLost('gw', Date.now())])).type).toBe('ack');
    await sleep(500);
    for (const a of [A, B, C]) expect(probes(a.id).filter((m) => m.targets.includes('gw'))).toHaveLength(0);
  });

  it('a resent batch (rounds already applied) is history: it asks nothing', async () => {
    const resent = [http(true, Date.now() - 200), http(false)];
    expect((await agents[B.id]!.batch(resent)).type).toBe('ack');
    const before = await metric();
    // the same rounds again, as after a lost ack: a good round then a failed one, but no news
    expect((await agents[B.id]!.batch(resent)).type).toBe('ack');
    await sleep(300);
    expect(await metric()).toEqual(before);
  });

  it('an agent removed from the fleet leaves no memory: the directory change forgets it', async () => {
    expect(probeNowStats(s.registry).sites).toBe(3); // A and B measured the portal, C's link failed
    const plans = plansRemembered(s.registry); // every connected agent was sent a plan
    expect(plans).toBeGreaterThanOrEqual(3);
    const current = s.control.compose();
    s.dir.replace({ ...current, agents: current.agents.filter((a) => a.id !== C.id) });
    expect(probeNowStats(s.registry).sites).toBe(2);
    expect(plansRemembered(s.registry)).toBe(plans - 1);
    s.dir.replace({ ...current, agents: current.agents.filter((a) => a.id !== A.id && a.id !== C.id) });
    expect(probeNowStats(s.registry).sites).toBe(1);
    expect(plansRemembered(s.registry)).toBe(plans - 2);
  });
});
