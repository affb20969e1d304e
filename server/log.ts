// The server's logger (README "Logs"): JSON lines for journald, files and log shippers; one readable line per event
// on a terminal. On a terminal, the agents' connect/disconnect lines are summarised ("96 agents connected"): the
// demo's simulator connects a whole province at once and would otherwise bury the start banner.
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { LogConfig } from '../config/schema.ts';

/** info-level messages counted instead of written, with the line that replaces a burst of them */
const SUMMARISED: Record<string, (n: number) => string> = {
  'agent connected': (n) => `${n} ${n === 1 ? 'agent' : 'agents'} connected`,
  'agent disconnected': (n) => `${n} ${n === 1 ? 'agent' : 'agents'} disconnected`,
};
/** a burst ends after this much quiet; a steady trickle is still reported this often */
const QUIET_MS = 1500;
const MAX_WAIT_MS = 10_000;

export interface LogOptions {
  env?: NodeJS.ProcessEnv;
  /** write here instead of stdout (tests); `pretty` still decides the format */
  destination?: DestinationStream;
  /** whether stdout is a terminal (default: process.stdout.isTTY) */
  tty?: boolean;
}

export function createLogger(cfg: Partial<LogConfig> = {}, o: LogOptions = {}): Logger {
  const env = o.env ?? process.env;
  const level = (env.LOG_LEVEL ?? cfg.level ?? 'info') as Level | 'silent';
  const format = env.LOG_FORMAT ?? cfg.format ?? 'auto';
  if (!['auto', 'pretty', 'json'].includes(format)) throw new Error(`LOG_FORMAT: expected auto, pretty or json, got "${format}"`);
  const tty = o.tty ?? Boolean(process.stdout.isTTY);
  const pretty = format === 'pretty' || (format === 'auto' && tty) ? prettyStream(o.destination, tty) : null;
  if (!pretty) return pino({ level }, o.destination ?? pino.destination({ sync: false }));

  const summary = new Summary();
  const log = pino(
    {
      level,
      hooks: {
        logMethod(args, method, lvl) {
          const msg = typeof args[0] === 'string' ? args[0] : args[1];
          if (lvl === 30 && typeof msg === 'string' && msg in SUMMARISED && !summary.flushing) return summary.count(msg);
          method.apply(this, args);
        },
      },
    },
    pretty,
  );
  summary.log = log;
  return log;
}

class Summary {
  log: Logger | null = null;
  flushing = false;
  private counts = new Map<string, number>();
  private quiet: NodeJS.Timeout | null = null;
  private first = 0;

  count(msg: string) {
    this.counts.set(msg, (this.counts.get(msg) ?? 0) + 1);
    if (this.quiet) clearTimeout(this.quiet);
    else this.first = Date.now();
    const wait = Math.max(0, Math.min(QUIET_MS, this.first + MAX_WAIT_MS - Date.now()));
    this.quiet = setTimeout(() => this.flush(), wait);
    this.quiet.unref();
  }

  flush() {
    this.quiet = null;
    this.flushing = true;
    try {
      for (const [msg, n] of this.counts) this.log?.info({ count: n }, n === 1 ? msg : SUMMARISED[msg]!(n));
    } finally {
      this.flushing = false;
      this.counts.clear();
    }
  }
}

/**
 * pino-pretty in this process (a worker-thread transport would outlive a crash's last lines and costs a thread).
 * It is a development dependency: an install without them (npm ci --omit=dev) logs JSON.
 */
function prettyStream(destination: DestinationStream | undefined, colorize: boolean): DestinationStream | null {
  let pretty: typeof import('pino-pretty');
  try {
    pretty = createRequire(import.meta.url)('pino-pretty') as typeof pretty;
  } catch {
    return null;
  }
  return pretty({
    colorize: colorize && !destination,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    singleLine: true,
    sync: true,
    ...(destination ? { destination } : {}),
  });
}
