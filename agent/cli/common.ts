// What every subcommand shares: flag parsing that fails with the exit code for usage errors, the error type main.ts
// turns into a message and an exit code, and the language choice of the messages meant for the commune's officer.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { clearTextUrl } from '../link.ts';
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

const CLEAR_TEXT = {
  vi: {
    refuse: (url: string) =>
      `từ chối gửi mã bí mật của trạm tới ${url} mà không mã hoá (không phải https:// hay wss://, cũng không phải chính máy này): ` +
      'hãy dùng https:// hoặc wss://; chỉ khi đường truyền đã được bảo vệ cách khác (VPN, mạng riêng) mới chạy lại với --insecure',
    warn: (url: string) => `CẢNH BÁO: --insecure: mã bí mật của trạm được gửi tới ${url} không mã hoá`,
  },
  en: {
    refuse: (url: string) =>
      `refusing to send this agent's secret to ${url} in clear (not https:// or wss://, and not this machine): ` +
      'use https:// or wss://; only if the path is protected otherwise (VPN, private network) run again with --insecure',
    warn: (url: string) => `WARNING: --insecure: this agent's secret is sent to ${url} in clear`,
  },
} satisfies Record<Lang, unknown>;

/**
 * The token and the enrolment code travel in the first request, so a clear-text URL to another machine is refused
 * before anything is sent, unless the officer says --insecure (or `insecure: true` in the config file): then the
 * warning to show once, else undefined.
 */
export function clearTextCheck(url: string, insecure: boolean | undefined, lang: Lang): string | undefined {
  const clear = clearTextUrl(url);
  if (!clear) return undefined;
  if (!insecure) throw new CliError(CLEAR_TEXT[lang].refuse(clear));
  return CLEAR_TEXT[lang].warn(clear);
}

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}
