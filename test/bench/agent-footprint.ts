// Agent footprint: resident memory and CPU of a real agent process running a default-like plan.
//   npm run bench:agent [-- --seconds 90] [-- --fast]
// Starts a real server (test helper, DuckDB in a temp dir) and a real agent process
// (`node --import tsx agent/main.ts`: one OS process; tsx's loader runs as a thread inside it, so its
// transpile cache is part of what is measured, as it is in production when run the same way).
// The plan is the default one for a commune, 11 targets, every address on loopback:
//   4 icmp (the uplink gateway + 3 hosts; 10 echoes 200 ms apart, every 30 s)
//   3 http (2 plain pages with a keyword, 1 https whose CA the agent does not trust: a full TLS
//     handshake and an error result; every 60 s)
//   2 dns (through a Python DNS server on 127.0.0.1; every 60 s), 2 tcp (every 60 s)
// --fast compresses intervals to 5 s (icmp) / 10 s (others), the schema's minimum region, to show the
// cost per round under a denser plan. Samples /proc/<pid>/status (VmRSS) and /proc/<pid>/stat
// (utime+stime of the agent; cutime+cstime of its reaped children, i.e. the `ping` processes) every
// second, and prints median/peak RSS and average CPU % (of one core) after a warm-up.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

const AGENT = { id: 'bench-agent', commune: '21025', carrier: 'vnpt' };
const server = await startTestServer({ agents: [AGENT], targets });
const spoolDir = mkdtempSync(join(tmpdir(), 'ioc-bench-spool-'));
const help = spawnSync(process.execPath, ['--import', 'tsx', 'agent/main.ts', '--help'], { cwd: REPO, encoding: 'utf8' }).stdout ?? '';
const agentArgs = ['--import', 'tsx', 'agent/main.ts', '--server', server.url, '--id', AGENT.id, '--log-level', 'warn'];
if (help.includes('--spool-dir')) agentArgs.push('--spool-dir', spoolDir);
const agent = spawn(process.execPath, agentArgs, { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, IOC_AGENT_TOKEN: server.tokens[AGENT.id] } });
const pid = agent.pid!;

function sample(): { rssKb: number; cpuTicks: number; childTicks: number } | null {
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

console.log(`agent pid ${pid}, ${targets.length} targets (icmp every ${icmpEvery} s, others every ${otherEvery} s), ${SECONDS} s run, ${WARMUP} s warm-up excluded`);
const t0 = Date.now();
const samples: { t: number; rssKb: number; cpuTicks: number; childTicks: number }[] = [];
while (Date.now() - t0 < SECONDS * 1000) {
  await new Promise((r) => setTimeout(r, 1000));
  if (agent.exitCode !== null) throw new Error(`agent exited early (${agent.exitCode})`);
  const s = sample();
  if (s) samples.push({ t: Date.now() - t0, ...s });
}

const counts: Record<string, number> = {};
for (const m of ['icmp', 'http', 'dns', 'tcp'] as const) {
  counts[m] = (await server.store.queryRaw({ measurement: m, from: t0 - 60_000, to: Date.now() + 60_000, where: { agent: AGENT.id } })).length;
}
agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
dnsServer.stdin!.end();
await server.stop();
page.close();
tlsPage.close();
certs.remove();
rmSync(spoolDir, { recursive: true, force: true });

// Baselines for reading the figure: an idle node, and an idle node with the tsx loader, same flags.
async function idleRssMb(args: string[]): Promise<number> {
  const p = spawn(process.execPath, [...args, '-e', 'setInterval(() => {}, 1000)'], { cwd: REPO, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 3000));
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? NaN);
  p.kill();
  return kb / 1024;
}
const idleNode = await idleRssMb([]);
const idleTsx = await idleRssMb(['--import', 'tsx']);

const steady = samples.filter((s) => s.t >= WARMUP * 1000);
if (steady.length < 2) throw new Error('run too short for the warm-up');
const rss = steady.map((s) => s.rssKb / 1024).sort((a, b) => a - b);
const median = rss.length % 2 ? rss[rss.length >> 1]! : (rss[rss.length / 2 - 1]! + rss[rss.length / 2]!) / 2;
const first = steady[0]!;
const last = steady.at(-1)!;
const secs = (last.t - first.t) / 1000;
const cpuPct = ((last.cpuTicks - first.cpuTicks) / TICK / secs) * 100;
const childPct = ((last.childTicks - first.childTicks) / TICK / secs) * 100;
const startupCpu = first.cpuTicks / TICK;
const all = samples.map((s) => s.rssKb / 1024);
console.log(
  [
    `results stored: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `RSS (MB) after warm-up: median ${median.toFixed(1)}, peak ${Math.max(...rss).toFixed(1)} (peak over the whole run incl. start-up ${Math.max(...all).toFixed(1)})`,
    `CPU (% of one core) over ${secs.toFixed(0)} s after warm-up: agent ${cpuPct.toFixed(2)} %, its ping children ${childPct.toFixed(2)} %, together ${(cpuPct + childPct).toFixed(2)} %`,
    `start-up CPU (tsx transpile, first ${(first.t / 1000).toFixed(0)} s): ${startupCpu.toFixed(2)} s`,
    `for comparison, an idle node process: ${idleNode.toFixed(1)} MB; idle node --import tsx: ${idleTsx.toFixed(1)} MB`,
  ].join('\n'),
);
process.exit(0);
