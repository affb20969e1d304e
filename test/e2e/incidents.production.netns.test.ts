// The outage scenarios at production settings: the default plan's intervals (ICMP every 30 s with 10 echoes, HTTP
// every 60 s, 10 s timeouts; nothing set on the targets), real agents with their default pulses (link targets) and
// confirmation bursts, the server's probe requests (a service failing at one site is confirmed by all at once), the
// default status thresholds (down after 3 failed rounds) and incident timings. Each scenario prints the fault ->
// first failed round on the map, -> red, -> incident, and the repair -> green.
// DuckDB only: the detection path (agents, live state, attribution, engine) is the same for both stores, and both
// stores' incidents are covered by incidents.netns.test.ts; two stores would take this file past 8 minutes.
// Its own core address (10.213.250.2), so it runs beside the 5 s file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutNetns } from '../helpers/netns.ts';
import { COMMUNES, sleep, startScenarioWorld, until, type ScenarioWorld } from '../helpers/scenarios.ts';

const CORE = '10.213.250.2';
const skip = skipWithoutNetns('incident scenarios at production intervals');

describe.skipIf(skip)('incident scenarios at the default plan intervals (duckdb store)', () => {
  let w: ScenarioWorld;

  beforeAll(async () => {
    w = await startScenarioWorld({
      core: CORE,
      store: 'duckdb',
      targets: (portalUrl) => [
        { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway' },
        { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: CORE },
        { id: 'dvc', name: 'Cổng Dịch vụ công', kind: 'http', url: portalUrl },
      ],
    });
    // every target's first round comes within one interval of its random phase (HTTP: 60 s)
    await w.allUp(120_000);
  }, 200_000);

  afterAll(async () => {
    await w?.dispose();
  });

  const fmt = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
  /**
   * Poll every 100 ms from the fault at `t0` until `done`: when the map first shows a failed round of `codes` (on
   * `target`, or any), when all of them are red, when `incident` holds.
   */
  async function watch(t0: number, codes: string[], o: { target?: string; red?: boolean; incident: () => boolean; ms: number }) {
    const at: { failed: number | null; red: number | null; incident: number | null } = { failed: null, red: null, incident: null };
    const { s } = w;
    await until(
      () => {
        const now = Date.now() - t0;
        const views = codes.map((c) => s.live.commune(c));
        if (at.failed === null && views.some((v) => v.targets.some((t) => (!o.target || t.id === o.target) && (t.status === 'degraded' || t.status === 'down')))) at.failed = now;
        if (at.red === null && views.every((v) => v.status === 'down')) at.red = now;
        if (at.incident === null && o.incident()) at.incident = now;
        return at.incident !== null && at.failed !== null && (!o.red || at.red !== null);
      },
      o.ms,
      'the fault to be seen',
      () => JSON.stringify({ at, communes: codes.map((c) => s.live.commune(c)) }),
      100,
    );
    return at;
  }
  async function recovery(t1: number) {
    await w.allUp(90_000);
    return Date.now() - t1;
  }
  const line = (what: string, at: { failed: number | null; red: number | null; incident: number | null }, green: number) =>
    console.log(`[production] ${what}: first failed round ${fmt(at.failed)}, red ${fmt(at.red)}, incident ${fmt(at.incident)}, repair -> green ${fmt(green)}`);

  it('a commune whose uplink is cut: red on the map and one local-link incident within seconds', async () => {
    const h = w.hosts[0]!, code = COMMUNES[0]!.code;
    const t0 = Date.now();
    w.cutUplink(h);
    const at = await watch(t0, [code], { red: true, incident: () => w.openedSince(t0).length > 0, ms: 90_000 });
    await sleep(8000); // anything else that was going to open
    expect(w.openedSince(t0).map((i) => [i.cause, i.subject, i.communes])).toEqual([['local_link', code, [code]]]);
    const t1 = Date.now();
    w.restore(h);
    line('uplink cut', at, await recovery(t1));
    expect(at.red).toBeLessThan(20_000); // at 30 s rounds without the fast path: 60-90 s
  }, 240_000);

  it('a portal failing for every commune: one service incident naming all six, no carrier incident, no commune red', async () => {
    const t0 = Date.now();
    w.setPortalStatus(503);
    const at = await watch(t0, COMMUNES.map((c) => c.code), { target: 'dvc', incident: () => w.openedSince(t0).length > 0, ms: 120_000 });
    await sleep(8000);
    const opened = w.openedSince(t0);
    expect(opened.map((i) => [i.cause, i.subject])).toEqual([['service', 'dvc']]);
    // the incident names every commune at opening: the first site's failure had the others confirm at once
    const now = w.s.incidents.openIncidents().find((i) => i.id === opened[0]!.id)!;
    console.log(`[production] portal 503: communes named at opening ${opened[0]!.communes.length}/6, 8 s later ${now.communes.length}/6`);
    expect([...opened[0]!.communes].sort()).toEqual(COMMUNES.map((c) => c.code).sort());
    expect([...now.communes].sort()).toEqual(COMMUNES.map((c) => c.code).sort());
    // the portal's fault does not paint the communes red
    expect(COMMUNES.filter((c) => w.s.live.commune(c.code).status === 'down')).toEqual([]);
    const t1 = Date.now();
    w.setPortalStatus(200);
    line('portal 503', at, await recovery(t1));
  }, 240_000);

  it("one carrier's three communes cut: exactly one carrier incident listing them", async () => {
    const viettel = COMMUNES.map((c, i) => ({ ...c, h: w.hosts[i]! })).filter((c) => c.carrier === 'viettel');
    const t0 = Date.now();
    for (const c of viettel) w.cutUplink(c.h);
    const at = await watch(t0, viettel.map((c) => c.code), { red: true, incident: () => w.openedSince(t0).some((i) => i.cause === 'carrier'), ms: 120_000 });
    await sleep(8000);
    const opened = w.openedSince(t0);
    expect(opened.map((i) => [i.cause, i.subject])).toEqual([['carrier', 'viettel']]);
    expect([...opened[0]!.communes].sort()).toEqual(viettel.map((c) => c.code).sort());
    const t1 = Date.now();
    for (const c of viettel) w.restore(c.h);
    line('carrier cut', at, await recovery(t1));
  }, 300_000);

  it('5 % random loss on a healthy link opens nothing', async () => {
    const h = w.hosts[1]!;
    const t0 = Date.now();
    h.setLoss(5);
    await sleep(150_000); // 5 regular ICMP rounds and about 30 pulses per target
    h.setLoss(0);
    const pts = await w.s.store.queryRaw({ measurement: 'icmp', from: t0, to: Date.now(), where: { agent: `ag-${COMMUNES[1]!.code}` } });
    const lost = pts.reduce((n, p) => n + ((p.fields.sent as number) - (p.fields.received as number)), 0);
    const sent = pts.reduce((n, p) => n + (p.fields.sent as number), 0);
    console.log(`[production] 5 % loss for 150 s: ${pts.length} rounds, ${lost}/${sent} echoes lost, incidents opened: ${w.openedSince(t0).length}`);
    expect(pts.length).toBeGreaterThanOrEqual(8); // 2 targets x 5 rounds, less the edges
    expect(lost).toBeGreaterThan(0); // the loss really was there
    expect(w.openedSince(t0)).toEqual([]);
  }, 240_000);
});
