// Ingest throughput: how many results/s one server takes from real WebSocket agents into each store, acked
// (i.e. durably written). Both stores run side by side in one process, several repetitions, medians reported.
//   npm run bench:ingest            (AGENTS=96 SECONDS=8 REPS=3 to change the shape)
import { icmpOk } from '../helpers/agent-client.ts';
import { connectAgent, type TestAgentClient } from '../helpers/agent-client.ts';
import { startInfluxd, influxdAvailable } from '../helpers/influxd.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { ProbeResult } from '../../config/wire.ts';
import provinceJson from '../../config/provinces/51.json' with { type: 'json' };

const AGENTS = Number(process.env.AGENTS ?? 96);
const SECONDS = Number(process.env.SECONDS ?? 8);
const REPS = Number(process.env.REPS ?? 3);
/** results per batch: one round of 10 targets; each agent keeps 2 batches in flight, like the real agent */
const PER_BATCH = 10;
const IN_FLIGHT = 2;

const communes = (provinceJson as { communes: { code: string }[] }).communes.map((c) => c.code);

async function runOnce(s: TestServer, rep: number): Promise<number> {
  const clients: TestAgentClient[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const c = await connectAgent(s.url, `bench-${i}`, s.tokens[`bench-${i}`]!);
    await c.hello();
    clients.push(c);
  }
  let acked = 0;
  const stopAt = Date.now() + SECONDS * 1000;
  const base = Date.UTC(2026, 0, 1) + rep * 1e9;
  const t0 = Date.now();
  await Promise.all(
    clients.map(async (c, i) => {
      let n = 0;
      const lane = async () => {
        while (Date.now() < stopAt) {
          const ts = base + (n++ * 1000) ;
          const results: ProbeResult[] = [];
          for (let k = 0; k < PER_BATCH; k++) results.push(icmpOk(`t${k}`, ts + i, 10 + (k % 7)));
          const r = await c.batch(results, undefined, 30_000);
          if (r.type === 'ack') acked += r.accepted;
          else throw new Error(`not acked: ${r.message}`);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    }),
  );
  const rate = acked / ((Date.now() - t0) / 1000);
  clients.forEach((c) => c.close());
  return rate;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const agents = Array.from({ length: AGENTS }, (_, i) => ({ id: `bench-${i}`, commune: communes[i % communes.length]! }));
  const targets = Array.from({ length: PER_BATCH }, (_, k) => ({ id: `t${k}`, name: `T${k}`, kind: 'icmp' as const, host: '127.0.0.1' }));
  const influxd = influxdAvailable() ? await startInfluxd() : null;
  const servers: [string, TestServer][] = [['duckdb', await startTestServer({ agents, targets })]];
  if (influxd) servers.push(['influx', await startTestServer({ agents, targets, store: { kind: 'influx', url: influxd.url, database: 'bench' } })]);
  else console.log('influxd not installed: InfluxDB column skipped (apt-get install influxdb)');
  const rates: Record<string, number[]> = {};
  for (let rep = 0; rep < REPS; rep++)
    for (const [name, s] of servers) (rates[name] ??= []).push(await runOnce(s, rep));
  console.log(`ingest: ${AGENTS} agents x ${IN_FLIGHT} batches in flight x ${PER_BATCH} results, ${SECONDS} s x ${REPS} reps (acked results/s)`);
  for (const [name, xs] of Object.entries(rates)) console.log(`  ${name.padEnd(7)} median ${Math.round(median(xs))}/s   runs ${xs.map((x) => Math.round(x)).join(', ')}`);
  if (rates.influx && rates.duckdb) console.log(`  duckdb/influx ratio ${(median(rates.duckdb) / median(rates.influx)).toFixed(2)}`);
  const province = AGENTS * 10 / 30;
  console.log(`  (a province at the default plan produces about ${province.toFixed(0)} results/s: ${AGENTS} agents x 10 targets / 30 s)`);
  for (const [, s] of servers) await s.stop();
  await influxd?.dispose();
}

await main();
process.exit(0);
