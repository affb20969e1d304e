// Reports, composed: archive + runner (data layer, renderers, email) + schedules + the /api/reports routes.
// main.ts calls createReports once the store and directory exist, mounts `routes` at /api/reports (behind
// requireSession) and calls close() on shutdown.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { Directory } from '../directory.ts';
import type { ChannelConfig } from '../notifiers/types.ts';
import { reportRoutes } from '../routes/reports.ts';
import type { Store } from '../stores/types.ts';
import { ReportArchive } from './archive.ts';
import { storeBuilder } from './build.ts';
import { ConfigError } from '../../config/errors.ts';
import { checkSchedules, startReportSchedules, type ReportScheduler } from './cron.ts';
import { periodHelpers } from './data/periods.ts';
import { reportMailer } from './mailer.ts';
import { recipientsFor, ReportRunner, type ReportBuilder } from './runner.ts';

export interface ReportsDeps {
  config: Config;
  dir: Directory;
  store: Store;
  log?: Logger;
  /** where `{ env: NAME }` SMTP secrets are read from */
  env?: NodeJS.ProcessEnv;
  /** default config.server.dataDir */
  dataDir?: string;
  /** replaces the store-backed builder (tests) */
  build?: ReportBuilder;
  now?: () => number;
}

export interface Reports {
  archive: ReportArchive;
  runner: ReportRunner;
  scheduler: ReportScheduler | null;
  routes: ReturnType<typeof reportRoutes>;
  close(): Promise<void>;
}

/** Problems in config.reports that need the rest of the config (zod checks the shape only). */
export function checkReportsConfig(cfg: Config): string[] {
  const r = cfg.reports;
  const carriers = cfg.carriers.map((c) => c.id);
  const problems = checkSchedules(r.schedules, carriers);
  for (const id of Object.keys(r.recipients.carriers)) if (!carriers.includes(id)) problems.push(`reports.recipients.carriers: unknown carrier "${id}"`);
  if (r.email.channel) {
    const ch = cfg.notifications.channels.find((c) => c.id === r.email.channel);
    if (!ch) problems.push(`reports.email.channel: no channel "${r.email.channel}" in notifications.channels`);
    else if (ch.kind !== 'email') problems.push(`reports.email.channel: channel "${ch.id}" is ${ch.kind}, not email`);
  }
  for (const f of r.email.attach ?? []) if (!r.formats.includes(f)) problems.push(`reports.email.attach: "${f}" is not in reports.formats`);
  return problems;
}

/** Throws ConfigError (every problem, path-qualified) on a bad reports config. */
export function createReports(d: ReportsDeps): Reports {
  const cfg = d.config;
  const r = cfg.reports;
  const problems = checkReportsConfig(cfg);
  if (problems.length) throw new ConfigError('reports', problems);
  const now = d.now ?? Date.now;
  const channel = r.email.channel ? (cfg.notifications.channels.find((c) => c.id === r.email.channel) as ChannelConfig<'email'>) : null;
  const hasRecipients = r.recipients.dost.length + r.recipients.all.length + Object.values(r.recipients.carriers).flat().length > 0;
  if (hasRecipients && !channel) d.log?.warn('reports: recipients are configured but reports.email.channel is not: reports are archived, not emailed');

  const archive = new ReportArchive(d.dataDir ?? cfg.server.dataDir, now).open();
  const runner = new ReportRunner({
    archive,
    build: d.build ?? storeBuilder(d.store, d.dir, r, now),
    context: {
      province: d.dir.province,
      targetName: (id) => d.dir.targets.get(id)?.name,
      carrierName: (id) => d.dir.carriers.get(id)?.name,
      letter: r.document,
    },
    formats: r.formats,
    retry: { attempts: r.retry.attempts, baseDelayMs: r.retry.baseDelaySec * 1000, maxDelayMs: r.retry.maxDelaySec * 1000 },
    mailer: channel ? reportMailer(channel, { env: d.env ?? process.env }) : null,
    recipients: recipientsFor(r.recipients),
    ...(r.email.attach ? { attach: r.email.attach } : {}),
    ...(d.log ? { log: d.log } : {}),
    now,
  });
  const cronDeps = {
    schedules: r.schedules,
    carriers: cfg.carriers.map((c) => c.id),
    runner,
    archive,
    periods: periodHelpers,
    ...(d.log ? { log: d.log } : {}),
  };
  const scheduler = r.enabled ? startReportSchedules(cronDeps, now) : null;
  scheduler?.catchUp(now());
  return {
    archive,
    runner,
    scheduler,
    routes: reportRoutes({ archive, runner, dir: d.dir, periods: periodHelpers, now }),
    async close() {
      await scheduler?.stop();
      await runner.close();
    },
  };
}
