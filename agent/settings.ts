// The agent's config file (JSON): what `enroll` and `install` write and `run --config` reads. Everything in it can
// also come from a flag or the environment, which win over the file. It holds the agent's token, so it is written
// owner-only (0600) and replaced atomically.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve, win32 } from 'node:path';
import { z } from 'zod';
import { formatPath } from '../config/wire.ts';
import { replaceFileSync } from './atomic-file.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LANGS = ['vi', 'en'] as const;
export type Lang = (typeof LANGS)[number];

const positive = z.number().positive();
const positiveInt = z.number().int().positive();

const serverUrl = z.string().refine((s) => {
  try {
    return ['http:', 'https:', 'ws:', 'wss:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
}, 'expected an http(s):// or ws(s):// URL');

// Strict: a misspelt key ("tokn") is an error naming it rather than a setting silently not applied.
export const settingsSchema = z.strictObject({
  /** server base URL */
  server: serverUrl.optional(),
  /** this agent's id on the server */
  id: z.string().min(1).max(128).optional(),
  /** this agent's secret (the server keeps only its hash) */
  token: z.string().min(1).max(1024).optional(),
  /** the commune and site the enrolment named: shown by `status`, not used to connect */
  commune: z.string().max(16).optional(),
  site: z.object({ name: z.string(), kind: z.string() }).optional(),
  /** spool (unless spoolDir says otherwise) and the status file live here */
  stateDir: z.string().min(1).optional(),
  /** "none" keeps results in memory only */
  spoolDir: z.string().min(1).optional(),
  spoolMaxMb: positive.optional(),
  spoolMaxAgeDays: positive.optional(),
  replayRate: positive.optional(),
  concurrency: positiveInt.optional(),
  /** results kept in memory with spoolDir "none" */
  buffer: positiveInt.optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  /** log here instead of stdout (a Windows task has no console); rotated once at start beyond 10 MB */
  logFile: z.string().min(1).optional(),
  /** send the token over ws:// or http:// to a server that is not this machine (run/enroll --insecure) */
  insecure: z.boolean().optional(),
  /** language of `status` and the other commands' messages */
  lang: z.enum(LANGS).optional(),
});
export type Settings = z.infer<typeof settingsSchema>;

/** A config file that cannot be used: the message names the file and, when there is one, the field. */
export class SettingsError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'SettingsError';
  }
}

/** Where `install` puts the config file and where `status`/`enroll`/`run` look for it when not told. */
export function defaultConfigPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return win32.join(env.ProgramData ?? 'C:\\ProgramData', 'ioc-agent', 'agent.json');
  return '/etc/ioc-agent/agent.json';
}

/** Where an installed agent keeps its spool and status file (what `install` writes into the config). */
export function defaultStateDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return win32.join(env.ProgramData ?? 'C:\\ProgramData', 'ioc-agent');
  return '/var/lib/ioc-agent';
}

/** Read and validate a config file. Relative paths in it are taken relative to the file's own folder. */
export function loadSettings(file: string): Settings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SettingsError(file, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied (run as the service user or root)' : String(e));
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new SettingsError(file, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = settingsSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys' ? `${i.keys.map((k) => formatPath([...i.path, k])).join(', ')}: unknown field` : `${formatPath(i.path)}: ${i.message}`,
    );
    throw new SettingsError(file, issues.join('; '));
  }
  const s = parsed.data;
  const base = dirname(resolve(file));
  for (const k of ['stateDir', 'spoolDir', 'logFile'] as const) {
    const v = s[k];
    if (v && v !== 'none' && !isAbsolute(v) && !win32.isAbsolute(v)) s[k] = resolve(base, v);
  }
  return s;
}

/**
 * Write the config file atomically, readable by its owner only: a temp file with mode 0600 in the same folder,
 * fsynced, renamed over the old one. Keys with undefined values are left out.
 */
export function saveSettings(file: string, s: Settings): void {
  const checked = settingsSchema.parse(JSON.parse(JSON.stringify(s)));
  replaceFileSync(file, `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o600, fsync: true });
}

/** The config file if it exists, else undefined (any other problem is still an error). */
export function loadSettingsIfPresent(file: string): Settings | undefined {
  try {
    return loadSettings(file);
  } catch (e) {
    if (e instanceof SettingsError && e.detail === 'no such file') return undefined;
    throw e;
  }
}
