// The Grafana dashboards of config/grafana/: every InfluxQL query of the InfluxDB dashboard runs against a real
// influxd holding known data (written and rolled up by the server's own store) and returns what its panel shows;
// every metric the Prometheus dashboard graphs is exposed by a live server; provisioning names the dashboards' sources.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { roundClassifier, runRollup } from '../../server/reports/data/rollups.ts';
import type { Point } from '../../server/stores/types.ts';
import { skipWithoutInfluxd, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const DIR = join(import.meta.dirname, '..', '..', 'config', 'grafana');
const HOUR = 3_600_000;
type Target = { refId: string; query?: string; expr?: string; datasource: { uid: string } };
type Panel = { id: number; title: string; targets: Target[]; datasource: { uid: string } };
const dashboard = (f: string) => JSON.parse(readFileSync(join(DIR, 'dashboards', f), 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { query: unknown; datasource: { uid: string } }[] } };
const influxDash = dashboard('ioc-influx.json');
const promDash = dashboard('ioc-server-prometheus.json');

describe('provisioning', () => {
  it('names the data sources the dashboards use', () => {
    const ds = parse(readFileSync(join(DIR, 'provisioning/datasources/ioc.yaml'), 'utf8')) as { datasources: { uid: string; type: string }[] };
    const uids = new Map(ds.datasources.map((d) => [d.uid, d.type]));
    for (const [d, type] of [[influxDash, 'influxdb'], [promDash, 'prometheus']] as const) {
      for (const p of d.panels) for (const t of [p.datasource, ...p.targets.map((x) => x.datasource)]) expect(uids.get(t.uid), `${d.uid} panel ${p.id}`).toBe(type);
      for (const v of d.templating.list) expect(uids.get(v.datasource.uid)).toBe(type);
    }
    const providers = parse(readFileSync(join(DIR, 'provisioning/dashboards/ioc.yaml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    expect(providers.providers[0]).toMatchObject({ type: 'file' });
  });
});

describe.skipIf(skipWithoutInfluxd())('InfluxDB dashboard against a real influxd', () => {
  let influxd: Influxd;
  let s: TestServer;
  const DB = 'ioc_grafana';
  const t0 = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
  const from = t0;
  const to = t0 + 2 * HOUR - 1;

  beforeAll(async () => {
    influxd = await startInfluxd();
    s = await startTestServer({
      store: { kind: 'influx', url: influxd.url, database: DB },
      agents: [{ id: 'a1', commune: '21025', carrier: 'vnpt' }, { id: 'a2', commune: '21028', carrier: 'viettel' }],
    });
    // Two hours, one round a minute: 21025 over VNPT 20 ms and 10 % loss, 21028 over Viettel 40 ms and no loss;
    // the portal passes every check from 21025 and every other one from 21028; each agent reports its health.
    const points: Point[] = [];
    const who = { a1: ['21025', 'vnpt', 20, 10], a2: ['21028', 'viettel', 40, 0] } as const;
    for (let t = t0, i = 0; t < t0 + 2 * HOUR; t += 60_000, i++) {
      for (const [agent, [commune, carrier, rtt, loss]] of Object.entries(who)) {
        const tags = { province: '51', commune, carrier, agent, uplink: 'wan1' };
        points.push({ measurement: 'icmp', ts: t, tags: { ...tags, target: 'dc' }, fields: { sent: 10, received: 10 - loss / 10, loss, rtt_min: rtt - 5, rtt_median: rtt, rtt_avg: rtt, rtt_max: rtt + 10, jitter: 1, backfilled: false } });
        const ok = agent === 'a1' || i % 2 === 0;
        points.push({ measurement: 'http', ts: t, tags: { ...tags, target: 'portal' }, fields: { ok, status: ok ? 200 : 503, total_ms: 100, backfilled: false } });
        points.push({ measurement: 'agent', ts: t, tags: { ...tags, target: '', uplink: '' }, fields: { pending: agent === 'a1' ? 5 : 0, dropped: 0, uptime_s: 100, clock_offset_ms: agent === 'a1' ? 12 : -3, rtt_ms: 8, spool_bytes: 0 } });
      }
    }
    await s.store.write(points);
    await runRollup(s.store, roundClassifier(s.dir), { from: t0, to: t0 + 2 * HOUR, now: Date.now() });
    await s.store.writeIncident({
      id: `carrier:viettel:${t0 + HOUR}`, cause: 'carrier', subject: 'viettel', openedAt: t0 + HOUR, resolvedAt: null, communes: ['21028'], targets: ['dc'],
      carrier: 'viettel', severity: 'down', evidence: { summary: 'test', figures: {} }, acknowledgedBy: null, acknowledgedAt: null, notes: [], maintenance: false,
    } as never);
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    await influxd?.stop();
  });

  /** what Grafana sends: macros and the variables (All selected) filled in */
  function grafana(q: string) {
    return q
      .replaceAll('$timeFilter', `time >= ${from}ms and time <= ${to}ms`)
      .replaceAll('$__interval', '1h')
      .replaceAll('$commune', '.*')
      .replaceAll('$carrier', '.*');
  }
  type Series = { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] };
  async function run(q: string): Promise<Series[]> {
    const r = await fetch(`${influxd.url}/query?db=${DB}&epoch=ms&q=${encodeURIComponent(grafana(q))}`);
    const body = (await r.json()) as { results: { series?: Series[]; error?: string }[]; error?: string };
    expect(body.error ?? body.results[0]!.error, q).toBeUndefined();
    return body.results[0]!.series ?? [];
  }
  /** rows as objects keyed by column and group tags */
  const rows = (series: Series[]) => series.flatMap((x) => x.values.map((v) => ({ ...x.tags, ...Object.fromEntries(x.columns.map((c, i) => [c, v[i]])) }) as Record<string, unknown>));
  /** table panels sort in Grafana: compare in commune order */
  const sorted = (r: Record<string, unknown>[]) => r.sort((a, b) => String(a.commune).localeCompare(String(b.commune)));
  const byTag = (series: Series[], tag: string, col: string): Record<string, unknown[]> => Object.fromEntries(series.map((x) => [x.tags![tag], x.values.map((v) => v[x.columns.indexOf(col)])]));

  /** per panel id: what each of its queries must return */
  const EXPECT: Record<number, (res: Record<string, Series[]>) => void> = {
    1: (r) => expect(rows(r.A!)[0]!.mean).toBe(5),
    2: (r) => expect(rows(r.A!)[0]!.mean).toBe(30),
    3: (r) => expect(rows(r.A!)[0]!.count).toBe(2),
    4: (r) => expect(byTag(r.A!, 'cause', 'count')).toEqual({ carrier: [1] }),
    5: (r) => expect(byTag(r.A!, 'carrier', 'mean')).toEqual({ vnpt: [20, 20], viettel: [40, 40] }),
    6: (r) => expect(byTag(r.A!, 'carrier', 'mean')).toEqual({ vnpt: [10, 10], viettel: [0, 0] }),
    7: (r) =>
      expect(sorted(rows(r.A!)).map(({ commune, carrier, latency_ms, loss_pct, worst_ms }) => ({ commune, carrier, latency_ms, loss_pct, worst_ms }))).toEqual([
        { commune: '21025', carrier: 'vnpt', latency_ms: 20, loss_pct: 10, worst_ms: 30 },
        { commune: '21028', carrier: 'viettel', latency_ms: 40, loss_pct: 0, worst_ms: 50 },
      ]),
    8: (r) => {
      expect(rows(r.A!).map(({ target, checks }) => ({ target, checks }))).toEqual([{ target: 'portal', checks: 240 }]);
      expect(rows(r.B!).map(({ target, passed }) => ({ target, passed }))).toEqual([{ target: 'portal', passed: 180 }]);
    },
    9: (r) =>
      expect(rows(r.A!).map(({ agent, pending, dropped, clock_offset_ms, link_rtt_ms }) => ({ agent, pending, dropped, clock_offset_ms, link_rtt_ms }))).toEqual([
        { agent: 'a1', pending: 5, dropped: 0, clock_offset_ms: 12, link_rtt_ms: 8 },
        { agent: 'a2', pending: 0, dropped: 0, clock_offset_ms: -3, link_rtt_ms: 8 },
      ]),
    // rollups: every round of both carriers answered (10 % loss is degraded, not failed)
    10: (r) => {
      const v = byTag(r.A!, 'carrier', r.A![0]!.columns[1]!);
      expect(Object.keys(v).sort()).toEqual(['viettel', 'vnpt']);
      for (const vals of Object.values(v)) for (const x of vals) expect(x).toBe(100);
    },
    11: (r) => {
      const v = byTag(r.A!, 'carrier', r.A![0]!.columns[1]!);
      for (const x of v.vnpt!) expect(x).toBeCloseTo(20, 6);
      for (const x of v.viettel!) expect(x).toBeCloseTo(40, 6);
    },
    12: (r) =>
      expect(sorted(rows(r.A!)).map(({ commune, carrier, hours, hours_down }) => ({ commune, carrier, hours, hours_down }))).toEqual([
        { commune: '21025', carrier: 'vnpt', hours: 2, hours_down: 0 },
        { commune: '21028', carrier: 'viettel', hours: 2, hours_down: 0 },
      ]),
  };

  it('has an expectation for every panel', () => {
    expect(influxDash.panels.map((p) => p.id).sort((a, b) => a - b)).toEqual(Object.keys(EXPECT).map(Number));
  });

  for (const p of influxDash.panels) {
    it(`panel ${p.id}: ${p.title}`, async () => {
      const res: Record<string, Series[]> = {};
      for (const t of p.targets) res[t.refId] = await run(t.query!);
      EXPECT[p.id]!(res);
    });
  }

  it('the variables list the carriers and communes', async () => {
    const values = async (q: string) => (await run(q)).flatMap((x) => x.values.map((v) => v[1]));
    const [carrier, commune] = influxDash.templating.list.map((v) => v.query as string);
    expect((await values(carrier!)).sort()).toEqual(['viettel', 'vnpt']);
    expect((await values(commune!)).sort()).toEqual(['21025', '21028']);
  });
});

describe('Prometheus dashboard', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.stop());

  it('graphs only metrics a live server exposes', async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    // declared families (a family without samples yet, e.g. notifications with no channel, still counts) and samples
    const exposed = new Set(text.split('\n').flatMap((l) => (l.startsWith('# TYPE ') ? [l.split(' ')[2]!] : l && !l.startsWith('#') ? [l.split(/[{ ]/)[0]!] : [])));
    const used = new Set(promDash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr!.match(/\bioc_[a-z0-9_]+/g) ?? [])));
    used.add('ioc_build_info'); // the job variable
    expect([...used].filter((m) => !exposed.has(m))).toEqual([]);
  });
});
