// `ioc-agent enroll --server URL --code CODE [--config FILE]`: trade the one-time code an operator created on the
// agents page for this agent's id and token, and keep them in the config file (owner-only).
//
// The exchange itself (POST {server}/api/enroll: no session, the code is the credential, the server throttles it)
// is defined by config/enroll.ts, which has no import beyond zod so the agent bundle stays small.
import { hostname } from 'node:os';
import { z } from 'zod';
import { enrollAnswerSchema, type EnrollAnswer, type EnrollBody } from '../../config/enroll.ts';
import pkg from '../../package.json' with { type: 'json' };
import { defaultConfigPath, loadSettingsIfPresent, saveSettings, SettingsError, type Lang, type Settings } from '../settings.ts';
import { chooseLang, clearTextCheck, CliError, displayUrl, EXIT, httpBase, out, parseFlags } from './common.ts';
import { USAGE } from './help.ts';

const errorSchema = z.object({ error: z.string() });

const T = {
  vi: {
    badCode: 'mã đăng ký không đúng, đã được dùng hoặc đã hết hạn: xin quản trị viên tạo mã mới trên trang Trạm đo',
    throttled: (s: string) => `thử sai quá nhiều lần; thử lại sau ${s} giây`,
    refused: (status: number, msg: string) => `máy chủ từ chối (HTTP ${status}): ${msg}`,
    unreachable: (url: string, why: string) => `không kết nối được tới máy chủ ${url}: ${why}`,
    badAnswer: 'máy chủ trả lời không đúng định dạng (máy chủ có phải IOC không? phiên bản có khớp không?)',
    cannotWrite: (f: string, why: string) => `không ghi được tệp cấu hình ${f}: ${why} (chạy với quyền quản trị, hoặc dùng --config)`,
    done: (id: string, commune: string) => `Đã đăng ký: mã trạm ${id}, xã/phường ${commune}.`,
    site: (name: string) => `Điểm đo: ${name}.`,
    saved: (f: string) => `Đã lưu cấu hình (chỉ chủ sở hữu đọc được): ${f}`,
    next: (f: string) => `Chạy thử: ioc-agent run --config ${f}   hoặc cài thành dịch vụ: ioc-agent install`,
  },
  en: {
    badCode: 'the enrolment code is wrong, already used or expired: ask an administrator for a new one on the agents page',
    throttled: (s: string) => `too many wrong attempts; try again in ${s} s`,
    refused: (status: number, msg: string) => `the server refused (HTTP ${status}): ${msg}`,
    unreachable: (url: string, why: string) => `cannot reach the server ${url}: ${why}`,
    badAnswer: 'the server answered in an unexpected format (is it the IOC server? do the versions match?)',
    cannotWrite: (f: string, why: string) => `cannot write the config file ${f}: ${why} (run as root/Administrator, or use --config)`,
    done: (id: string, commune: string) => `Enrolled: agent id ${id}, commune ${commune}.`,
    site: (name: string) => `Site: ${name}.`,
    saved: (f: string) => `Config saved (readable by its owner only): ${f}`,
    next: (f: string) => `Try it: ioc-agent run --config ${f}   or install it as a service: ioc-agent install`,
  },
} satisfies Record<Lang, unknown>;

/** POST the code; the answer, or a CliError (exit 1) with a message for the officer. */
export async function requestEnrolment(server: string, code: string, lang: Lang, insecure = false, timeoutMs = 15_000): Promise<EnrollAnswer> {
  const t = T[lang];
  const base = httpBase(server);
  const warning = clearTextCheck(base, insecure, lang);
  if (warning) process.stderr.write(`${warning}\n`);
  const body: EnrollBody = { code: code.trim().toUpperCase(), hostname: hostname(), platform: `${process.platform}-${process.arch}`, version: pkg.version };
  let res: Response;
  try {
    res = await fetch(`${base}/api/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(t.unreachable(displayUrl(base), cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e))), EXIT.failed);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok) {
    const answer = enrollAnswerSchema.safeParse(json);
    if (!answer.success) throw new CliError(t.badAnswer, EXIT.failed);
    return answer.data;
  }
  if (res.status === 404 && errorSchema.safeParse(json).success) throw new CliError(t.badCode, EXIT.failed);
  if (res.status === 429) throw new CliError(t.throttled(res.headers.get('retry-after') ?? '60'), EXIT.failed);
  const msg = errorSchema.safeParse(json);
  throw new CliError(t.refused(res.status, msg.success ? msg.data.error : text.slice(0, 200).trim() || res.statusText), EXIT.failed);
}

/** The enrolment merged into the config file's other settings. */
export function enrolledSettings(prev: Settings | undefined, server: string, a: EnrollAnswer): Settings {
  const { site: _site, commune: _commune, ...rest } = prev ?? {};
  return { ...rest, server: httpBase(server), id: a.id, token: a.token, commune: a.commune, ...(a.site ? { site: a.site } : {}) };
}

export function writeSettingsOrFail(file: string, s: Settings, lang: Lang): void {
  try {
    saveSettings(file, s);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(T[lang].cannotWrite(file, code ?? (e instanceof Error ? e.message : String(e))), EXIT.failed);
  }
}

export function readSettingsOrFail(file: string): Settings | undefined {
  try {
    return loadSettingsIfPresent(file);
  } catch (e) {
    if (e instanceof SettingsError) throw new CliError(`config file ${e.message}`);
    throw e;
  }
}

export function printEnrolment(a: EnrollAnswer, lang: Lang): void {
  out(T[lang].done(a.id, a.commune));
  if (a.site) out(T[lang].site(a.site.name));
}

const FLAGS = {
  server: { type: 'string' },
  code: { type: 'string' },
  config: { type: 'string' },
  lang: { type: 'string' },
  insecure: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function enroll(argv: string[]): Promise<number> {
  const f = parseFlags('enroll', argv, FLAGS);
  if (f.help) {
    out(`Usage: ${USAGE.enroll}\n\nExchanges a one-time enrolment code for this agent's id and token and writes them to the config file\n(default ${defaultConfigPath()}), keeping its other settings. The file is readable by its owner only.`);
    return EXIT.ok;
  }
  const server = f.server ?? process.env.IOC_SERVER;
  if (!server || !f.code) throw new CliError(`enroll: --server and --code are required\nUsage: ${USAGE.enroll}`);
  const file = f.config ?? process.env.IOC_AGENT_CONFIG ?? defaultConfigPath();
  const prev = readSettingsOrFail(file);
  const lang = chooseLang(f.lang, prev?.lang);
  // The officer's --insecure is kept in the file so that `run` from it talks to the same server the same way.
  const insecure = f.insecure ?? prev?.insecure;
  const answer = await requestEnrolment(server, f.code, lang, insecure);
  writeSettingsOrFail(file, { ...enrolledSettings(prev, server, answer), ...(insecure ? { insecure } : {}) }, lang);
  printEnrolment(answer, lang);
  out(T[lang].saved(file));
  out(T[lang].next(file));
  return EXIT.ok;
}
