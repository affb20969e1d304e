// What every subcommand shares: flag parsing that fails with the exit code for usage errors, the error type main.ts
// turns into a message and an exit code, and the language choice of the messages meant for the commune's officer.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LANGS, type Lang } from '../settings.ts';

/** Exit codes shared by the subcommands. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure to report in one line and exit with `code` (2: the command line or config file is wrong). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode; a wrong flag is a usage error naming the command. */
export function parseFlags<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new CliError(`${command}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function parseLang(raw: string | undefined): Lang | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!(LANGS as readonly string[]).includes(raw)) throw new CliError(`--lang must be one of ${LANGS.join(', ')}, got "${raw}"`);
  return raw as Lang;
}

/** Vietnamese unless told otherwise by the flag, IOC_LANG or the config file. */
export function chooseLang(flag: string | undefined, fromConfig?: Lang): Lang {
  return parseLang(flag) ?? parseLang(process.env.IOC_LANG) ?? fromConfig ?? 'vi';
}

/** http(s) base URL of the server from what the officer typed (ws(s):// and a trailing /ws/agent are accepted too). */
export function httpBase(server: string): string {
  const u = new URL(server.includes('://') ? server : `https://${server}`);
  const schemes: Record<string, string> = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' };
  const scheme = schemes[u.protocol];
  if (!scheme) throw new CliError(`--server: unsupported scheme ${u.protocol} (use https://)`);
  u.protocol = scheme;
  u.pathname = u.pathname.replace(/\/ws\/agent\/?$/, '').replace(/\/+$/, '');
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/+$/, '');
}

/** The server URL without a user:password part, for messages and the status file. */
export function displayUrl(server: string): string {
  try {
    const u = new URL(server);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return server;
  }
}

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}
