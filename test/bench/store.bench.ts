// Store write throughput, DuckDB vs a real influxd, side by side: `npx tsx test/bench/store.bench.ts`
// Workload: the 96 real communes of Quảng Ngãi (config/provinces/51.json) x 10 targets (6 icmp, 4 http),
// one round = 960 points, written in batches of 500, and of 5000 (server/ingest/writer.ts coalesces up to that).
// Each repetition writes ROUNDS
// new rounds (the table keeps growing, as in production); medians over REPS. Runs in well under 2 minutes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbStore } from '../../server/stores/duckdb.ts';
import { InfluxStore } from '../../server/stores/influx.ts';
import type { Point, Store } from '../../server/stores/types.ts';
import { influxdAvailable, startInfluxd, type Influxd } from '../helpers/influxd.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REPS = Number(process.env.BENCH_REPS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const CONCURRENCY = 4;

const province = JSON.parse(readFileSync(join(ROOT, 'config/provinces/51.json'), 'utf8')) as { code: string; communes: { code: string }[] };
const communes = province.communes.map((c) => c.code);
const carriers = ['vnpt', 'viettel', 'mobifone', 'fpt'];
const icmpTargets = ['gateway', 'dns-vnpt', 'dns-viettel', 'dvc-ping', 'ioc-ping', 'cloudflare'];
const httpTargets = ['dichvucong', 'ioffice', 'egov', 'portal'];

let seed = 42;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

function round(ts: number): Point[] {
  const out: Point[] = [];
  communes.forEach((commune, ci) => {
    const base = { province: province.code, commune, carrier: carriers[ci % carriers.length]!, agent: `ag-${commune}`, uplink: 'wan0' };
    for (const target of icmpTargets) {
      const received = rnd() < 0.05 ? 0 : 10 - Math.floor(rnd() * 2);
      const rtt = 5 + rnd() * 80;
      out.push({
        measurement: 'icmp',
        ts,
        tags: { ...base, target },
        fields:
          received === 0
            ? { sent: 10, received: 0, loss: 100, rtt_min: null, rtt_median: null, rtt_avg: null, rtt_max: null, jitter: null, error: 'timeout' }
            : { sent: 10, received, loss: (10 - received) * 10, rtt_min: rtt * 0.8, rtt_median: rtt, rtt_avg: rtt * 1.02, rtt_max: rtt * 1.6, jitter: rnd() * 4, error: null },
      });
    }
    for (const target of httpTargets) {
      const ok = rnd() > 0.03;
      out.push({
        measurement: 'http',
        ts,
        tags: { ...base, target },
        fields: {
          ok,
          status: ok ? 200 : 503,
          dns_ms: rnd() * 20,
          connect_ms: rnd() * 40,
          tls_ms: rnd() * 60,
          ttfb_ms: rnd() * 300,
          total_ms: 100 + rnd() * 900,
          cert_days_left: 30 + Math.floor(rnd() * 300),
          error: ok ? null : 'HTTP 503 Service Unavailable',
        },
      });
    }
  });
  return out;
}

function batches(points: Point[], size: number): Point[][] {
  const out: Point[][] = [];
  for (let i = 0; i < points.length; i += size) out.push(points.slice(i, i + size));
  return out;
}

/** Writes the batches with at most `parallel` in flight; returns points/s. */
async function run(store: Store, bs: Point[][], parallel: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < bs.length) await store.write(bs[next++]!);
    }),
  );
  const n = bs.reduce((a, b) => a + b.length, 0);
  return (n / (performance.now() - t0)) * 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'store-bench-'));
  let influxd: Influxd | null = null;
  const stores: { name: string; store: Store }[] = [{ name: 'duckdb', store: new DuckDbStore(join(dir, 'bench.duckdb')) }];
  if (influxdAvailable()) {
    influxd = await startInfluxd();
    stores.push({ name: 'influx', store: new InfluxStore({ url: influxd.url, database: 'bench', createDatabase: true }) });
  } else {
    console.warn('!!! influxd not found: benchmarking DuckDB only (install Debian package influxdb)');
  }
  const started = performance.now();
  try {
    for (const s of stores) await s.store.init();
    const perRep = ROUNDS * communes.length * (icmpTargets.length + httpTargets.length);
    console.log(`workload: ${communes.length} communes x ${icmpTargets.length + httpTargets.length} targets, ${ROUNDS} rounds = ${perRep} points/rep, ${REPS} reps per mode`);
    const modes = [
      { label: '500/batch', size: 500, parallel: 1 },
      { label: `500/batch x${CONCURRENCY} flight`, size: 500, parallel: CONCURRENCY },
      { label: '5000/batch', size: 5000, parallel: 1 },
    ];
    const results: Record<string, Record<string, number[]>> = {};
    let t = Date.UTC(2025, 6, 1);
    for (const mode of modes) {
      for (let rep = 0; rep < REPS; rep++) {
        const points: Point[] = [];
        for (let r = 0; r < ROUNDS; r++, t += 30_000) points.push(...round(t));
        const bs = batches(points, mode.size);
        // Alternate which store goes first so neither always gets the warmer machine.
        const order = rep % 2 ? [...stores].reverse() : stores;
        for (const s of order) {
          const pps = await run(s.store, bs, mode.parallel);
          ((results[mode.label] ??= {})[s.name] ??= []).push(pps);
        }
      }
    }
    // Replaying the last rep's batches exercises the overwrite path (idempotent upsert).
    const replay: Point[] = [];
    for (let r = 0; r < ROUNDS; r++) replay.push(...round(t - (r + 1) * 30_000));
    for (let rep = 0; rep < REPS; rep++) {
      for (const s of stores) {
        const pps = await run(s.store, batches(replay, 500), 1);
        ((results['replay 500/batch'] ??= {})[s.name] ??= []).push(pps);
      }
    }

    console.log(`\n${'mode'.padEnd(24)}${stores.map((s) => `${s.name} pts/s`.padStart(16)).join('')}${stores.length > 1 ? '   duckdb/influx' : ''}`);
    for (const [label, byStore] of Object.entries(results)) {
      const meds = stores.map((s) => median(byStore[s.name] ?? [0]));
      const ratio = meds.length > 1 ? `   ${(meds[0]! / meds[1]!).toFixed(2)}x` : '';
      console.log(`${label.padEnd(24)}${meds.map((m) => fmt(m).padStart(16)).join('')}${ratio}`);
      for (const s of stores) console.log(`  ${s.name} runs: ${(byStore[s.name] ?? []).map((x) => Math.round(x)).join(', ')}`);
    }
    const total = await stores[0]!.store.queryRaw({ measurement: 'icmp', from: 0, to: t + 1, limit: 10_000_000 });
    console.log(`\nduckdb icmp rows after bench: ${total.length}; wall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    for (const s of stores) await s.store.close();
    await influxd?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
