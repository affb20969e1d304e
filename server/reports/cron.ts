// Scheduled reports with node-cron, in Asia/Ho_Chi_Minh whatever the server's zone. Each firing submits the
// reports of the period that just ended (the previous calendar week or month). `tick` is the whole firing and
// is called directly by the tests; it skips a report already generated (or under way) for the same schedule
// and period, so `catchUp` at start cannot make a duplicate with the next firing.
import cron, { type ScheduledTask } from 'node-cron';
import { ConfigError } from '../../config/errors.ts';
import type { ReportSchedule } from '../../config/schema.ts';
import type { Logger } from 'pino';
import type { ArchiveEntry, ReportArchive } from './archive.ts';
import type { Period } from './model.ts';
import type { ReportRequest, ReportRunner } from './runner.ts';

export const TIME_ZONE = 'Asia/Ho_Chi_Minh';

/** Calendar periods in Asia/Ho_Chi_Minh (server/reports/build.ts adapts the data layer's helpers). */
export interface PeriodHelpers {
  /** the complete week (Monday–Sunday) or month before the one containing `now` */
  previous(type: 'week' | 'month', now: number): Period;
  /** the week or month containing `at` */
  containing(type: 'week' | 'month', at: number): Period;
  /** [from, to) with a label like "01/10/2026–15/10/2026" */
  custom(from: number, to: number): Period;
}

/** The one config error type, under the name the report tests know. */
export { ConfigError as ReportsConfigError };

export interface CronDeps {
  schedules: ReportSchedule[];
  /** every configured carrier id, in config order */
  carriers: string[];
  runner: Pick<ReportRunner, 'submit'>;
  archive: Pick<ReportArchive, 'list'>;
  periods: PeriodHelpers;
  log?: Pick<Logger, 'info' | 'warn'>;
}

/** The reports a schedule asks for when it fires at `now`. */
export function requestsFor(s: ReportSchedule, now: number, carriers: string[], periods: PeriodHelpers): ReportRequest[] {
  const period = { ...periods.previous(s.period, now), type: s.period };
  if (s.kind === 'dost') return [{ kind: 'dost', scope: {}, period }];
  const list = s.carriers === 'all' ? carriers : s.carriers;
  return list.map((carrier) => ({ kind: 'carrier', carrier, period }));
}

function sameReport(e: ArchiveEntry, scheduleId: string, r: ReportRequest) {
  return (
    e.schedule === scheduleId &&
    e.kind === r.kind &&
    e.period.from === r.period.from &&
    e.period.to === r.period.to &&
    e.carrier === (r.kind === 'carrier' ? r.carrier : null) &&
    e.status !== 'failed'
  );
}

/** One firing of a schedule: submit its reports (those not already generated or under way). */
export function tick(d: CronDeps, s: ReportSchedule, now: number): ArchiveEntry[] {
  const out: ArchiveEntry[] = [];
  for (const r of requestsFor(s, now, d.carriers, d.periods)) {
    if (d.archive.list((e) => sameReport(e, s.id, r)).length) continue;
    out.push(d.runner.submit(r, { trigger: 'schedule', schedule: s.id }));
  }
  if (out.length) d.log?.info({ schedule: s.id, reports: out.map((e) => e.id) }, 'reports: schedule fired');
  return out;
}

/** Problems in the schedules that zod cannot see: cron syntax (node-cron's own parser), unknown carriers. */
export function checkSchedules(schedules: ReportSchedule[], carriers: string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  schedules.forEach((s, i) => {
    const at = `reports.schedules[${i}]`;
    if (seen.has(s.id)) problems.push(`${at}.id: duplicate id "${s.id}"`);
    seen.add(s.id);
    if (!cron.validate(s.cron)) {
      const detail = cron.validateDetailed(s.cron).errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      problems.push(`${at}.cron: invalid cron expression "${s.cron}"${detail ? ` (${detail})` : ''}`);
    }
    if (Array.isArray(s.carriers)) for (const c of s.carriers) if (!carriers.includes(c)) problems.push(`${at}.carriers: unknown carrier "${c}"`);
  });
  return problems;
}

export interface ReportScheduler {
  /** next firing of every enabled schedule */
  next(): { id: string; at: Date | null }[];
  /** see catchUp */
  catchUp(now: number): ArchiveEntry[];
  stop(): Promise<void>;
}

/** Start the enabled schedules. Throws ConfigError naming every bad schedule. */
export function startReportSchedules(d: CronDeps, now: () => number = Date.now): ReportScheduler {
  const problems = checkSchedules(d.schedules, d.carriers);
  if (problems.length) throw new ConfigError('reports', problems);
  const tasks: { s: ReportSchedule; task: ScheduledTask }[] = [];
  for (const s of d.schedules.filter((x) => x.enabled)) {
    const task = cron.schedule(
      s.cron,
      () => {
        try {
          tick(d, s, now());
        } catch (e) {
          d.log?.warn({ schedule: s.id, err: String(e) }, 'reports: schedule could not submit');
        }
      },
      { timezone: TIME_ZONE, name: `report:${s.id}`, noOverlap: true },
    );
    tasks.push({ s, task });
  }
  return {
    next: () => tasks.map(({ s, task }) => ({ id: s.id, at: task.getNextRun() })),
    catchUp: (t) => catchUp(d, t, (s, at) => tasks.find((x) => x.s.id === s.id)?.task.match(at) ?? false),
    async stop() {
      for (const { task } of tasks) await task.destroy();
    },
  };
}

/** Whether `matches` (a cron expression) fired in [from, to): minute by minute, at most 62 days back. */
export function firedBetween(matches: (at: Date) => boolean, from: number, to: number): boolean {
  const MIN = 60_000;
  const start = Math.max(Math.ceil(from / MIN) * MIN, to - 62 * 86_400_000);
  for (let t = start; t < to; t += MIN) if (matches(new Date(t))) return true;
  return false;
}

/**
 * After a restart: a schedule that should have fired while the server was down (a firing between the end of
 * the period it covers now and `now`) and has no report for that period gets it now. A schedule that never ran
 * here (fresh install) is left alone, so nobody gets a report of days that were never measured.
 */
export function catchUp(d: CronDeps, now: number, matches: (s: ReportSchedule, at: Date) => boolean): ArchiveEntry[] {
  const out: ArchiveEntry[] = [];
  for (const s of d.schedules.filter((x) => x.enabled)) {
    if (!d.archive.list((e) => e.schedule === s.id).length) continue;
    const covers = d.periods.previous(s.period, now);
    if (!firedBetween((at) => matches(s, at), covers.to, now)) continue;
    out.push(...tick(d, s, now));
  }
  return out;
}
