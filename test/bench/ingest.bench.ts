// Ingest capacity, measured so that it cannot flatter the server:
//   - the server runs as its own process (`node server/main.ts --config ...`), started fresh for every fleet size;
//   - the load comes from another process: real WebSocket agents speaking the wire protocol (hello, batch, ack);
//   - timestamps are the present, so nothing is refused as too old or history-only;
//   - every batch must be acked with every result accepted, and no figure may be 0: otherwise the run fails.
// Phases per store: saturation (each agent keeps 2 rounds of 10 results in flight) for each fleet size, then a
// realistic rate at the largest size (each agent one round of 10 results every 30 s), where a UI client on
// /ws/live measures the time from a batch leaving its agent to the change reaching the screen. The server's
// resident memory and CPU come from /proc. The InfluxDB reference is the raw line-protocol write rate of the same
// points from this machine (4 connections, 5,000-point batches).
//   npm run bench:ingest
//   SIZES=100,1000 SECONDS=10 REAL_SECONDS=40 STORES=duckdb,influx npm run bench:ingest
//   MODES=realistic REAL_SIZE=10000 STORES=duckdb npm run bench:ingest
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import provinceJson from '../../config/provinces/51.json' with { type: 'json' };
import { hashSecret } from '../../server/auth/password.ts';
import { icmpOk } from '../helpers/agent-client.ts';
import { agentLink, openAgent as openBenchAgent } from '../helpers/bench-agents.ts';
import { influxdAvailable, startInfluxd } from '../helpers/influxd.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '../../..');
const SIZES = (process.env.SIZES ?? '100,1000,3000,10000').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS ?? 10);
const REAL_SECONDS = Number(process.env.REAL_SECONDS ?? 45);
/** fleet size of the realistic-rate phase (default: the largest) */
const REAL_SIZE = Number(process.env.REAL_SIZE ?? Math.max(...SIZES));
const STORES = (process.env.STORES ?? 'duckdb,influx').split(',');
/** which phases run: MODES=realistic measures only the realistic rate */
const MODES = (process.env.MODES ?? 'saturate,realistic').split(',');
const PER_BATCH = 10;
const IN_FLIGHT = 2;
const ROUND_MS = 30_000;
const TOKEN = 'bench-token-0123456789';
const PASSWORD = 'bench-password-0123456789';

// ---- load process ----------------------------------------------------------------------------------------

interface LoadJob {
  url: string;
  agents: number;
  mode: 'saturate' | 'realistic';
  seconds: number;
}
interface LoadResult {
  acked: number;
  batches: number;
  elapsedS: number;
  connectS: number;
  /** realistic mode: send-to-screen latencies (ms), batches seen on /ws/live */
  latencies?: number[];
  seen?: number;
}

const agentId = (i: number) => `b${String(i).padStart(5, '0')}`;

/** agents per source address: a province's sites come from many addresses, and the server bounds connections per address */
const AGENTS_PER_ADDRESS = 200;

function openAgent(url: string, id: string, i: number): Promise<WebSocket> {
  const localAddress = `127.1.${Math.floor(i / AGENTS_PER_ADDRESS / 250)}.${1 + (Math.floor(i / AGENTS_PER_ADDRESS) % 250)}`;
  return openBenchAgent(url, id, TOKEN, 60_000, localAddress);
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const t0 = performance.now();
  const sockets: WebSocket[] = [];
  // connect in waves: a stampede of thousands of upgrades at once measures the accept queue, not ingest
  for (let i = 0; i < job.agents; i += 200) sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, job.agents - i) }, (_, k) => openAgent(job.url, agentId(i + k), i + k)))));
  const connectS = (performance.now() - t0) / 1000;
  process.send?.({ connected: true }); // the server's CPU is measured from here
  const sends = sockets.map((ws, i) => agentLink(ws, agentId(i)));
  const lastTs = new Array<number>(job.agents).fill(0);
  // strictly increasing present-time timestamps per agent: a repeated (agent, target, ts) would be a replay
  const nextTs = (i: number) => (lastTs[i] = Math.max(Date.now(), lastTs[i]! + 1));
  const round = (i: number, ts: number, n: number) => Array.from({ length: PER_BATCH }, (_, k) => icmpOk(`t${k}`, ts, 10 + ((n + k) % 7)));
  let acked = 0;
  let batches = 0;
  const out: LoadResult = { acked: 0, batches: 0, elapsedS: 0, connectS };

  if (job.mode === 'saturate') {
    const start = performance.now();
    const stopAt = start + job.seconds * 1000;
    await Promise.all(
      sends.map(async (send, i) => {
        let n = 0;
        const lane = async () => {
          while (performance.now() < stopAt) {
            await send(round(i, nextTs(i), n++));
            acked += PER_BATCH;
            batches++;
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      }),
    );
    out.elapsedS = (performance.now() - start) / 1000;
  } else {
    // a UI client, logged in like a browser
    const r = await fetch(`${job.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: job.url }, body: JSON.stringify({ username: 'bench', password: PASSWORD }) });
    if (r.status !== 200) throw new Error(`login failed: HTTP ${r.status} ${await r.text()}`);
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    const ui = new WebSocket(job.url.replace(/^http/, 'ws') + '/ws/live', { headers: { cookie, origin: job.url } });
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    ui.on('message', (d) => {
      const now = performance.now();
      const m = JSON.parse(String(d)) as { type: string };
      if (m.type !== 'delta') return;
      // any object naming an agent and a result time is a slot the frame shows: whatever the frame's shape
      const walk = (x: unknown): void => {
        if (Array.isArray(x)) for (const y of x) walk(y);
        else if (x && typeof x === 'object') {
          const o = x as { agent?: unknown; lastTs?: unknown };
          if (typeof o.agent === 'string' && typeof o.lastTs === 'number') {
            const k = `${o.agent}|${o.lastTs}`;
            const t = sentAt.get(k);
            if (t !== undefined) {
              latencies.push(now - t);
              sentAt.delete(k);
            }
          }
          for (const v of Object.values(x)) if (v && typeof v === 'object') walk(v);
        }
      };
      walk(m);
    });
    await new Promise<void>((res, rej) => (ui.once('open', () => res()), ui.once('error', rej)));
    const start = performance.now();
    const stopAt = start + job.seconds * 1000;
    const pending: Promise<void>[] = [];
    // agent i sends at offset i/N of the round: a steady 10 x N / 30 results/s
    await Promise.all(
      sends.map(async (send, i) => {
        let n = 0;
        let at = start + (i / job.agents) * ROUND_MS;
        while (at < stopAt) {
          const wait = at - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const ts = nextTs(i);
          sentAt.set(`${agentId(i)}|${ts}`, performance.now());
          const p = send(round(i, ts, n++));
          pending.push(p);
          await p;
          acked += PER_BATCH;
          batches++;
          at += ROUND_MS;
        }
      }),
    );
    out.elapsedS = (performance.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 2000)); // the last deltas
    out.latencies = latencies;
    out.seen = latencies.length;
    ui.close();
  }
  out.acked = acked;
  out.batches = batches;
  for (const ws of sockets) ws.terminate();
  return out;
}

if (process.argv[2] === '--load') {
  process.once('message', (job: LoadJob) => {
    runLoad(job).then(
      (r) => process.send!({ ok: true, r }, () => process.exit(0)),
      (e: unknown) => process.send!({ ok: false, error: e instanceof Error ? e.message : String(e) }, () => process.exit(1)),
    );
  });
}

// ---- orchestrator ----------------------------------------------------------------------------------------

const communes = (provinceJson as { communes: { code: string }[] }).communes.map((c) => c.code);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

interface ServerProc {
  url: string;
  proc: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

async function startServerProcess(agents: number, store: object, tokenHash: string, passwordHash: string): Promise<ServerProc> {
  const dir = mkdtempSync(join(tmpdir(), 'ioc-bench-'));
  const port = await freePort();
  const config = {
    province: { code: '51' },
    server: { host: '127.0.0.1', port, dataDir: join(dir, 'data') },
    store,
    carriers: [{ id: 'vnpt', name: 'VNPT' }],
    targets: Array.from({ length: PER_BATCH }, (_, k) => ({ id: `t${k}`, name: `T${k}`, kind: 'icmp', host: '127.0.0.1' })),
    agents: Array.from({ length: agents }, (_, i) => ({ id: agentId(i), commune: communes[i % communes.length], tokenHash, uplinks: [{ name: 'wan1', carrier: 'vnpt', gateway: '127.0.0.1' }] })),
    users: [{ username: 'bench', role: 'admin', passwordHash }],
    // the cheapest token check the config allows: the bench measures ingest, not 10,000 scrypt checks at connect
    security: { minScryptN: 1024 },
    simulator: { enabled: false },
  };
  const file = join(dir, 'config.yaml');
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  // BENCH_PROF=<dir>: the server writes a CPU profile there when it stops (node --cpu-prof)
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  // BENCH_LOG=<file>: the server's log goes there (appended), else nowhere
  const out = process.env.BENCH_LOG ? openSync(process.env.BENCH_LOG, 'a') : 'ignore';
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', join(ROOT, 'server/main.ts'), '--config', file], { cwd: ROOT, stdio: ['ignore', out, 'pipe'], env: { ...process.env, IOC_SIMULATOR: '0' } });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr = (stderr + String(d)).slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  // generous: on a loaded 2-core machine compiling the server and opening DuckDB can take a minute
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${url}/api/health`)).status < 500) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`server not up within 180 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url, proc, dir,
    async stop() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system) and resident MB of a process, from /proc */
function usage(pid: number): { cpuS: number; rssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS, rssMB: Number(rss?.[1] ?? 0) / 1024 };
}

function runLoadProcess(job: LoadJob, onConnected: () => void): Promise<LoadResult> {
  const child = fork(SELF, ['--load'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  return new Promise((res, rej) => {
    child.on('message', (m: { connected?: true; ok?: boolean; r?: LoadResult; error?: string }) => {
      if (m.connected) onConnected();
      else if (m.ok) res(m.r!);
      else rej(new Error(`load: ${m.error}`));
    });
    child.once('exit', (code) => code !== 0 && rej(new Error(`load process exited ${code}`)));
    child.send(job);
  });
}

interface Row {
  /** why the phase failed (the table still prints; the run exits non-zero) */
  failed?: string;
  store: string;
  agents: number;
  mode: string;
  rate: number;
  cpuPct: number;
  rssMB: number;
  /** the server's JavaScript heap in use and its memory outside the heap (buffers, sockets), from its /metrics */
  heapMB: number;
  externalMB: number;
  /** DuckDB's buffer pool (ioc_store_memory_bytes), NaN for InfluxDB */
  storeMB: number;
  connectS: number;
  lat?: { p50: number; p99: number; max: number; seen: number; of: number };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function phase(store: string, storeCfg: object, agents: number, mode: LoadJob['mode'], hashes: [string, string]): Promise<Row> {
  const s = await startServerProcess(agents, storeCfg, ...hashes);
  try {
    const seconds = mode === 'saturate' ? SECONDS : REAL_SECONDS;
    // CPU over the load window only, not the connect wave (token checks) before it
    let u0 = usage(s.proc.pid!);
    let t0 = performance.now();
    const r = await runLoadProcess({ url: s.url, agents, mode, seconds }, () => ((u0 = usage(s.proc.pid!)), (t0 = performance.now())));
    const u1 = usage(s.proc.pid!);
    const wall = (performance.now() - t0) / 1000;
    const rate = r.acked / r.elapsedS;
    const heap = await heapOf(s.url);
    const row: Row = { store, agents, mode, rate, cpuPct: (100 * (u1.cpuS - u0.cpuS)) / wall, rssMB: u1.rssMB, ...heap, connectS: r.connectS };
    if (r.acked === 0 || !(rate > 0)) throw new Error(`${store} ${agents} agents ${mode}: nothing acked (rate ${rate})`);
    if (mode === 'realistic') {
      const lat = r.latencies!;
      row.lat = { p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat), seen: r.seen!, of: r.batches };
      if (lat.length === 0) throw new Error(`${store} ${agents} agents: no batch reached the UI feed`);
      // a batch that never shows on the screen is a failure, not a missing sample
      if (r.seen! < r.batches * 0.99) throw new Error(`${store} ${agents} agents: only ${r.seen} of ${r.batches} batches reached the UI feed`);
    }
    return row;
  } finally {
    await s.stop();
  }
}

/** the server's heap and external memory (MB) from its own /metrics (scraped from loopback, allowed by default) */
async function heapOf(url: string): Promise<{ heapMB: number; externalMB: number; storeMB: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { heapMB: gauge('ioc_nodejs_heap_size_used_bytes'), externalMB: gauge('ioc_nodejs_external_memory_bytes'), storeMB: gauge('ioc_store_memory_bytes\\{[^}]*\\}') };
}

/** The same points as raw line protocol straight into influxd: 4 connections, 5,000-point batches. */
async function influxReference(url: string, seconds: number): Promise<number> {
  await fetch(`${url}/query?q=${encodeURIComponent('CREATE DATABASE ref')}`, { method: 'POST' });
  const stopAt = performance.now() + seconds * 1000;
  let points = 0;
  let n = 0;
  const start = performance.now();
  const tsBase = Date.now() * 1e6;
  const body = () => {
    const lines: string[] = [];
    const ns = tsBase + n++ * 1e6;
    for (let a = 0; a < 500; a++)
      for (let k = 0; k < PER_BATCH; k++)
        lines.push(`icmp,province=51,commune=${communes[a % communes.length]},carrier=vnpt,agent=${agentId(a)},target=t${k},uplink=wan1 sent=10i,received=10i,loss=0,rtt_min=${10 + k},rtt_median=${10 + k},rtt_avg=${10 + k},rtt_max=${10 + k},jitter=0,backfilled=false ${ns}`);
    return lines.join('\n');
  };
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < stopAt) {
        const r = await fetch(`${url}/write?db=ref&precision=ns`, { method: 'POST', body: body() });
        if (r.status !== 204) throw new Error(`influx reference write: HTTP ${r.status} ${await r.text()}`);
        points += 5000;
      }
    }),
  );
  return points / ((performance.now() - start) / 1000);
}

async function main() {
  const hashes: [string, string] = [await hashSecret(TOKEN, { N: 1024 }), await hashSecret(PASSWORD, { N: 1024 })];
  const rows: Row[] = [];
  let reference: number | null = null;
  const influxd = STORES.includes('influx') && influxdAvailable() ? await startInfluxd() : null;
  if (STORES.includes('influx') && !influxd) console.log('influxd not installed: InfluxDB rows skipped (apt-get install influxdb)');
  try {
    const stores: [string, object][] = [];
    if (STORES.includes('duckdb')) stores.push(['duckdb', { kind: 'duckdb' }]);
    if (influxd) stores.push(['influx', { kind: 'influx', url: influxd.url, database: 'bench' }]);
    const attempt = async (name: string, cfg: object, n: number, mode: LoadJob['mode']) => {
      try {
        const row = await phase(name, cfg, n, mode, hashes);
        console.log(`  ${name} ${n} agents ${mode}: ${Math.round(row.rate)} results/s${row.lat ? `, p99 ${row.lat.p99.toFixed(0)} ms` : ''} (connect ${row.connectS.toFixed(1)} s)`);
        rows.push(row);
      } catch (e) {
        const failed = e instanceof Error ? e.message : String(e);
        console.log(`  ${name} ${n} agents ${mode}: FAILED ${failed}`);
        rows.push({ failed, store: name, agents: n, mode, rate: 0, cpuPct: 0, rssMB: 0, heapMB: 0, externalMB: 0, storeMB: NaN, connectS: 0 });
      }
    };
    for (const [name, cfg] of stores) {
      if (MODES.includes('saturate')) for (const n of SIZES) await attempt(name, cfg, n, 'saturate');
      if (MODES.includes('realistic')) await attempt(name, cfg, REAL_SIZE, 'realistic');
    }
    if (influxd) reference = await influxReference(influxd.url, SECONDS);
  } finally {
    await influxd?.dispose();
  }

  console.log(`\ningest bench: server and load in separate processes, ${PER_BATCH} targets per agent, default server settings`);
  console.log(`saturation: ${IN_FLIGHT} rounds in flight per agent, ${SECONDS} s; realistic: 1 round / ${ROUND_MS / 1000} s per agent, ${REAL_SECONDS} s\n`);
  console.log('store   agents  mode        acked res/s  server CPU  server RSS  heap / ext / store MB  send→UI p50 / p99 / max (ms)  seen');
  for (const r of rows) {
    if (r.failed) {
      console.log(`${r.store.padEnd(7)} ${String(r.agents).padStart(6)}  ${r.mode.padEnd(10)} FAILED: ${r.failed.slice(0, 150)}`);
      continue;
    }
    const lat = r.lat ? `${r.lat.p50.toFixed(0).padStart(6)} / ${r.lat.p99.toFixed(0).padStart(5)} / ${r.lat.max.toFixed(0).padStart(5)}` : ''.padStart(22);
    console.log(
      `${r.store.padEnd(7)} ${String(r.agents).padStart(6)}  ${r.mode.padEnd(10)} ${Math.round(r.rate).toString().padStart(12)}  ${r.cpuPct.toFixed(0).padStart(8)} %  ${r.rssMB.toFixed(0).padStart(7)} MB  ${`${r.heapMB.toFixed(0)} / ${r.externalMB.toFixed(0)} / ${Number.isNaN(r.storeMB) ? '-' : r.storeMB.toFixed(0)}`.padStart(21)}  ${lat.padEnd(29)} ${r.lat ? `${r.lat.seen}/${r.lat.of}` : ''}`,
    );
  }
  for (const store of new Set(rows.map((r) => r.store))) {
    const sat = rows.filter((r) => r.store === store && r.mode === 'saturate' && !r.failed);
    if (sat.length > 1) console.log(`${store}: saturated rate at ${sat.at(-1)!.agents} agents is ${((100 * sat.at(-1)!.rate) / sat[0]!.rate).toFixed(0)} % of the rate at ${sat[0]!.agents} (target ≥ 90 %)`);
  }
  if (reference !== null) {
    console.log(`InfluxDB raw line protocol, same points, 4 connections x 5,000-point batches: ${Math.round(reference)} points/s`);
    const best = Math.max(0, ...rows.filter((r) => r.store === 'influx' && r.mode === 'saturate').map((r) => r.rate));
    console.log(`influx path: best saturated rate is ${((100 * best) / reference).toFixed(0)} % of the reference (target ≥ 80 %)`);
  }
  const failed = rows.filter((r) => r.failed);
  if (failed.length) throw new Error(`${failed.length} phase(s) failed: ${failed.map((r) => `${r.store} ${r.agents} ${r.mode}`).join(', ')}`);
}

if (process.argv[2] !== '--load') {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`\nBENCH FAILED: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
