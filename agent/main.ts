// Agent composition root: flags/env -> logger -> spool (outbox) -> scheduler <-> link.
//   npx tsx agent/main.ts --server http://127.0.0.1:8080 --id X --token Y
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import pkg from '../package.json' with { type: 'json' };
import { Link } from './link.ts';
import { MemoryOutbox, Spool, type Outbox } from './spool/index.ts';
import { Scheduler, type Log } from './scheduler.ts';

const HELP = `ioc-uptime agent ${pkg.version}: probes a commune's uplinks and portals, streams results to the server.

Usage: npx tsx agent/main.ts --server URL --id ID --token TOKEN [options]

  --server URL       server base URL (http(s)://host:port or ws(s)://...)       env IOC_SERVER
  --id ID            this agent's id, as in the server config agents[].id      env IOC_AGENT_ID
  --token TOKEN      this agent's secret (the server keeps its scrypt hash)     env IOC_AGENT_TOKEN
  --concurrency N    probe rounds at once (default 8)                          env IOC_CONCURRENCY
  --spool-dir DIR    results are kept here until the server has stored them    env IOC_SPOOL_DIR
                     (default ./spool/<id> under the working directory; "none" keeps them in memory only)
  --spool-max-mb N   spool size bound; beyond it the oldest results are dropped and counted (default 200)
                                                                               env IOC_SPOOL_MAX_MB
  --spool-max-age-days N  results older than this are dropped and counted (default 7)
                                                                               env IOC_SPOOL_MAX_AGE_DAYS
  --replay-rate N    results sent per second at most, so a backlog does not flood the uplink (default 500)
                                                                               env IOC_REPLAY_RATE
  --buffer N         with --spool-dir none: results kept in memory (default 50000)  env IOC_BUFFER
  --log-level L      trace|debug|info|warn|error (default info)                 env IOC_LOG_LEVEL
  --help             this text
  --version          print the version

The token is better passed in the environment than on the command line (visible in ps).
Test-only: --interval-scale F multiplies every plan interval (e.g. 0.1), and IOC_TEST_RESULT_LOG=FILE appends a
JSON line per result produced ("p") and taken by the spool ("t"). Not for production use.`;

function fail(msg: string): never {
  process.stderr.write(`agent: ${msg}\nRun with --help for usage.\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        server: { type: 'string' },
        id: { type: 'string' },
        token: { type: 'string' },
        concurrency: { type: 'string' },
        buffer: { type: 'string' },
        'spool-dir': { type: 'string' },
        'spool-max-mb': { type: 'string' },
        'spool-max-age-days': { type: 'string' },
        'replay-rate': { type: 'string' },
        'interval-scale': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
}

function positiveInt(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

function positiveNum(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number, got "${raw}"`);
  return n;
}

const flags = parse();
if (flags.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
if (flags.version) {
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}

const env = process.env;
const server = flags.server ?? env.IOC_SERVER;
const id = flags.id ?? env.IOC_AGENT_ID;
const token = flags.token ?? env.IOC_AGENT_TOKEN;
const missing = [
  !server && '--server (or IOC_SERVER)',
  !id && '--id (or IOC_AGENT_ID)',
  !token && '--token (or IOC_AGENT_TOKEN)',
].filter(Boolean);
if (missing.length > 0 || !server || !id || !token) fail(`missing ${missing.join(', ')}`);

const logger = pino({ name: 'agent', level: flags['log-level'] ?? env.IOC_LOG_LEVEL ?? 'info', base: { agent: id } });
const log: Log = logger;

const spoolDir = flags['spool-dir'] ?? env.IOC_SPOOL_DIR ?? resolve('spool', id.replace(/[^\w.-]/g, '_'));
let outbox: Outbox;
if (spoolDir === 'none') {
  outbox = new MemoryOutbox(positiveInt('--buffer', flags.buffer ?? env.IOC_BUFFER, 50_000));
} else {
  try {
    outbox = Spool.open({
      dir: spoolDir,
      maxBytes: positiveNum('--spool-max-mb', flags['spool-max-mb'] ?? env.IOC_SPOOL_MAX_MB, 200) * 1024 * 1024,
      maxAgeMs: positiveNum('--spool-max-age-days', flags['spool-max-age-days'] ?? env.IOC_SPOOL_MAX_AGE_DAYS, 7) * 86_400_000,
      log: logger.child({ mod: 'spool' }),
    });
  } catch (e) {
    fail(`cannot open the spool: ${e instanceof Error ? e.message : String(e)}`);
  }
}
const replayRate = positiveNum('--replay-rate', flags['replay-rate'] ?? env.IOC_REPLAY_RATE, 500);
const intervalScale = positiveNum('--interval-scale', flags['interval-scale'], 1);

// Test-only trace of every result produced and taken, so loss tests can count exactly what the agent had.
const traceFile = env.IOC_TEST_RESULT_LOG;
const trace = traceFile
  ? (e: 'p' | 't', r: { target: string; uplink?: string; ts: number }) =>
      appendFileSync(traceFile, `${JSON.stringify({ e, target: r.target, uplink: r.uplink ?? '', ts: r.ts, at: Date.now() })}\n`)
  : undefined;

let link: Link;
try {
  link = new Link({
    server,
    agentId: id,
    token,
    version: pkg.version,
    outbox,
    maxResultsPerSec: replayRate,
    log: logger.child({ mod: 'link' }),
    onPlan: (plan) =>
      scheduler.setPlan(intervalScale === 1 ? plan : { ...plan, targets: plan.targets.map((t) => ({ ...t, intervalSec: t.intervalSec * intervalScale })) }),
  });
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}
const scheduler = new Scheduler({
  concurrency: positiveInt('--concurrency', flags.concurrency ?? env.IOC_CONCURRENCY, 8),
  log: logger.child({ mod: 'scheduler' }),
  onResult: (r) => {
    trace?.('p', r);
    void link.enqueue([r]).then((taken) => taken && trace?.('t', r));
  },
});

log.info({ server: link.url, version: pkg.version, spool: spoolDir, pending: outbox.pending, dropped: outbox.dropped }, 'agent starting');
link.start();

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) {
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal, pending: outbox.pending }, 'stopping');
  await scheduler.stop();
  // Give results already measured a short chance to be acked; the spool keeps the rest for the next start.
  await link.stop({ drainMs: 2000 });
  await outbox.close?.();
  log.info({ unsent: outbox.pending, dropped: outbox.dropped }, 'stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
