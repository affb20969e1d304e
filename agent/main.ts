// Agent composition root: flags/env -> logger -> outbox -> scheduler <-> link.
//   npx tsx agent/main.ts --server http://127.0.0.1:8080 --id X --token Y
import { parseArgs } from 'node:util';
import pino from 'pino';
import pkg from '../package.json' with { type: 'json' };
import { Link } from './link.ts';
import { MemoryOutbox } from './outbox.ts';
import { Scheduler, type Log } from './scheduler.ts';

const HELP = `ioc-uptime agent ${pkg.version}: probes a commune's uplinks and portals, streams results to the server.

Usage: npx tsx agent/main.ts --server URL --id ID --token TOKEN [options]

  --server URL       server base URL (http(s)://host:port or ws(s)://...)       env IOC_SERVER
  --id ID            this agent's id, as in the server config agents[].id      env IOC_AGENT_ID
  --token TOKEN      this agent's secret (the server keeps its scrypt hash)     env IOC_AGENT_TOKEN
  --concurrency N    probe rounds at once (default 8)                          env IOC_CONCURRENCY
  --buffer N         results kept while the server is unreachable (default 50000)  env IOC_BUFFER
  --log-level L      trace|debug|info|warn|error (default info)                 env IOC_LOG_LEVEL
  --help             this text
  --version          print the version

The token is better passed in the environment than on the command line (visible in ps).`;

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

const outbox = new MemoryOutbox(positiveInt('--buffer', flags.buffer ?? env.IOC_BUFFER, 50_000));
let link: Link;
try {
  link = new Link({
    server,
    agentId: id,
    token,
    version: pkg.version,
    outbox,
    log: logger.child({ mod: 'link' }),
    onPlan: (plan) => scheduler.setPlan(plan),
  });
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}
const scheduler = new Scheduler({
  concurrency: positiveInt('--concurrency', flags.concurrency ?? env.IOC_CONCURRENCY, 8),
  log: logger.child({ mod: 'scheduler' }),
  onResult: (r) => link.enqueue([r]),
});

log.info({ server: link.url, version: pkg.version }, 'agent starting');
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
  // Give results already measured a short chance to be acked before the in-memory outbox is lost.
  await link.stop({ drainMs: 2000 });
  log.info({ unsent: outbox.pending, dropped: outbox.dropped }, 'stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
