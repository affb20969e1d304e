// `ioc-agent run`: the agent's composition root. config file -> flags/env -> logger -> spool (outbox) ->
// scheduler <-> link, plus the status file. Runs in the foreground until SIGINT/SIGTERM.
import { appendFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pino from 'pino';
import pkg from '../../package.json' with { type: 'json' };
import { agentUrl, Link } from '../link.ts';
import { MemoryOutbox, Spool, type Outbox } from '../spool/index.ts';
import { configureThroughput } from '../probes/throughput.ts';
import { Scheduler, type Log } from '../scheduler.ts';
import { defaultConfigPath, loadSettings, SettingsError, type Settings } from '../settings.ts';
import { statusFilePath, StatusWriter } from '../status-file.ts';
import { currentInstall, EXIT_UPDATED, SelfUpdater } from '../update/self-update.ts';
import { chooseLang, clearTextCheck, CliError, displayUrl, out, parseFlags } from './common.ts';
import { HELP } from './help.ts';

const FLAGS = {
  config: { type: 'string' },
  server: { type: 'string' },
  id: { type: 'string' },
  token: { type: 'string' },
  concurrency: { type: 'string' },
  buffer: { type: 'string' },
  'state-dir': { type: 'string' },
  'spool-dir': { type: 'string' },
  'spool-max-mb': { type: 'string' },
  'spool-max-age-days': { type: 'string' },
  'replay-rate': { type: 'string' },
  'status-file': { type: 'string' },
  'interval-scale': { type: 'string' },
  'log-level': { type: 'string' },
  'log-file': { type: 'string' },
  insecure: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function fail(msg: string): never {
  throw new CliError(`${msg}\nRun with --help for usage.`);
}

/** flag, else env, else the config file's number; a string must be a positive integer */
function positiveInt(name: string, raw: string | undefined, file: number | undefined, dflt: number): number {
  if (raw === undefined || raw === '') return file ?? dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

function positiveNum(name: string, raw: string | undefined, file: number | undefined, dflt: number): number {
  if (raw === undefined || raw === '') return file ?? dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number, got "${raw}"`);
  return n;
}

const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

/** A log file that cannot grow without bound: beyond 10 MB at start it becomes FILE.1 (replacing the older one). */
function logDestination(file: string) {
  mkdirSync(dirname(file), { recursive: true });
  try {
    if (statSync(file).size > LOG_ROTATE_BYTES) renameSync(file, `${file}.1`);
  } catch {
    /* no file yet */
  }
  // sync: the last lines before process.exit are written, and an agent logs a few lines a minute
  return pino.destination({ dest: file, append: true, sync: true });
}

/**
 * The config file to read: --config or IOC_AGENT_CONFIG; else the installed one, but only when neither the command
 * line nor the environment names an agent (so a developer's `run --server ... --id ...` is not mixed with it).
 */
function settingsFor(flag: string | undefined, env: NodeJS.ProcessEnv, namesAgent: boolean): { file?: string; s: Settings } {
  const file = flag ?? env.IOC_AGENT_CONFIG ?? (!namesAgent && existsSync(defaultConfigPath()) ? defaultConfigPath() : undefined);
  if (!file) return { s: {} };
  try {
    return { file, s: loadSettings(file) };
  } catch (e) {
    if (e instanceof SettingsError) throw new CliError(`config file ${e.message}`);
    throw e;
  }
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags('run', argv, FLAGS);
  if (flags.help) {
    out(HELP);
    return;
  }
  if (flags.version) {
    out(pkg.version);
    return;
  }

  const env = process.env;
  const namesAgent = Boolean(flags.server ?? flags.id ?? env.IOC_SERVER ?? env.IOC_AGENT_ID);
  const { file: configFile, s } = settingsFor(flags.config, env, namesAgent);
  const inFile = configFile ? ` (or "%s" in ${configFile})` : '';
  const server = flags.server ?? env.IOC_SERVER ?? s.server;
  const id = flags.id ?? env.IOC_AGENT_ID ?? s.id;
  const token = flags.token ?? env.IOC_AGENT_TOKEN ?? s.token;
  const missing = [
    !server && `--server (or IOC_SERVER${inFile.replace('%s', 'server')})`,
    !id && `--id (or IOC_AGENT_ID${inFile.replace('%s', 'id')})`,
    !token && `--token (or IOC_AGENT_TOKEN${inFile.replace('%s', 'token')})`,
  ].filter(Boolean);
  if (missing.length > 0 || !server || !id || !token) {
    fail(`missing ${missing.join(', ')}${configFile ? '' : '; or enrol first: ioc-agent enroll --server URL --code CODE'}`);
  }

  let clearTextWarning: string | undefined;
  try {
    clearTextWarning = clearTextCheck(agentUrl(server), flags.insecure ?? s.insecure, chooseLang(undefined, s.lang));
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }

  const logFile = flags['log-file'] ?? env.IOC_LOG_FILE ?? s.logFile;
  const logOpts = { name: 'agent', level: flags['log-level'] ?? env.IOC_LOG_LEVEL ?? s.logLevel ?? 'info', base: { agent: id } };
  let logger: pino.Logger;
  try {
    logger = logFile ? pino(logOpts, logDestination(logFile)) : pino(logOpts);
  } catch (e) {
    fail(`--log-file ${logFile}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const log: Log = logger;

  const stateDir = flags['state-dir'] ?? env.IOC_STATE_DIR ?? s.stateDir;
  const spoolDir =
    flags['spool-dir'] ?? env.IOC_SPOOL_DIR ?? s.spoolDir ?? (stateDir ? join(stateDir, 'spool') : resolve('spool', id.replace(/[^\w.-]/g, '_')));
  let outbox: Outbox;
  if (spoolDir === 'none') {
    outbox = new MemoryOutbox(positiveInt('--buffer', flags.buffer ?? env.IOC_BUFFER, s.buffer, 50_000));
  } else {
    try {
      outbox = Spool.open({
        dir: spoolDir,
        maxBytes: positiveNum('--spool-max-mb', flags['spool-max-mb'] ?? env.IOC_SPOOL_MAX_MB, s.spoolMaxMb, 200) * 1024 * 1024,
        maxAgeMs: positiveNum('--spool-max-age-days', flags['spool-max-age-days'] ?? env.IOC_SPOOL_MAX_AGE_DAYS, s.spoolMaxAgeDays, 7) * 86_400_000,
        log: logger.child({ mod: 'spool' }),
      });
    } catch (e) {
      if (e instanceof CliError) throw e;
      fail(`cannot open the spool: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const replayRate = positiveNum('--replay-rate', flags['replay-rate'] ?? env.IOC_REPLAY_RATE, s.replayRate, 500);
  const intervalScale = positiveNum('--interval-scale', flags['interval-scale'], undefined, 1);
  const concurrency = positiveInt('--concurrency', flags.concurrency ?? env.IOC_CONCURRENCY, s.concurrency, 8);

  // Test-only trace of every result produced and taken, so loss tests can count exactly what the agent had.
  const traceFile = env.IOC_TEST_RESULT_LOG;
  const trace = traceFile
    ? (e: 'p' | 't', r: { target: string; uplink?: string; ts: number }) =>
        appendFileSync(traceFile, `${JSON.stringify({ e, target: r.target, uplink: r.uplink ?? '', ts: r.ts, at: Date.now() })}\n`)
    : undefined;

  const install = currentInstall();
  let link: Link;
  try {
    link = new Link({
      server,
      agentId: id,
      token,
      version: pkg.version,
      platform: install?.platform ?? 'tsx',
      outbox,
      maxResultsPerSec: replayRate,
      log: logger.child({ mod: 'link' }),
      onPlan: (plan) => {
        scheduler.setPlan(intervalScale === 1 ? plan : { ...plan, targets: plan.targets.map((t) => ({ ...t, intervalSec: t.intervalSec * intervalScale })) });
        updater.consider(plan.release);
      },
      onProbe: (targets) => scheduler.probeNow(targets),
    });
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  // Speed tests talk to the server's test endpoints with this agent's token; their byte budget is kept in the state
  // dir so a restart does not reset it (without one, in memory only).
  configureThroughput({ server: { url: server, agentId: id, token }, stateDir, log: logger.child({ mod: 'throughput' }) });
  const updater = new SelfUpdater({
    install,
    server,
    agentId: id,
    token,
    version: pkg.version,
    log: logger.child({ mod: 'update' }),
    report: (u) => link.reportUpdate(u),
    restart: () => void shutdown('update', EXIT_UPDATED),
  });
  const scheduler = new Scheduler({
    concurrency,
    log: logger.child({ mod: 'scheduler' }),
    onResult: (r) => {
      trace?.('p', r);
      void link.enqueue([r]).then((taken) => taken && trace?.('t', r));
    },
  });

  // What `ioc-agent status` shows: fed by the link's events, rewritten every few seconds and at exit.
  const startedAt = Date.now();
  let lastAckAt: number | null = null;
  let connectedSince: number | null = startedAt;
  let open = false;
  link.on('ack', () => (lastAckAt = Date.now()));
  link.on('state', (st) => {
    if ((st === 'open') === open) return;
    open = st === 'open';
    connectedSince = Date.now();
  });
  const statusFile = statusFilePath({ statusFile: flags['status-file'] ?? env.IOC_STATUS_FILE, stateDir, spoolDir });
  const status = statusFile
    ? new StatusWriter(
        statusFile,
        () => ({
          id,
          version: pkg.version,
          pid: process.pid,
          server: displayUrl(server),
          ...(s.commune ? { commune: s.commune } : {}),
          startedAt,
          connected: link.state === 'open',
          connectedSince,
          lastAckAt,
          planRev: link.plan?.rev ?? null,
          pending: outbox.pending,
          dropped: outbox.dropped,
        }),
        (err) => log.warn({ file: statusFile, err }, 'cannot write the status file'),
      )
    : undefined;
  // The transition itself is worth writing at once: `status` right after a connect or a cut should already see it.
  link.on('state', (st) => (st === 'open' || st === 'closed') && status?.write());

  if (clearTextWarning) log.warn({ server: displayUrl(link.url) }, clearTextWarning);
  log.info({ server: link.url, version: pkg.version, config: configFile, spool: spoolDir, status: statusFile, pending: outbox.pending, dropped: outbox.dropped }, 'agent starting');
  link.start();
  status?.start();

  let stopping = false;
  async function shutdown(signal: string, code = 0) {
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
    status?.stop();
    log.info({ unsent: outbox.pending, dropped: outbox.dropped }, 'stopped');
    process.exit(code);
  }
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
