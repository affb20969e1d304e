// Outage scenarios end to end, nothing simulated: six communes, each a network namespace running a real agent
// process (agent/main.ts, system ping, HTTP probe), two carriers, a real server with incident detection on each
// store. Faults are injected with nft; each scenario checks that exactly the expected incidents open, and prints
// the time from the fault to the incident (and to the map changing colour).
//
// The world (topology, agents, faults) is test/helpers/scenarios.ts; this file's core is 10.213.250.1 and its plan
// runs 5 s rounds (test/e2e/incidents.production.netns.test.ts runs the default plan's intervals).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../server/incidents/types.ts';
import { skipWithoutInfluxd } from '../helpers/influxd.ts';
import { skipWithoutNetns, type NetnsHost } from '../helpers/netns.ts';
import { COMMUNES, sleep, startScenarioWorld, until, type ScenarioWorld } from '../helpers/scenarios.ts';
import type { TestServer } from '../helpers/server.ts';

const CORE = '10.213.250.1';

const skip = skipWithoutNetns('incident scenarios');
const stores = ['duckdb', ...(skipWithoutInfluxd() ? [] : ['influx' as const])] as const;

describe.skipIf(skip).each(stores)('incident scenarios with real agents (%s store)', (storeKind) => {
  let w: ScenarioWorld;
  let s: TestServer;
  let hosts: NetnsHost[];

  beforeAll(async () => {
    w = await startScenarioWorld({
      core: CORE,
      store: storeKind,
      targets: (portalUrl) => [
        { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway', count: 10, spacingMs: 200, intervalSec: 5, timeoutMs: 4000 },
        { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: CORE, count: 10, spacingMs: 200, intervalSec: 5, timeoutMs: 4000 },
        { id: 'dvc', name: 'Cổng Dịch vụ công', kind: 'http', url: portalUrl, intervalSec: 5, timeoutMs: 3000 },
      ],
    });
    ({ s, hosts } = w);
    await w.allUp();
  }, 180_000);

  afterAll(async () => {
    await w?.dispose();
  });

  /** incidents opened since `t0` */
  const openedSince = (t0: number): Incident[] => w.openedSince(t0);
  const report = (what: string, ms: number) => console.log(`[${storeKind}] ${what}: ${(ms / 1000).toFixed(1)} s`);
  const cutUplink = (h: NetnsHost) => w.cutUplink(h);
  const restore = (h: NetnsHost) => w.restore(h);
  const allUp = () => w.allUp();

  it('a commune whose uplink is cut: red on the map, one local-link incident', async () => {
    const h = hosts[0]!, code = COMMUNES[0]!.code;
    const t0 = Date.now();
    cutUplink(h);
    await until(() => s.live.commune(code).status === 'down', 60_000, `${code} down on the map`);
    report('uplink cut -> commune red on the map', Date.now() - t0);
    await until(() => openedSince(t0).length > 0, 90_000, 'an incident');
    report('uplink cut -> local-link incident', Date.now() - t0);
    await sleep(8000); // anything else that was going to open
    const opened = openedSince(t0);
    expect(opened.map((i) => [i.cause, i.subject, i.communes])).toEqual([['local_link', code, [code]]]);
    restore(h);
    await allUp();
  }, 240_000);

  it("a commune cut off entirely (its agent falls silent): grey, not red, and one agent incident", async () => {
    const h = hosts[2]!, code = COMMUNES[2]!.code;
    const t0 = Date.now();
    h.exec('ip', 'link', 'set', h.nsIf, 'down');
    await until(() => s.live.commune(code).status === 'unknown', 60_000, `${code} grey on the map`);
    report('link down -> commune grey on the map', Date.now() - t0);
    expect(s.live.commune(code).status).not.toBe('down');
    await until(() => openedSince(t0).length > 0, 150_000, 'an incident');
    report('link down -> agent incident', Date.now() - t0);
    await sleep(5000);
    expect(openedSince(t0).map((i) => [i.cause, i.subject, i.severity])).toEqual([['agent', code, 'degraded']]);
    h.exec('ip', 'link', 'set', h.nsIf, 'up');
    h.exec('ip', 'route', 'replace', 'default', 'via', h.hostIp);
    await allUp();
  }, 300_000);

  it('a portal failing for every commune: one service incident, not one per commune', async () => {
    const t0 = Date.now();
    w.setPortalStatus(503);
    await until(() => openedSince(t0).length > 0, 90_000, 'an incident');
    report('portal 503 -> service incident', Date.now() - t0);
    await sleep(8000);
    const opened = openedSince(t0);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ cause: 'service', subject: 'dvc' });
    expect(opened[0]!.communes).toHaveLength(COMMUNES.length);
    // the portal's fault does not paint the communes red
    expect(COMMUNES.filter((c) => s.live.commune(c.code).status === 'down')).toEqual([]);
    w.setPortalStatus(200);
    await allUp();
  }, 240_000);

  it("one carrier's communes failing together: one carrier incident listing them", async () => {
    const viettel = COMMUNES.map((c, i) => ({ ...c, h: hosts[i]! })).filter((c) => c.carrier === 'viettel');
    const t0 = Date.now();
    for (const c of viettel) cutUplink(c.h);
    await until(() => openedSince(t0).some((i) => i.cause === 'carrier'), 120_000, 'a carrier incident');
    report('carrier cut -> carrier incident', Date.now() - t0);
    await sleep(8000);
    const opened = openedSince(t0).filter((i) => !i.mergedInto);
    expect(opened.map((i) => [i.cause, i.subject])).toEqual([['carrier', 'viettel']]);
    expect([...opened[0]!.communes].sort()).toEqual(viettel.map((c) => c.code).sort());
    for (const c of viettel) restore(c.h);
    await allUp();
  }, 300_000);

  it('5 % random loss on a healthy link for many rounds opens no incident', async () => {
    const h = hosts[1]!;
    const t0 = Date.now();
    h.setLoss(5);
    const rounds = 24; // 2 minutes of 10-echo rounds every 5 s
    await sleep(rounds * 5000);
    h.setLoss(0);
    const pts = await s.store.queryRaw({ measurement: 'icmp', from: t0, to: Date.now(), where: { agent: `ag-${COMMUNES[1]!.code}`, target: 'dc' } });
    const lost = pts.reduce((n, p) => n + ((p.fields.sent as number) - (p.fields.received as number)), 0);
    const sent = pts.reduce((n, p) => n + (p.fields.sent as number), 0);
    console.log(`[${storeKind}] 5 % loss: ${pts.length} rounds, ${lost}/${sent} echoes lost (${((100 * lost) / sent).toFixed(1)} %), incidents opened: ${openedSince(t0).length}`);
    expect(pts.length).toBeGreaterThanOrEqual(rounds - 3);
    expect(lost).toBeGreaterThan(0); // the loss really was there
    expect(openedSince(t0)).toEqual([]);
  }, 240_000);
});

