// Report speed over a year of a province, DuckDB vs a real influxd: `npm run bench:reports`
//
// Workload: the 96 real communes of Quảng Ngãi (config/provinces/51.json), one agent each on one of 4 carriers
// (VNPT 48 communes, Viettel 30, MobiFone 10, FPT 8), 10 targets (3 ICMP, 5 HTTP, 2 DNS), 30 s rounds: a year is
// 96 x 10 x 1 051 200 ≈ 100 M rounds. Writing 100 M raw points is beyond this machine in a benchmark, so:
//   - the last day is REAL raw data (2.76 M points, 30 s rounds), rolled up by the server's own rollup step (timed);
//   - the 364 days before it are hourly ROLLUP rows generated directly (what the rollup step would have written from
//     120 rounds per target per hour: outages, congestion, a latency histogram; plus the link rows pooled from them
//     by the real linkRows), through Store.rollup, with coverage: 8.4 M series rows + 0.84 M link rows;
//   - about 2 300 incidents over the year (local links, carrier outages, portal outages, maintenance).
// Then, per store, medians of BENCH_REPS runs (default 3) of: the carrier report of VNPT (the largest: 48 communes)
// and the DOST report of the whole province, for the year and for the last 30 days, each ending with today (the
// current hour is read from raw data). Env: BENCH_REPS, BENCH_STORES=duckdb,influx.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, type ProvinceFile } from '../../config/schema.ts';
import { buildDirectory } from '../../server/directory.ts';
import type { Incident } from '../../server/incidents/types.ts';
import { buildCarrierReport } from '../../server/reports/data/carrier.ts';
import { buildDostReport } from '../../server/reports/data/dost.ts';
import { customPeriod, localMidnight, previousPeriod } from '../../server/reports/data/periods.ts';
import { roundClassifier, runRollup, startRollupJob } from '../../server/reports/data/rollups.ts';
import { binOf, emptyFigures, linkRows } from '../../server/stores/rollup.ts';
import type { Point, RollupRow, Store, Tags } from '../../server/stores/types.ts';
import { influxdAvailable } from '../helpers/influxd.ts';
import { incident, storeHarness, type StoreHarness } from '../helpers/stores.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REPS = Number(process.env.BENCH_REPS ?? 3);
const WANT = (process.env.BENCH_STORES ?? 'duckdb,influx').split(',');
const H = 3_600_000;
const DAY = 24 * H;
const ROUND_MS = 30_000;

const province = JSON.parse(readFileSync(join(ROOT, 'config/provinces/51.json'), 'utf8')) as ProvinceFile;
const communes = province.communes.map((c) => c.code);
const CARRIER_SHARE: [string, number][] = [
  ['vnpt', 48],
  ['viettel', 30],
  ['mobifone', 10],
  ['fpt', 8],
];
const carrierOf = communes.map((_, i) => {
  let k = i;
  for (const [c, n] of CARRIER_SHARE) {
    if (k < n) return c;
    k -= n;
  }
  return 'vnpt';
});
const TARGETS = [
  { id: 'gateway', name: 'Gateway', kind: 'icmp', host: 'gateway' },
  { id: 'ttdl-tinh', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '203.0.113.10' },
  { id: 'dns-ping', name: 'DNS VNPT (ping)', kind: 'icmp', host: '203.0.113.53' },
  { id: 'dvc-quocgia', name: 'Cổng Dịch vụ công quốc gia', kind: 'http', url: 'https://dichvucong.gov.vn/' },
  { id: 'dvc-tinh', name: 'Cổng Dịch vụ công tỉnh', kind: 'http', url: 'https://dichvucong.quangngai.gov.vn/' },
  { id: 'cttdt-tinh', name: 'Cổng Thông tin điện tử tỉnh', kind: 'http', url: 'https://quangngai.gov.vn/' },
  { id: 'ioffice', name: 'iOffice', kind: 'http', url: 'https://ioffice.quangngai.gov.vn/' },
  { id: 'egov', name: 'Một cửa điện tử', kind: 'http', url: 'https://motcua.quangngai.gov.vn/' },
  { id: 'dns-vnpt', name: 'DNS VNPT', kind: 'dns', resolver: '203.162.4.191', query: 'dichvucong.gov.vn' },
  { id: 'dns-viettel', name: 'DNS Viettel', kind: 'dns', resolver: '203.113.131.1', query: 'dichvucong.gov.vn' },
] as const;
const config = configSchema.parse({
  province: { code: '51' },
  carriers: CARRIER_SHARE.map(([id]) => ({ id, name: id.toUpperCase() })),
  targets: TARGETS,
  agents: communes.map((c, i) => ({ id: `ag-${c}`, commune: c, tokenHash: 'scrypt$1024$8$1$c2FsdA==$aGFzaA==', uplinks: [{ name: 'wan0', carrier: carrierOf[i]!, gateway: '192.0.2.1' }] })),
});
const dir = buildDirectory(config, province);
const classify = roundClassifier(dir);

let seed = 7;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const tagsOf = (ci: number, target: string): Tags => ({ province: '51', commune: communes[ci]!, carrier: carrierOf[ci]!, agent: `ag-${communes[ci]}`, target, uplink: 'wan0' });
const baseLatency = (ci: number, ti: number) => (TARGETS[ti]!.kind === 'icmp' ? (ti === 0 ? 1.5 : 15 + (ci % 20) * 2) : TARGETS[ti]!.kind === 'dns' ? 25 : 300 + (ci % 10) * 40);

/** One synthetic rolled-up hour of a series: 120 rounds, occasional outage / congestion, a 3-bin latency spread. */
function syntheticRow(ci: number, ti: number, hour: number): RollupRow {
  const t = TARGETS[ti]!;
  const r = rnd();
  const failed = r < 0.002 ? 120 : r < 0.01 ? Math.floor(rnd() * 30) : 0;
  const slow = failed < 120 && rnd() < 0.02 ? Math.floor(rnd() * 60) : 0;
  const f = { ...emptyFigures(), rounds: 120, failed, slow };
  const answered = 120 - failed;
  const lat = baseLatency(ci, ti) * (slow ? 3 : 1);
  f.lossSum = failed * 100 + (t.kind === 'icmp' ? slow * 20 + answered * 0.1 : 0);
  f.lossN = 120;
  if (answered > 0) {
    const a = Math.round(answered * 0.7);
    const b = Math.round(answered * 0.2);
    const c = answered - a - b;
    f.hist[binOf(lat)]! += a;
    f.hist[binOf(lat * 1.3)]! += b;
    f.hist[binOf(lat * 1.8)]! += c;
    f.latN = answered;
    f.latSum = a * lat + b * lat * 1.3 + c * lat * 1.8;
    f.latMin = lat;
    f.latMax = lat * 1.8;
  }
  return { measurement: t.kind, hour, tags: tagsOf(ci, t.id), ...f };
}

/** Raw points of one 30 s round of the whole province. */
function rawRound(ts: number): Point[] {
  const out: Point[] = [];
  communes.forEach((_, ci) => {
    TARGETS.forEach((t, ti) => {
      const lat = baseLatency(ci, ti) * (1 + rnd() * 0.3);
      const fail = rnd() < 0.003;
      const tags = tagsOf(ci, t.id);
      if (t.kind === 'icmp') {
        const loss = fail ? 100 : rnd() < 0.02 ? 20 : 0;
        out.push({ measurement: 'icmp', ts, tags, fields: { sent: 10, received: 10 - loss / 10, loss, rtt_min: fail ? null : lat * 0.9, rtt_median: fail ? null : lat, rtt_avg: fail ? null : lat, rtt_max: fail ? null : lat * 1.2, jitter: fail ? null : 0.3, error: fail ? 'timeout' : null, backfilled: false } });
      } else if (t.kind === 'http') {
        out.push({ measurement: 'http', ts, tags, fields: { ok: !fail, status: fail ? null : 200, dns_ms: 5, connect_ms: 20, tls_ms: 40, ttfb_ms: lat * 0.7, total_ms: fail ? 10_000 : lat, cert_days_left: 80, error: fail ? 'timeout' : null, backfilled: false } });
      } else {
        out.push({ measurement: 'dns', ts, tags, fields: { ok: !fail, total_ms: fail ? null : lat, answers: fail ? 0 : 2, rcode: fail ? 'SERVFAIL' : 'NOERROR', error: null, backfilled: false } });
      }
    });
  });
  return out;
}

function incidents(from: number, to: number): Incident[] {
  const out: Incident[] = [];
  const span = to - from;
  communes.forEach((c, ci) => {
    for (let k = 0; k < 20; k++) {
      const at = from + Math.floor(rnd() * span);
      out.push(incident({ id: `local_link:${c}:${k}`, cause: 'local_link', subject: c, carrier: carrierOf[ci]!, communes: [c], targets: ['gateway'], openedAt: at, resolvedAt: at + Math.floor((10 + rnd() * 300) * 60_000), maintenance: rnd() < 0.1 }));
    }
  });
  for (const [carrier] of CARRIER_SHARE) {
    const mine = communes.filter((_, i) => carrierOf[i] === carrier);
    for (let k = 0; k < 12; k++) {
      const at = from + Math.floor(rnd() * span);
      out.push(incident({ id: `carrier:${carrier}:${k}`, cause: 'carrier', subject: carrier, carrier, communes: mine.filter(() => rnd() < 0.4).sort(), targets: ['gateway', 'ttdl-tinh'], openedAt: at, resolvedAt: at + Math.floor((30 + rnd() * 600) * 60_000) }));
    }
  }
  for (const t of TARGETS.filter((x) => x.kind === 'http')) {
    for (let k = 0; k < 12; k++) {
      const at = from + Math.floor(rnd() * span);
      out.push(incident({ id: `service:${t.id}:${k}`, cause: 'service', subject: t.id, communes: communes.filter(() => rnd() < 0.8), targets: [t.id], openedAt: at, resolvedAt: at + Math.floor((15 + rnd() * 240) * 60_000) }));
    }
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await f();
  console.log(`  ${label}: ${secs(performance.now() - t0)}`);
  return r;
}

async function prepare(name: string, store: Store, now: number): Promise<void> {
  seed = 7; // the same data for every store
  const today = Math.floor(now / H) * H - 23 * H; // raw for the last 24 h (23 closed hours + the current one)
  const yearStart = today - 364 * DAY;
  console.log(`\n[${name}] preparing a year: rollup rows ${new Date(yearStart).toISOString()} .. ${new Date(today).toISOString()}, raw after`);
  await timed('synthetic rollup rows, 364 days (8.4 M rows)', async () => {
    let rows = 0;
    for (let day = yearStart; day < today; day += DAY) {
      const r = await store.rollup(day, day + DAY, () => {
        const series: RollupRow[] = [];
        for (let hour = day; hour < day + DAY; hour += H) for (let ci = 0; ci < communes.length; ci++) for (let ti = 0; ti < TARGETS.length; ti++) series.push(syntheticRow(ci, ti, hour));
        return { series, links: linkRows(series) };
      });
      rows += r.rows;
    }
    return rows;
  });
  await timed('raw points, last 24 h at 30 s rounds (2.76 M points)', async () => {
    let batch: Point[] = [];
    const inflight: Promise<void>[] = [];
    for (let ts = today; ts <= now - ROUND_MS; ts += ROUND_MS) {
      batch.push(...rawRound(ts));
      if (batch.length >= 9600) {
        inflight.push(store.write(batch));
        batch = [];
        if (inflight.length >= 2) await inflight.shift();
      }
    }
    inflight.push(store.write(batch));
    await Promise.all(inflight);
  });
  const r = await timed('server rollup step over the last 24 h of raw data', () => runRollup(store, classify, { from: today, to: now, now }));
  console.log(`    ${r.hours} hours, ${r.points.toLocaleString('en-US')} points -> ${r.rows.toLocaleString('en-US')} rows in ${r.chunks} chunks`);
  const inc = incidents(yearStart, now);
  await timed(`${inc.length} incidents`, async () => {
    for (const i of inc) await store.writeIncident(i);
  });
  const job = startRollupJob({ store, classify, rawRetentionDays: 30, intervalMs: 3_600_000, now: () => now });
  await timed('periodic rollup job when up to date (coverage check + prune)', () => job.runOnce());
  job.stop();
}

async function main() {
  const now = Date.now();
  const harnesses: StoreHarness[] = [];
  if (WANT.includes('duckdb')) harnesses.push(storeHarness('duckdb', 'reports-bench'));
  if (WANT.includes('influx')) {
    if (influxdAvailable()) harnesses.push(storeHarness('influx', 'reports_bench'));
    else console.warn('!!! influxd not found: benchmarking DuckDB only (install Debian package influxdb)');
  }
  const dayEnd = localMidnight(now) + DAY;
  const periods = { year: customPeriod(dayEnd - 365 * DAY, dayEnd), month: customPeriod(dayEnd - 30 * DAY, dayEnd) };
  const dead = { minAvailabilityPct: 99, maxLossPct: 2, maxRttP95Ms: 150 };
  const green = { minUptimePct: 99.5, maxOutageMin: 240, maxIncidents: 3 };
  const results: { store: string; report: string; period: string; ms: number[]; note: string }[] = [];
  try {
    for (const h of harnesses) {
      const name = h.name;
      await h.setup();
      const store = await h.open({ rawRetentionDays: 30 });
      await prepare(name, store, now);
      for (const [pname, period] of Object.entries(periods)) {
        const carrier = { store: name, report: 'carrier vnpt (48 communes)', period: `${pname} (${period.label})`, ms: [] as number[], note: '' };
        const dost = { store: name, report: 'DOST province (96 communes)', period: `${pname} (${period.label})`, ms: [] as number[], note: '' };
        for (let rep = 0; rep < REPS; rep++) {
          let t0 = performance.now();
          const c = await buildCarrierReport(store, dir, 'vnpt', period, dead, Date.now());
          carrier.ms.push(performance.now() - t0);
          carrier.note = `${c.rows.length} rows, ${c.rows.filter((r) => r.deadZone).length} dead zones, ${c.incidents.length} incidents`;
          t0 = performance.now();
          const d = await buildDostReport(store, dir, period, previousPeriod(period), green, {}, Date.now());
          dost.ms.push(performance.now() - t0);
          dost.note = `${d.summary.green} green, ${d.summary.incidents} incidents`;
        }
        results.push(carrier, dost);
      }
    }
    console.log(`\nmedians of ${REPS} runs (each run = the whole model, on-demand rollup check included)`);
    console.log(`${'store'.padEnd(8)}${'report'.padEnd(30)}${'period'.padEnd(40)}${'median'.padStart(10)}   runs / result`);
    for (const r of results) {
      console.log(`${r.store.padEnd(8)}${r.report.padEnd(30)}${r.period.padEnd(40)}${secs(median(r.ms)).padStart(10)}   [${r.ms.map((x) => (x / 1000).toFixed(2)).join(', ')}] ${r.note}`);
    }
  } finally {
    for (const h of harnesses) await h.teardown();
  }
}

await main();
