// Incidents name the site where it matters: a real LiveState fed with probe results, a commune with three sites,
// the engine on a real DuckDB store (the sites survive the round trip; an incident stored without them still reads).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProvince, parseConfig } from '../../config/load.ts';
import type { ProbeResult } from '../../config/wire.ts';
import { buildDirectory } from '../../server/directory.ts';
import { IncidentEngine } from '../../server/incidents/engine.ts';
import { SnapshotBuilder } from '../../server/incidents/snapshot.ts';
import type { Incident } from '../../server/incidents/types.ts';
import { LiveState } from '../../server/state/live-state.ts';
import { DuckDbStore } from '../../server/stores/duckdb.ts';
import { placeTexts, siteKindText } from '../../config/words.ts';
import { renderMessage } from '../../server/notifiers/templates.ts';
import { communeSummary, incidentsCsv } from '../../ui/src/lib/incidents.ts';
import { WORLD_NOW } from '../helpers/attribution-world.ts';
import { AN_PHU, BINH_SON, CAM_THANH, incident as fixture, names, T0 } from '../notifiers/fixtures.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const HASH = 'scrypt$1024$8$1$c2FsdA==$aGFzaA==';

async function rig() {
  const cfg = parseConfig({
    province: { code: '51' },
    carriers: [{ id: 'vnpt', name: 'VNPT' }, { id: 'viettel', name: 'Viettel' }],
    targets: [
      { id: 'gateway', name: 'Gateway', kind: 'icmp', host: 'gateway' },
      { id: 'portal', name: 'Portal', kind: 'http', url: 'http://127.0.0.1:9/' },
    ],
    agents: [],
  });
  const province = loadProvince(cfg);
  const codes = province.communes.slice(0, 5).map((c) => c.code);
  const uplinks = [{ name: 'wan1', carrier: 'vnpt', gateway: '127.0.0.1' }];
  // two carriers, so a target failing on both is a service, not a carrier's route
  const other = [{ name: 'wan1', carrier: 'viettel', gateway: '127.0.0.1' }];
  cfg.agents = [
    ...codes.map((c, i) => ({ id: `a-${c}`, commune: c, tokenHash: HASH, uplinks: i % 2 ? other : uplinks })),
    { id: 'school', commune: codes[0]!, site: { name: 'Trường THCS Ba Tơ', kind: 'school' as const }, tokenHash: HASH, uplinks },
    { id: 'clinic', commune: codes[0]!, site: { name: 'Trạm y tế xã', kind: 'health_station' as const }, tokenHash: HASH, uplinks },
  ];
  const dir = buildDirectory(cfg, province);
  const r = { t: WORLD_NOW };
  const live = new LiveState(dir, 20_000, () => r.t);
  const builder = new SnapshotBuilder(dir, live, { agentTimeoutMs: 20_000, startedAt: WORLD_NOW });
  const d = mkdtempSync(join(tmpdir(), 'incidents-sites-'));
  dirs.push(d);
  const store = new DuckDbStore(join(d, 'ioc.duckdb'));
  await store.init();
  const engine = new IncidentEngine({ store, source: (now) => builder.build(now), now: () => r.t });
  await engine.start();
  const agents = cfg.agents.map((a) => a.id);
  /** one round of every agent; `bad` says which agent fails what */
  const round = (bad: (agent: string) => { gw?: boolean; portal?: boolean }) => {
    for (const a of agents) {
      const b = bad(a);
      const gwOk = !b.gw;
      const portalOk = gwOk && !b.portal;
      const res: ProbeResult[] = [
        { kind: 'icmp', target: 'gateway', uplink: 'wan1', ts: r.t, sent: 10, received: gwOk ? 10 : 0, loss: gwOk ? 0 : 100, rtt_min: gwOk ? 1 : null, rtt_median: gwOk ? 1 : null, rtt_avg: gwOk ? 1 : null, rtt_max: gwOk ? 1 : null, jitter: gwOk ? 0 : null },
        { kind: 'http', target: 'portal', ts: r.t, ok: portalOk, status: portalOk ? 200 : null, total_ms: portalOk ? 80 : null, ...(portalOk ? {} : { error: 'timeout' as const }) },
      ];
      live.apply(a, res);
    }
  };
  /** rounds every 5 s, evaluations every 2 s, for `ms` */
  const run = (ms: number, bad: Parameters<typeof round>[0]) => {
    const end = r.t + ms;
    while (r.t < end) {
      r.t += 1000;
      if (r.t % 5000 === 0) round(bad);
      live.sweep();
      if (r.t % 2000 === 0) engine.evaluate(r.t);
    }
  };
  return { r, codes, engine, store, run };
}

const named = (i: Incident | undefined) => i?.sites?.map((s) => [s.commune, s.name, s.kind]);

describe('incidents name their sites', () => {
  it('a school whose link is cut: the local-link incident names the school, not the commune centre or the clinic', async () => {
    const { codes, engine, store, run } = await rig();
    run(10_000, () => ({}));
    expect(engine.openIncidents()).toEqual([]);
    run(40_000, (a) => ({ gw: a === 'school' }));
    const open = engine.openIncidents();
    expect(open.map((i) => [i.cause, i.subject])).toEqual([['local_link', codes[0]]]);
    expect(named(open[0])).toEqual([[codes[0], 'Trường THCS Ba Tơ', 'school']]);
    // stored with the incident and read back as it was
    await engine.flush();
    const [stored] = await store.queryIncidents({ from: 0, to: Date.UTC(2200, 0, 1), id: open[0]!.id });
    expect(stored!.sites).toEqual(open[0]!.sites);
    // an incident stored before sites existed still reads, without them
    const old: Incident = { ...structuredClone(stored!), id: 'local_link:old:1' };
    delete old.sites;
    await store.writeIncident(old);
    const [back] = await store.queryIncidents({ from: 0, to: Date.UTC(2200, 0, 1), id: 'local_link:old:1' });
    expect(back).not.toHaveProperty('sites');
    expect(back!.communes).toEqual(old.communes);
    await engine.close();
    await store.close();
  });

  it('a service failing at one of three sites of a commune and at every site of others: communes listed, that site named', async () => {
    const { codes, engine, store, run } = await rig();
    run(10_000, () => ({}));
    const failing = new Set(['school', `a-${codes[1]}`, `a-${codes[2]}`, `a-${codes[3]}`]);
    run(40_000, (a) => ({ portal: failing.has(a) }));
    const open = engine.openIncidents();
    expect(open.map((i) => [i.cause, i.subject])).toEqual([['service', 'portal']]);
    expect(open[0]!.communes).toEqual(codes.slice(0, 4).sort());
    // single-site communes fail whole: named by the commune alone; only the school of commune 0 is named
    expect(named(open[0])).toEqual([[codes[0], 'Trường THCS Ba Tơ', 'school']]);
    // the clinic fails too: still two of three sites, both named
    failing.add('clinic');
    run(20_000, (a) => ({ portal: failing.has(a) }));
    expect(named(engine.openIncidents()[0])).toEqual([
      [codes[0], 'Trạm y tế xã', 'health_station'],
      [codes[0], 'Trường THCS Ba Tơ', 'school'],
    ]);
    // and the centre: the whole commune fails, named by the commune alone
    failing.add(`a-${codes[0]}`);
    run(20_000, (a) => ({ portal: failing.has(a) }));
    expect(engine.openIncidents()[0]!.sites).toBeUndefined();
    await engine.close();
    await store.close();
  });
});

describe('the sites in words', () => {
  it('notification: the commune with its named sites, in the subject and the affected list; without sites as before', () => {
    const school = { agent: 'school', commune: BINH_SON, name: 'Trường THCS Bình Sơn', kind: 'school' as const };
    const local = fixture({ cause: 'local_link', subject: BINH_SON, communes: [BINH_SON], carrier: 'vnpt', sites: [school] });
    const m = renderMessage('opened', local, local.openedAt, { names, lang: 'vi', now: T0 });
    expect(m.subject).toBe('[SỰ CỐ] Mất kết nối đường truyền xã – Xã Bình Sơn — Trường THCS Bình Sơn');
    expect(m.text).toContain('Xã/phường bị ảnh hưởng (1): Xã Bình Sơn — Trường THCS Bình Sơn');
    const clinic = { agent: 'clinic', commune: AN_PHU, name: 'Trạm y tế xã An Phú', kind: 'health_station' as const };
    const svc = fixture({ cause: 'service', subject: 'dvc-quocgia', communes: [AN_PHU, BINH_SON, CAM_THANH], carrier: null, sites: [clinic, school] });
    const en = renderMessage('opened', svc, svc.openedAt, { names, lang: 'en', now: T0 });
    expect(en.text).toContain('Affected communes (3): Xã An Phú — Trạm y tế xã An Phú; Xã Bình Sơn — Trường THCS Bình Sơn; Phường Cẩm Thành');
    const plain = renderMessage('opened', { ...svc, sites: undefined }, svc.openedAt, { names, lang: 'en', now: T0 });
    expect(plain.text).toContain('Affected communes (3): Xã An Phú, Xã Bình Sơn, Phường Cẩm Thành');
    expect(placeTexts([BINH_SON], [school], names)).toEqual(['Xã Bình Sơn — Trường THCS Bình Sơn']);
    expect([siteKindText('school', 'vi'), siteKindText('health_station', 'en')]).toEqual(['Trường học', 'Health station']);
  });
});

describe('the sites in the UI helpers', () => {
  it('the feed summary and the CSV export name the sites with their commune', () => {
    const school = { agent: 'school', commune: BINH_SON, name: 'Trường THCS Bình Sơn', kind: 'school' as const };
    const inc = fixture({ cause: 'service', subject: 'dvc-quocgia', communes: [AN_PHU, BINH_SON, CAM_THANH], carrier: null, sites: [school] });
    expect(communeSummary(inc.communes, names, 'vi', 2, inc.sites)).toBe('Xã An Phú; Xã Bình Sơn — Trường THCS Bình Sơn và 1 nơi khác');
    expect(communeSummary(inc.communes, names, 'vi', 2)).toBe('Xã An Phú, Xã Bình Sơn và 1 nơi khác');
    const csv = incidentsCsv([inc], names, 'vi', T0);
    expect(csv).toContain('Xã An Phú; Xã Bình Sơn — Trường THCS Bình Sơn; Phường Cẩm Thành');
  });
});
