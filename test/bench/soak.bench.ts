// Soak: does the embedded store's memory stay bounded with a month of a big province's history?
//   1. DAYS of raw rounds of SITES sites x 10 targets (6 ICMP, 4 HTTP) every INTERVAL_S, generated straight into a
//      fresh DuckDB file with SQL (INSERT ... SELECT FROM range(), one statement per hour), ending now; hourly rollups
//      (and their coverage) for every generated hour but the last ROLL_HOURS closed ones, which the server rolls up
//      itself during the run, as it would after a restart;
//   2. the real server, its own process, on that file, with every site an agent;
//   3. from another process, every agent one round of 10 results per 30 s (the province rate) over real WebSockets,
//      every batch acked in full or the run fails;
//   4. every 10 s: server RSS (from /proc), file size, acked results; halfway, a DOST month and a carrier month
//      report through the API, timed.
//   npm run bench:soak                                   (60 min at 3,000 sites, 30 days)
//   MINUTES=15 npm run bench:soak
//   SITES=300 DAYS=7 MINUTES=5 npm run bench:soak
//   BENCH_PROF=/tmp/prof SITES=3000 DAYS=1 MINUTES=4 npm run bench:soak   (the server's CPU profile)
//   Side by side with the keyed schema of an older checkout: SERVER_ROOT=/path/to/old/checkout (its server and store
//   run; its store creates the raw tables with the PRIMARY KEY).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type WebSocket from 'ws';
import provinceJson from '../../config/provinces/51.json' with { type: 'json' };
import type { ProbeResult } from '../../config/wire.ts';
import { hashSecret } from '../../server/auth/password.ts';
import { FIGURE_COLS, HIST_BINS, HIST_COLS } from '../../server/stores/rollup.ts';
import { icmpOk } from '../helpers/agent-client.ts';
import { agentLink, openAgent } from '../helpers/bench-agents.ts';
import { freePort } from '../helpers/influxd.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(SELF, '../../..');
const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const MINUTES = Number(arg('minutes') ?? process.env.MINUTES ?? 60);
const SITES = Number(arg('sites') ?? process.env.SITES ?? 3000);
const DAYS = Number(arg('days') ?? process.env.DAYS ?? 30);
/** the default plan's rounds: ICMP every 30 s, HTTP every 60 s (config defaults) */
const INTERVAL_S = Number(process.env.INTERVAL_S ?? 30);
const HTTP_INTERVAL_S = Number(process.env.HTTP_INTERVAL_S ?? 60);
/** closed hours left for the server to roll up itself */
const ROLL_HOURS = Number(process.env.ROLL_HOURS ?? 2);
const SERVER_ROOT = resolve(process.env.SERVER_ROOT ?? ROOT);
const SAMPLE_MS = 10_000;
const ROUND_MS = 30_000;
const H = 3_600_000;
const DAY = 24 * H;
const TOKEN = 'soak-token-0123456789';
const PASSWORD = 'soak-password-0123456789';
const CARRIERS = ['vnpt', 'viettel', 'mobifone', 'fpt'];
const ICMP_TARGETS = ['t0', 't1', 't2', 't3', 't4', 't5'];
const HTTP_TARGETS = ['t6', 't7', 't8', 't9'];
const communes = (provinceJson as { communes: { code: string }[] }).communes.map((c) => c.code);
const agentId = (i: number) => `s${String(i).padStart(5, '0')}`;
const sqlList = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

// ---- load process: the agents ------------------------------------------------------------------------------

interface LoadJob {
  url: string;
  agents: number;
  seconds: number;
}

function round(ts: number, n: number): ProbeResult[] {
  return [
    ...ICMP_TARGETS.map((t, k) => icmpOk(t, ts, 8 + ((n + k) % 30))),
    ...HTTP_TARGETS.map((t, k): ProbeResult => ({ kind: 'http', target: t, ts, uplink: 'wan1', ok: true, status: 200, total_ms: 200 + ((n * 7 + k) % 400) })),
  ];
}

/** 200 agents per loopback source address: the server bounds agent connections per address (server.limits). */
const sourceAddress = (i: number) => `127.0.${1 + Math.floor(i / 200 / 250)}.${1 + (Math.floor(i / 200) % 250)}`;

async function runLoad(job: LoadJob): Promise<void> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < job.agents; i += 200) sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, job.agents - i) }, (_, k) => openAgent(job.url, agentId(i + k), TOKEN, 120_000, sourceAddress(i + k))))));
  const sends = sockets.map((ws, i) => agentLink(ws, agentId(i)));
  let acked = 0;
  const report = setInterval(() => process.send!({ acked }), 2000);
  process.send!({ connected: true });
  const start = performance.now();
  const stopAt = start + job.seconds * 1000;
  // agent i sends at offset i/N of the round: a steady 10 x N / 30 results/s
  await Promise.all(
    sends.map(async (send, i) => {
      let n = 0;
      let at = start + (i / job.agents) * ROUND_MS;
      let last = 0;
      while (at < stopAt) {
        const wait = at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const ts = (last = Math.max(Date.now(), last + 1));
        await send(round(ts, n++));
        acked += 10;
        at += ROUND_MS;
      }
    }),
  );
  clearInterval(report);
  process.send!({ acked, done: true });
  for (const ws of sockets) ws.terminate();
}

if (process.argv[2] === '--load') {
  process.once('message', (job: LoadJob) => {
    runLoad(job).then(
      () => process.exit(0),
      (e: unknown) => process.send!({ error: e instanceof Error ? e.message : String(e) }, () => process.exit(1)),
    );
  });
}

// ---- generation ----------------------------------------------------------------------------------------------

/** Raw rounds of [from, to) (hour-aligned) and rollups of [from, rollTo), straight into the file. */
async function generate(file: string, from: number, to: number, rollTo: number): Promise<{ rows: number; seconds: number }> {
  const t0 = performance.now();
  const inst = await DuckDBInstance.create(file, { memory_limit: '1GB' });
  const c = await inst.connect();
  const perHour = H / (INTERVAL_S * 1000);
  const rowsPerHour = SITES * ((H / (INTERVAL_S * 1000)) * ICMP_TARGETS.length + (H / (HTTP_INTERVAL_S * 1000)) * HTTP_TARGETS.length);
  const site = `s.s`;
  const tags =
    `'51' AS province, ${sqlList(communes)}[(${site} % ${communes.length}) + 1] AS commune, ${sqlList(CARRIERS)}[(${site} % 4) + 1] AS carrier, ` +
    `'s' || lpad(${site}::VARCHAR, 5, '0') AS agent`;
  // a few failed rounds, spread by a hash: every 200th ICMP round lost, every 300th HTTP check failing
  let rows = 0;
  // The first day is computed; every later day is a copy of it, shifted (DuckDB copies columns several times faster
  // than it evaluates the hashes, and a month of a 3,000-site province is 2 billion rows).
  const firstDayEnd = Math.min(to, from + DAY);
  for (let h = from; h < firstDayEnd; h += H) {
    const ts = (every: number) => `(${h} + r.r * ${every * 1000} + (${site} * 7) % ${every * 1000})`;
    const grid = (every: number, targets: number) => `FROM range(${H / (every * 1000)}) r(r) CROSS JOIN range(${SITES}) s(s) CROSS JOIN range(${targets}) t(t)`;
    const lost = `(hash(r.r, ${site}, t.t, ${h}) % 200 = 0)`;
    const rtt = `(8 + (hash(${site}, t.t) % 40) + (hash(r.r, ${site}, t.t, ${h}) % 7))::DOUBLE`;
    await c.run(
      `INSERT INTO icmp (ts, province, commune, carrier, agent, target, uplink, sent, received, loss, rtt_min, rtt_median, rtt_avg, rtt_max, jitter, backfilled) ` +
        `SELECT ${ts(INTERVAL_S)}, ${tags}, ${sqlList(ICMP_TARGETS)}[t.t + 1], 'wan1', 10, CASE WHEN ${lost} THEN 0 ELSE 10 END, CASE WHEN ${lost} THEN 100 ELSE 0 END, ` +
        `CASE WHEN ${lost} THEN NULL ELSE ${rtt} END, CASE WHEN ${lost} THEN NULL ELSE ${rtt} END, CASE WHEN ${lost} THEN NULL ELSE ${rtt} END, ` +
        `CASE WHEN ${lost} THEN NULL ELSE ${rtt} + 5 END, 0, false ${grid(INTERVAL_S, ICMP_TARGETS.length)}`,
    );
    const failed = `(hash(r.r, ${site}, t.t, ${h}, 1) % 300 = 0)`;
    await c.run(
      `INSERT INTO http (ts, province, commune, carrier, agent, target, uplink, ok, status, total_ms, backfilled) ` +
        `SELECT ${ts(HTTP_INTERVAL_S)}, ${tags}, ${sqlList(HTTP_TARGETS)}[t.t + 1], 'wan1', NOT ${failed}, CASE WHEN ${failed} THEN 503 ELSE 200 END, ` +
        `(200 + hash(r.r, ${site}, t.t) % 400)::DOUBLE, false ${grid(HTTP_INTERVAL_S, HTTP_TARGETS.length)}`,
    );
    rows += rowsPerHour;
  }
  for (let d = firstDayEnd; d < to; d += DAY) {
    const shift = d - from;
    const until = Math.min(to, d + DAY) - shift;
    for (const m of ['icmp', 'http']) await c.run(`INSERT INTO ${m} SELECT * REPLACE (ts + ${shift} AS ts) FROM ${m} WHERE ts >= ${from} AND ts < ${until}`);
    rows += ((until - from) / H) * rowsPerHour;
    if (((d - from) / DAY) % 5 === 0) console.log(`  generated ${((d - from) / DAY).toFixed(0)} days, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  // Rollups: one row per series and hour with the figures a clean hour has (the report reads them, their exact
  // values do not matter here); one link row per commune, carrier and hour.
  const figs = (rounds: string, failed: string, lat: string, bin: number) =>
    [rounds, failed, '0', `${failed} * 100`, rounds, `${lat} * (${rounds} - ${failed})`, `${rounds} - ${failed}`, lat, lat, ...Array.from({ length: HIST_BINS }, (_, k) => (k === bin ? `${rounds} - ${failed}` : '0'))].join(', ');
  const cols = ['hour', 'province', 'commune', 'carrier', 'agent', 'target', 'uplink', ...FIGURE_COLS, ...HIST_COLS].map((x) => `"${x}"`).join(', ');
  const hours = `FROM range(${from}, ${rollTo}, ${H}) hr(hour) CROSS JOIN range(${SITES}) s(s) CROSS JOIN range(TARGETS) t(t)`;
  if (rollTo > from) {
    for (const [m, targets, bin] of [['icmp', ICMP_TARGETS, 14], ['http', HTTP_TARGETS, 26]] as const) {
      await c.run(
        `INSERT INTO ${m}_1h (${cols}) SELECT hr.hour, ${tags}, ${sqlList([...targets])}[t.t + 1], 'wan1', ${figs(String(m === 'icmp' ? perHour : H / (HTTP_INTERVAL_S * 1000)), '(hash(hr.hour, s.s, t.t) % 2)', m === 'icmp' ? '25.0' : '400.0', bin)} ` +
          hours.replace('TARGETS', String(targets.length)),
      );
    }
    await c.run(
      `INSERT INTO link_1h SELECT hr.hour, '51', ${sqlList(communes)}[(s.s % ${communes.length}) + 1], ${sqlList(CARRIERS)}[(s.s % 4) + 1], ` +
        `((hr.hour + 7 * ${H}) % ${DAY}) // ${H}, false, false, ${figs(String(perHour * ICMP_TARGETS.length), '0', '25.0', 14)} ` +
        `FROM range(${from}, ${rollTo}, ${H}) hr(hour) CROSS JOIN range(${Math.min(SITES, communes.length * 4)}) s(s)`,
    );
    await c.run(`INSERT INTO rollup_hours SELECT range, ${Date.now()}, ${rowsPerHour} FROM range(${from}, ${rollTo}, ${H})`);
  }
  await c.run('CHECKPOINT');
  c.closeSync();
  inst.closeSync();
  return { rows, seconds: (performance.now() - t0) / 1000 };
}

// ---- orchestrator ----------------------------------------------------------------------------------------------

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}
const fileMB = (f: string) => ['', '.wal'].reduce((n, ext) => n + (existsSync(f + ext) ? statSync(f + ext).size : 0), 0) / 1_048_576;

async function startServer(dir: string, file: string): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const hasLimits = readFileSync(join(SERVER_ROOT, 'config/schema.ts'), 'utf8').includes('agentConnectionsPerAddress');
  const [tokenHash, passwordHash] = [await hashSecret(TOKEN, { N: 1024 }), await hashSecret(PASSWORD, { N: 1024 })];
  const config = {
    province: { code: '51' },
    // every agent connects from 127.0.0.1 here (an older checkout may have no such limit)
    server: { host: '127.0.0.1', port, dataDir: join(dir, 'data'), ...(hasLimits ? { limits: { agentConnectionsPerAddress: SITES + 100 } } : {}) },
    store: { kind: 'duckdb', file, rawRetentionDays: Math.max(1, Math.ceil(DAYS)) },
    carriers: CARRIERS.map((id) => ({ id, name: id.toUpperCase() })),
    targets: [
      ...ICMP_TARGETS.map((id) => ({ id, name: `Ping ${id}`, kind: 'icmp', host: '127.0.0.1' })),
      ...HTTP_TARGETS.map((id) => ({ id, name: `Web ${id}`, kind: 'http', url: `http://127.0.0.1/${id}` })),
    ],
    agents: Array.from({ length: SITES }, (_, i) => ({
      id: agentId(i),
      commune: communes[i % communes.length],
      tokenHash,
      uplinks: [{ name: 'wan1', carrier: CARRIERS[i % 4], gateway: '127.0.0.1' }],
    })),
    users: [{ username: 'soak', role: 'admin', passwordHash }],
    security: { minScryptN: 1024 },
    simulator: { enabled: false },
  };
  const cfgFile = join(dir, 'config.yaml');
  writeFileSync(cfgFile, JSON.stringify(config));
  // BENCH_PROF=<dir>: the server writes a CPU profile there when it stops (node --cpu-prof)
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', join(SERVER_ROOT, 'server/main.ts'), '--config', cfgFile], {
    cwd: SERVER_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, IOC_SIMULATOR: '0' },
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr = (stderr + String(d)).slice(-3000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${url}/api/health`)).status < 500) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`server not up within 600 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    url,
    proc,
    async stop() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** connections reset under a report poll (each retried once) */
let resets = 0;

/** Generates a report through the API and waits for it; seconds from request to done. */
async function timeReport(url: string, cookie: string, body: object): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${url}/api/reports`, { method: 'POST', headers: { 'content-type': 'application/json', origin: url, cookie }, body: JSON.stringify(body) });
  if (r.status !== 202) throw new Error(`report ${JSON.stringify(body)}: HTTP ${r.status} ${await r.text()}`);
  const { job } = (await r.json()) as { job: string };
  for (;;) {
    await new Promise((res) => setTimeout(res, 250));
    // `job` is the progress URL's path
    // a GET is retried once on a reset, as a browser does when a kept-alive connection closes under it
    const poll = () => fetch(`${url}${job.startsWith('/') ? job : `/api/reports/jobs/${job}`}`, { headers: { cookie } });
    const res = await poll().catch(async (e: unknown) => {
      resets++;
      console.log(`  report poll: ${e instanceof Error ? `${e.message} (${String(e.cause)})` : String(e)}; retrying once`);
      return poll();
    });
    const p = (await res.json()) as { status: string; error?: string | null };
    if (p.status === 'done') return (performance.now() - t0) / 1000;
    if (res.status !== 200 || p.status === 'failed' || p.status === 'retrying') throw new Error(`report ${JSON.stringify(body)}: HTTP ${res.status} ${JSON.stringify(p)}`);
    if (performance.now() - t0 > 900_000) throw new Error(`report ${JSON.stringify(body)}: not done after 15 min (${JSON.stringify(p)})`);
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'ioc-soak-'));
  const file = join(dir, 'data', 'ioc.duckdb');
  try {
    // the schema as the server under test creates it
    const { DuckDbStore } = (await import(join(SERVER_ROOT, 'server/stores/duckdb.ts'))) as typeof import('../../server/stores/duckdb.ts');
    const s = new DuckDbStore(file);
    await s.init();
    await s.close();
    const now = Date.now();
    const to = Math.floor(now / H) * H;
    const from = to - DAYS * DAY;
    const rollTo = to - ROLL_HOURS * H;
    console.log(`soak: generating ${DAYS} days x ${SITES} sites x 10 targets (6 ICMP every ${INTERVAL_S} s, 4 HTTP every ${HTTP_INTERVAL_S} s)...`);
    const g = await generate(file, from, to, rollTo);
    const genMB = fileMB(file);
    console.log(`soak: ${g.rows} raw rows in ${g.seconds.toFixed(0)} s (${Math.round(g.rows / g.seconds)} rows/s); file ${genMB.toFixed(0)} MB`);

    const t0 = performance.now();
    const srv = await startServer(dir, file);
    const startS = (performance.now() - t0) / 1000;
    const pid = srv.proc.pid!;
    console.log(`soak: server up in ${startS.toFixed(1)} s, RSS ${rssMB(pid).toFixed(0)} MB; ${SITES} agents connecting`);
    const samples: { min: number; rss: number; mb: number; acked: number }[] = [];
    /** the server's longest event-loop stall (s) in each sampling window */
    const stalls: number[] = [];
    let acked = 0;
    let loadStart = 0;
    let loadS = 0;
    const reports: Record<string, number | string> = {};
    try {
      const load = fork(SELF, ['--load'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
      const done = new Promise<void>((res, rej) => {
        load.on('message', (m: { connected?: true; acked?: number; done?: true; error?: string }) => {
          if (m.connected) {
            loadStart = performance.now();
            console.log(`soak: agents connected in ${((loadStart - t0) / 1000 - startS).toFixed(1)} s; load for ${MINUTES} min`);
          }
          if (m.acked !== undefined) acked = m.acked;
          if (m.error) rej(new Error(`load: ${m.error}`));
          if (m.done) res();
        });
        load.once('exit', (code) => (code === 0 ? res() : rej(new Error(`load process exited ${code}`))));
      });
      load.send({ url: srv.url, agents: SITES, seconds: MINUTES * 60 } satisfies LoadJob);
      const sampler = setInterval(() => {
        if (!loadStart) return;
        const min = (performance.now() - loadStart) / 60_000;
        const row = { min, rss: rssMB(pid), mb: fileMB(file), acked };
        samples.push(row);
        if (samples.length % 6 === 0) console.log(`  ${min.toFixed(1).padStart(5)} min  RSS ${row.rss.toFixed(0).padStart(5)} MB  file ${row.mb.toFixed(0)} MB  acked ${acked}  longest stall in the last minute ${Math.max(...stalls.slice(-6)).toFixed(2)} s`);
        // the server's longest event-loop stall since the last scrape (prom-client resets its histogram per scrape)
        void fetch(`${srv.url}/metrics`)
          .then((r) => r.text())
          .then((t) => stalls.push(Number(/^ioc_nodejs_eventloop_lag_max_seconds (\S+)/m.exec(t)?.[1] ?? NaN)))
          .catch(() => stalls.push(NaN));
      }, SAMPLE_MS);
      // halfway through: the two monthly reports, while the load goes on
      const reportsDone = (async () => {
        while (!loadStart) await new Promise((r) => setTimeout(r, 1000));
        await new Promise((r) => setTimeout(r, (MINUTES * 60_000) / 2));
        const login = await fetch(`${srv.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: srv.url }, body: JSON.stringify({ username: 'soak', password: PASSWORD }) });
        if (login.status !== 200) throw new Error(`login: HTTP ${login.status}`);
        const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
        // the month before when a whole one was generated, else the generated days (Asia/Ho_Chi_Minh days)
        const period = DAYS >= 31 ? { type: 'month', from: new Date(now - 20 * DAY).toISOString().slice(0, 10) } : { type: 'custom', from, to };
        const label = period.type === 'month' ? `month ${String(period.from).slice(0, 7)}` : `the ${DAYS * 24} generated hours`;
        for (const [name, body] of [
          [`DOST ${label}`, { kind: 'dost', period }],
          [`carrier vnpt ${label}`, { kind: 'carrier', carrier: 'vnpt', period }],
        ] as const) {
          try {
            const before = rssMB(pid);
            reports[name] = (await timeReport(srv.url, cookie, body)).toFixed(1) + ' s';
            console.log(`  report ${name}: ${reports[name]} (RSS ${before.toFixed(0)} -> ${rssMB(pid).toFixed(0)} MB)`);
          } catch (e) {
            reports[name] = `FAILED ${e instanceof Error ? `${e.message}${e.cause ? ` (${String(e.cause)})` : ''}` : String(e)}`;
            console.log(`  report ${name}: ${reports[name]}`);
          }
        }
      })();
      await done;
      loadS = (performance.now() - loadStart) / 1000;
      await reportsDone;
      clearInterval(sampler);
    } finally {
      await srv.stop();
    }

    // ---- summary ----
    const after = samples.filter((x) => x.min >= Math.min(2, MINUTES / 4));
    const rss = after.map((x) => x.rss);
    const half = Math.floor(after.length / 2);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const first = median(rss.slice(0, half));
    const second = median(rss.slice(half));
    const last = samples.at(-1)!;
    console.log(`\nsoak bench: ${SERVER_ROOT === ROOT ? 'this checkout' : SERVER_ROOT}; ${DAYS} days x ${SITES} sites x 10 targets (ICMP / ${INTERVAL_S} s, HTTP / ${HTTP_INTERVAL_S} s) generated (${g.rows} raw rows), then ${MINUTES} min live at 1 round / 30 s per site`);
    console.log(`file: ${genMB.toFixed(0)} MB generated -> ${last.mb.toFixed(0)} MB at the end`);
    console.log(`acked: ${acked} results in ${(loadS / 60).toFixed(1)} min = ${Math.round(acked / loadS)} results/s (offered ${Math.round((SITES * 10) / 30)}/s)`);
    console.log(`server RSS (MB) after warm-up: min ${Math.min(...rss).toFixed(0)}, max ${Math.max(...rss).toFixed(0)}, median first half ${first.toFixed(0)}, second half ${second.toFixed(0)}, last ${last.rss.toFixed(0)}`);
    console.log(`RSS over time (min: MB): ${samples.filter((_, i) => i % 6 === 5).map((x) => `${x.min.toFixed(0)}:${x.rss.toFixed(0)}`).join(' ')}`);
    const okStalls = stalls.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    console.log(`longest event-loop stall per ${SAMPLE_MS / 1000} s window: median ${(okStalls[Math.floor(okStalls.length / 2)] ?? NaN).toFixed(2)} s, max ${(okStalls.at(-1) ?? NaN).toFixed(2)} s (${okStalls.filter((x) => x > 1).length} of ${okStalls.length} windows over 1 s)`);
    for (const [k, v] of Object.entries(reports)) console.log(`report ${k}: ${v}`);
    if (resets) console.log(`report polls reset by the server and retried: ${resets}`);
    const fails: string[] = [];
    if (Math.max(...rss) > 1024) fails.push(`RSS peaked at ${Math.max(...rss).toFixed(0)} MB (target ≤ 1024)`);
    if (acked < ((SITES * 10) / 30) * MINUTES * 60 * 0.95) fails.push(`acked ${acked}, expected about ${((SITES * 10) / 30) * MINUTES * 60}`);
    if (Object.values(reports).some((v) => String(v).startsWith('FAILED'))) fails.push('a report failed');
    console.log(fails.length ? `TARGET MISSED: ${fails.join('; ')}` : 'targets met: RSS ≤ 1 GB, every round acked, reports done');
  } finally {
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

if (process.argv[2] !== '--load') {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`\nSOAK FAILED: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
