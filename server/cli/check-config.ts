// `npm run ioc -- check-config FILE`: validates a config file the way the server does at start (schema, province,
// cross-references of notifications and reports, secrets from the environment) and prints what would be served.
// Exit 0 when it would start, 2 with one line per problem, each naming its path in the file.
import { ConfigError } from '../../config/errors.ts';
import { loadConfig, loadProvince } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { DATA_VERSION, readDataVersion } from '../data-dir.ts';
import { buildDirectory } from '../directory.ts';
import { checkRouteRefs } from '../notifiers/index.ts';
import { checkReportsConfig } from '../reports/index.ts';
import { configArg } from './index.ts';

export const usage = 'check-config [FILE]       validate a config file and print what it would serve (exit 2 naming each problem)';

/** `{ env: NAME }` secrets whose variable is not set (the server would fail or skip the channel) */
function missingEnv(value: unknown, path: string, env: NodeJS.ProcessEnv, out: string[]) {
  if (Array.isArray(value)) value.forEach((v, i) => missingEnv(v, `${path}[${i}]`, env, out));
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.env === 'string') {
      if (!env[o.env]) out.push(`${path}: environment variable ${o.env} is not set (put it in the environment file)`);
      return;
    }
    for (const [k, v] of Object.entries(o)) missingEnv(v, path ? `${path}.${k}` : k, env, out);
  }
}

export function describeConfig(cfg: Config, communes: number, provinceName: string): string[] {
  const store = cfg.store.kind === 'duckdb' ? `duckdb ${cfg.store.file} in ${cfg.server.dataDir}` : `influx ${cfg.store.url} database ${cfg.store.database}`;
  const dv = readDataVersion(cfg.server.dataDir);
  return [
    `province   ${cfg.province.code} ${provinceName}: ${communes} communes (${Object.keys(cfg.communes).length} with settings)`,
    `listen     ${cfg.server.host}:${cfg.server.port}${cfg.server.publicUrl ? ` (public ${cfg.server.publicUrl})` : ''}`,
    `data       ${cfg.server.dataDir} (${dv ? `format ${dv.version}, written by ${dv.writtenBy}` : 'no version file yet'}; this server writes format ${DATA_VERSION})`,
    `store      ${store}; raw data kept ${cfg.store.rawRetentionDays || 'forever'}${cfg.store.rawRetentionDays ? ' days' : ''}`,
    `carriers   ${cfg.carriers.map((c) => c.id).join(', ')}`,
    `targets    ${cfg.targets.length}: ${cfg.targets.map((t) => `${t.id} (${t.kind})`).join(', ') || 'none'}`,
    `agents     ${cfg.agents.length} in the file${cfg.simulator.enabled ? ', plus one simulated per commune' : ''}`,
    `users      ${cfg.users.length} (${cfg.users.map((u) => `${u.username}: ${u.role}`).join(', ') || 'admin created on first start'}); API tokens ${cfg.apiTokens.length}`,
    `notify     ${cfg.notifications.channels.length} channels, ${cfg.notifications.routes.length} routes`,
    `metrics    ${cfg.metrics.enabled ? `GET /metrics for ${cfg.metrics.allow.join(', ')}${cfg.metrics.token ? ' or with the token' : ''}` : 'off'}`,
    `log        level ${cfg.log.level}, format ${cfg.log.format}`,
  ];
}

export async function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { configPath, rest } = configArg(args);
  const file = rest[0] ?? configPath;
  try {
    const cfg = loadConfig(file, env);
    const province = loadProvince(cfg);
    const dir = buildDirectory(cfg, province);
    const problems = [...checkRouteRefs(cfg.notifications, dir), ...checkReportsConfig(cfg)];
    missingEnv({ notifications: cfg.notifications, reports: cfg.reports, metrics: cfg.metrics }, '', env, problems);
    if (problems.length) throw new ConfigError(file ?? 'config', problems);
    console.log(`${file ?? 'config'}: OK\n`);
    for (const l of describeConfig(cfg, province.communes.length, province.fullName)) console.log(`  ${l}`);
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`${e.source}: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}`);
    for (const p of e.problems) console.error(`  ${p}`);
    return 2;
  }
}
