// The carrier report's cost when the carrier runs TSLCD lines: `N=10 npx tsx test/bench/tslcd-report.bench.ts`
// A month of 5-min ICMP rounds (2 targets) over N communes, each with a VNPT TSLCD line and a VNPT Internet line, in a
// temporary DuckDB file, rolled up. The same report is built with the TSLCD line unmarked (the link rows: one read of
// the carrier's pooled rows) and marked `network: tslcd` (per line from the series rollups, hourly), alternately;
// medians of REPS runs (default 5) of each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../config/schema.ts';
import { buildDirectory } from '../../server/directory.ts';
import { buildCarrierReport } from '../../server/reports/data/carrier.ts';
import { roundClassifier, runRollup } from '../../server/reports/data/rollups.ts';
import { DuckDbStore } from '../../server/stores/duckdb.ts';
import type { Point } from '../../server/stores/types.ts';
import { province } from '../reports/fixtures.ts';
const H = 3_600_000;
const from = Date.UTC(2026, 9, 1) - 7 * H, to = Date.UTC(2026, 10, 1) - 7 * H;
const N = Number(process.env.N ?? 10);
const communes = province.communes.slice(0, N).map((c) => c.code);
const mk = (tslcd: boolean) => configSchema.parse({
  province: { code: '51' }, carriers: [{ id: 'vnpt', name: 'VNPT' }, { id: 'viettel', name: 'Viettel' }],
  targets: [{ id: 'gw', name: 'gw', kind: 'icmp', host: 'gateway' }, { id: 'dc', name: 'dc', kind: 'icmp', host: '203.0.113.1' }],
  agents: communes.map((c) => ({ id: `ag-${c}`, commune: c, tokenHash: 'scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNo',
    uplinks: [{ name: 'tslcd', carrier: 'vnpt', gateway: '10.0.0.1', ...(tslcd ? { network: 'tslcd' } : {}) }, { name: 'ftth', carrier: 'vnpt', gateway: '192.168.1.1' }] })),
});
const d = mkdtempSync(join(tmpdir(), 'h20b-'));
const store = new DuckDbStore(join(d, 'x.duckdb'));
await store.init();
const pts: Point[] = [];
for (const c of communes) for (const u of ['tslcd', 'ftth']) for (let ts = from; ts < to; ts += 300_000) for (const t of ['gw', 'dc']) {
  const down = u === 'tslcd' && (ts / 300_000) % 50 === 0;
  pts.push({ measurement: 'icmp', ts, tags: { province: '51', commune: c, carrier: 'vnpt', agent: `ag-${c}`, target: t, uplink: u },
    fields: { sent: 10, received: down ? 0 : 10, loss: down ? 100 : 0, rtt_min: 10, rtt_median: down ? null : 10, rtt_avg: 10, rtt_max: 10, jitter: 0.1, error: null, backfilled: false } });
}
for (let i = 0; i < pts.length; i += 50_000) await store.write(pts.slice(i, i + 50_000));
const dirs = { links: buildDirectory(mk(false), province), perLine: buildDirectory(mk(true), province) };
await runRollup(store, roundClassifier(dirs.links), { from, to, now: to + 10 * H });
const DEAD = { minAvailabilityPct: 99, maxLossPct: 2, maxRttP95Ms: 150 };
const period = { from, to, label: 'x' };
const REPS = Number(process.env.REPS ?? 5);
const ms: Record<keyof typeof dirs, number[]> = { links: [], perLine: [] };
for (let i = 0; i < REPS; i++)
  for (const k of ['links', 'perLine'] as const) {
    const t0 = performance.now();
    const r = await buildCarrierReport(store, dirs[k], 'vnpt', period, DEAD, to + 10 * H, { ensureRollups: false });
    ms[k].push(performance.now() - t0);
    if (i === 0) console.log(k, 'rows', r.rows.length, 'tslcdRows', r.tslcdRows?.length ?? 0, 'availability', r.rows[0]?.availabilityPct?.toFixed(2), r.tslcdRows?.[0]?.availabilityPct?.toFixed(2) ?? '-');
  }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${N} communes, ${pts.length} points: link rows median ${median(ms.links).toFixed(0)} ms, per line (TSLCD apart) median ${median(ms.perLine).toFixed(0)} ms`);
await store.close();
rmSync(d, { recursive: true, force: true });
