// Read the YAML config, apply env overrides, validate, fail fast with path-qualified messages.
// Node-only (the UI imports schema.ts and wire.ts, never this file).
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { configSchema, provinceFileSchema, type Config, type ProvinceFile } from './schema.ts';
import { ConfigError } from './errors.ts';
import { formatPath } from './wire.ts';

export { ConfigError };

export const CONFIG_DIR = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CONFIG_PATH = join(CONFIG_DIR, 'default.yaml');

/** Environment variables that override the file (documented in README). */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  const server = (out.server ??= {}) as Record<string, unknown>;
  if (env.PORT) server.port = Number(env.PORT);
  if (env.IOC_DATA_DIR) server.dataDir = env.IOC_DATA_DIR;
  if (env.IOC_SIMULATOR) {
    const sim = (out.simulator ??= {}) as Record<string, unknown>;
    sim.enabled = !['0', 'false', 'no', 'off'].includes(env.IOC_SIMULATOR.toLowerCase());
  }
  if (env.IOC_INFLUX_URL) {
    out.store = { kind: 'influx', url: env.IOC_INFLUX_URL, database: env.IOC_INFLUX_DB ?? 'ioc' };
    const s = out.store as Record<string, unknown>;
    if (env.IOC_INFLUX_USER) s.username = env.IOC_INFLUX_USER;
    if (env.IOC_INFLUX_PASSWORD) s.password = env.IOC_INFLUX_PASSWORD;
  }
  return out;
}

/** Validate an already-parsed object; problems are reported as `path: message`. */
export function parseConfig(raw: unknown, file = '(inline)'): Config {
  const r = configSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(file, r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  return r.data;
}

export function loadConfig(path = process.env.IOC_CONFIG ?? DEFAULT_CONFIG_PATH, env = process.env): Config {
  const file = resolve(path);
  if (!existsSync(file)) throw new ConfigError(file, [`file not found (set IOC_CONFIG or pass --config)`]);
  const doc = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length) throw new ConfigError(file, doc.errors.map((e) => `YAML ${e.message}`));
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, ['(root): expected a mapping']);
  const cfg = parseConfig(applyEnv(raw as Record<string, unknown>, env), file);
  // dataDir relative to the config file's folder would surprise `npm start` users: it is relative to the cwd.
  if (!isAbsolute(cfg.server.dataDir)) cfg.server.dataDir = resolve(cfg.server.dataDir);
  return cfg;
}

/** Load config/provinces/<code>.json and check that config.communes only names communes of the province. */
export function loadProvince(cfg: Config, dir = join(CONFIG_DIR, 'provinces')): ProvinceFile {
  const file = join(dir, `${cfg.province.code}.json`);
  if (!existsSync(file))
    throw new ConfigError(file, [`province.code: no generated province file for "${cfg.province.code}" (run npm run gen:provinces)`]);
  const p = provinceFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!p.success) throw new ConfigError(file, p.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  const codes = new Set(p.data.communes.map((c) => c.code));
  const problems: string[] = [];
  for (const code of Object.keys(cfg.communes))
    if (!codes.has(code)) problems.push(`communes.${code}: not a commune of province ${cfg.province.code}`);
  cfg.agents.forEach((a, i) => {
    if (!codes.has(a.commune)) problems.push(`agents[${i}].commune: "${a.commune}" is not a commune of province ${cfg.province.code}`);
  });
  cfg.targets.forEach((t, i) =>
    t.communes?.forEach((c, j) => {
      if (!codes.has(c)) problems.push(`targets[${i}].communes[${j}]: "${c}" is not a commune of province ${cfg.province.code}`);
    }),
  );
  if (problems.length) throw new ConfigError('config', problems);
  return p.data;
}
