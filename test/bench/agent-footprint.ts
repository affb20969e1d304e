// Agent footprint: resident memory and CPU of the agent as it is shipped, running a default-like plan.
//   npm run bench:agent [-- --seconds 90] [-- --fast]
// Builds the bundled agent (npm run build:agent into a temp folder) and runs, side by side against one real server
// (test helper, DuckDB in a temp dir): ioc-agent.mjs under plain `node`, and the Linux single executable; plus
// `node -e "setInterval(()=>{},1000)"` as the floor of any Node process on this machine. Not the tsx run.
// The plan is the default one for a commune, 11 targets, every address on loopback:
//   4 icmp (the uplink gateway + 3 hosts; 10 echoes 200 ms apart, every 30 s)
//   3 http (2 plain pages with a keyword, 1 https whose CA the agent does not trust: a full TLS
//     handshake and an error result; every 60 s)
//   2 dns (through a Python DNS server on 127.0.0.1; every 60 s), 2 tcp (every 60 s)
// --fast compresses intervals to 5 s (icmp) / 10 s (others), the schema's minimum region, to show the
// cost per round under a denser plan. Samples /proc/<pid>/status (VmRSS) and /proc/<pid>/stat
// (utime+stime of the agent; cutime+cstime of its reaped children, i.e. the `ping` processes) every
// second, and prints a table of median/peak RSS and average CPU % (of one core) after a warm-up. Exits 1 when an agent
// stored no results or no samples were taken: a footprint of an agent that measured nothing means nothing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ConfigInput } from '../../config/schema.ts';
import { makeTestCerts } from '../helpers/netns.ts';
import { startTestServer } from '../helpers/server.ts';

const { values: flags } = parseArgs({ options: { seconds: { type: 'string' }, warmup: { type: 'string' }, fast: { type: 'boolean' } } });
const SECONDS = Number(flags.seconds ?? 90);
const WARMUP = Number(flags.warmup ?? 15);
const FAST = flags.fast === true;
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const KEYWORD = 'Cổng Dịch vụ công';

const listen = (s: http.Server | https.Server) =>
  new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));

// ---- the things the agent probes, all on loopback ----
const page = http.createServer((req, res) => res.end(req.url === '/ok' ? `<html>${KEYWORD}</html>` : 'other page'));
const pagePort = await listen(page);
const certs = makeTestCerts('127.0.0.1', 30);
const tlsPage = https.createServer({ key: readFileSync(certs.valid.key), cert: readFileSync(certs.valid.cert) }, (_q, r) => r.end(KEYWORD));
const tlsPort = await listen(tlsPage);

const dnsPort = await new Promise<number>((resolve) => {
  const s = http.createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = (s.address() as AddressInfo).port; // a free port number (TCP and UDP spaces differ, but a free one is likely free)
    s.close(() => resolve(p));
  });
});
const dnsServer = spawn('python3', [join(REPO, 'test/helpers/dns-server.py'), '--listen', '127.0.0.1', '--port', String(dnsPort), '--zone',
  JSON.stringify({ 'dichvucong.test': { A: ['127.0.0.1'] }, 'ioffice.test': { CNAME: 'dichvucong.test' } })], { stdio: ['pipe', 'pipe', 'inherit'] });
await new Promise<void>((resolve, reject) => {
  dnsServer.stdout!.once('data', () => resolve());
  dnsServer.once('exit', (c) => reject(new Error(`dns server exited ${c}`)));
});

const icmpEvery = FAST ? 5 : 30;
const otherEvery = FAST ? 10 : 60;
const targets: NonNullable<ConfigInput['targets']> = [
  { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway', intervalSec: icmpEvery },
  { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: '127.0.0.2', intervalSec: icmpEvery },
  { id: 'carrier-a', name: 'Carrier A core', kind: 'icmp', host: '127.0.0.3', intervalSec: icmpEvery },
  { id: 'carrier-b', name: 'Carrier B core', kind: 'icmp', host: '127.0.0.4', intervalSec: icmpEvery },
  { id: 'dvc', name: 'Cổng DVC', kind: 'http', url: `http://127.0.0.1:${pagePort}/ok`, keyword: KEYWORD, intervalSec: otherEvery },
  { id: 'portal', name: 'Cổng thông tin', kind: 'http', url: `http://127.0.0.1:${pagePort}/home`, intervalSec: otherEvery },
  { id: 'ioffice', name: 'iOffice', kind: 'http', url: `https://127.0.0.1:${tlsPort}/`, intervalSec: otherEvery },
  { id: 'dns-a', name: 'DNS tỉnh', kind: 'dns', resolver: `127.0.0.1:${dnsPort}`, query: 'dichvucong.test', intervalSec: otherEvery },
  { id: 'dns-b', name: 'DNS tỉnh (CNAME)', kind: 'dns', resolver: `127.0.0.1:${dnsPort}`, query: 'ioffice.test', intervalSec: otherEvery },
  { id: 'vc', name: 'Cầu truyền hình', kind: 'tcp', host: '127.0.0.1', port: pagePort, intervalSec: otherEvery },
  { id: 'mail', name: 'Mail', kind: 'tcp', host: '127.0.0.1', port: tlsPort, intervalSec: otherEvery },
];

const AGENTS = [
  { id: 'bench-mjs', commune: '21025', carrier: 'vnpt' },
  { id: 'bench-exe', commune: '21025', carrier: 'vnpt' },
];
const work = mkdtempSync(join(tmpdir(), 'ioc-bench-agent-'));
const dist = join(work, 'dist');
console.log('building the bundled agent (ioc-agent.mjs, ioc-agent-linux-x64)…');
execFileSync(process.execPath, ['--import', 'tsx', 'agent/build/build.ts'], {
  cwd: REPO, env: { ...process.env, IOC_AGENT_DIST: dist, IOC_AGENT_TARGETS: 'mjs,linux-x64' }, stdio: ['ignore', 'ignore', 'inherit'],
});
for (const f of ['ioc-agent.mjs', 'ioc-agent-linux-x64']) if (!existsSync(join(dist, f))) throw new Error(`build:agent wrote no ${f}`);

const server = await startTestServer({ agents: AGENTS, targets });
const run = (id: string) => ['run', '--server', server.url, '--id', id, '--token', server.tokens[id]!, '--spool-dir', join(work, `spool-${id}`), '--log-level', 'warn'];

interface Measured {
  label: string;
  /** the agent whose stored results prove it worked; none for the floor */
  agent?: string;
  proc: ChildProcess;
  samples: { t: number; rssKb: number; cpuTicks: number; childTicks: number }[];
}
// Run from an empty folder: nothing beside the artefact helps it.
const cwd = mkdtempSync(join(work, 'run-'));
const procs: Measured[] = [
  { label: 'ioc-agent.mjs (node)', agent: 'bench-mjs', proc: spawn(process.execPath, [join(dist, 'ioc-agent.mjs'), ...run('bench-mjs')], { cwd, stdio: ['ignore', 'inherit', 'inherit'] }), samples: [] },
  { label: 'ioc-agent-linux-x64', agent: 'bench-exe', proc: spawn(join(dist, 'ioc-agent-linux-x64'), run('bench-exe'), { cwd, stdio: ['ignore', 'inherit', 'inherit'] }), samples: [] },
  { label: 'floor: node -e setInterval', proc: spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { cwd, stdio: 'ignore' }), samples: [] },
];

function sample(pid: number): { rssKb: number; cpuTicks: number; childTicks: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    // fields after "(comm)": state is field 3; utime 14, stime 15, cutime 16, cstime 17
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const at = (n: number) => Number(f[n - 3]);
    return { rssKb, cpuTicks: at(14) + at(15), childTicks: at(16) + at(17) };
  } catch {
    return null;
  }
}

console.log(`${targets.length} targets (icmp every ${icmpEvery} s, others every ${otherEvery} s), ${SECONDS} s run, ${WARMUP} s warm-up excluded`);
const t0 = Date.now();
let failure: string | null = null;
while (Date.now() - t0 < SECONDS * 1000 && !failure) {
  await new Promise((r) => setTimeout(r, 1000));
  for (const m of procs) {
    if (m.proc.exitCode !== null) failure = `${m.label} exited early (${m.proc.exitCode})`;
    const s = sample(m.proc.pid!);
    if (s) m.samples.push({ t: Date.now() - t0, ...s });
  }
}

const stored: Record<string, number> = {};
for (const m of procs) {
  if (!m.agent) continue;
  let n = 0;
  for (const kind of ['icmp', 'http', 'dns', 'tcp'] as const) n += (await server.store.queryRaw({ measurement: kind, from: t0 - 60_000, to: Date.now() + 60_000, where: { agent: m.agent } })).length;
  stored[m.agent] = n;
}
for (const m of procs) m.proc.kill('SIGTERM');
await Promise.all(procs.map((m) => (m.proc.exitCode === null ? new Promise((r) => m.proc.once('exit', r)) : null)));
dnsServer.stdin!.end();
await server.stop();
page.close();
tlsPage.close();
certs.remove();
const sizes = Object.fromEntries(['ioc-agent.mjs', 'ioc-agent-linux-x64'].map((f) => [f, readFileSync(join(dist, f)).length]));
rmSync(work, { recursive: true, force: true });

const rows = procs.map((m) => {
  const steady = m.samples.filter((s) => s.t >= WARMUP * 1000);
  if (steady.length < 2) {
    failure ??= `${m.label}: no samples after the warm-up (run longer than --warmup ${WARMUP})`;
    return null;
  }
  const rss = steady.map((s) => s.rssKb / 1024).sort((a, b) => a - b);
  const median = rss.length % 2 ? rss[rss.length >> 1]! : (rss[rss.length / 2 - 1]! + rss[rss.length / 2]!) / 2;
  const first = steady[0]!;
  const last = steady.at(-1)!;
  const secs = (last.t - first.t) / 1000;
  if (m.agent && !stored[m.agent]) failure ??= `${m.label} stored no results: it measured nothing`;
  return {
    label: m.label,
    median,
    peak: Math.max(...rss),
    cpu: ((last.cpuTicks - first.cpuTicks) / TICK / secs) * 100,
    ping: ((last.childTicks - first.childTicks) / TICK / secs) * 100,
    startup: first.cpuTicks / TICK,
    results: m.agent ? String(stored[m.agent] ?? 0) : '—',
  };
});

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);
console.log(`\n${pad('process', 28)}${lpad('RSS median MB', 14)}${lpad('RSS peak MB', 12)}${lpad('CPU %', 8)}${lpad('ping CPU %', 11)}${lpad('start CPU s', 12)}${lpad('results', 9)}`);
for (const r of rows) {
  if (!r) continue;
  console.log(`${pad(r.label, 28)}${lpad(r.median.toFixed(1), 14)}${lpad(r.peak.toFixed(1), 12)}${lpad(r.cpu.toFixed(2), 8)}${lpad(r.ping.toFixed(2), 11)}${lpad(r.startup.toFixed(2), 12)}${lpad(r.results, 9)}`);
}
console.log(`\nartefacts: ${Object.entries(sizes).map(([f, b]) => `${f} ${(b / 1024 / 1024).toFixed(1)} MB`).join(', ')}; Node ${process.versions.node}; target: at most 40 MB RSS`);
if (failure) {
  console.error(`bench:agent FAILED: ${failure}`);
  process.exit(1);
}
process.exit(0);
