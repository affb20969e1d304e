// Generates reports one at a time: model (data layer) -> every configured format -> archive -> email.
// Each job reports its progress (stage, %). A failed attempt is recorded with its reason and retried after a
// backoff (base * 3^(n-1), capped) up to `attempts` times; the same for delivery, separately, so a mail server
// being down never regenerates a report. Retries wait on timers, not in the queue, so other reports go on.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ReportFormat } from '../../config/schema.ts';
import { describe } from '../notifiers/util.ts';
import type { ArchiveEntry, DeliveryStatus, PeriodType, ReportArchive, ReportStatus } from './archive.ts';
import { MailError, reportMessage, type ReportMailer } from './mailer.ts';
import type { Period, Report } from './model.ts';
import { layout, type DocContext, type ReportDoc } from './render/document.ts';
import { renderReport, type RenderContext, type RenderedFile } from './render/index.ts';

export interface RequestPeriod extends Period {
  type: PeriodType;
}

export type ReportRequest =
  | { kind: 'carrier'; carrier: string; period: RequestPeriod }
  | { kind: 'dost'; scope: { commune?: string; target?: string }; period: RequestPeriod };

/** Computes the model of a report (server/reports/build.ts wires the data layer in). */
export type ReportBuilder = (req: ReportRequest) => Promise<Report>;

export type Stage = 'queued' | 'data' | 'render' | 'archive' | 'email' | 'retry' | 'done' | 'failed';
const STAGE_LABEL: Record<Stage, string> = {
  queued: 'Đang chờ',
  data: 'Đang tính số liệu',
  render: 'Đang tạo tệp',
  archive: 'Đang lưu trữ',
  email: 'Đang gửi email',
  retry: 'Chờ thử lại',
  done: 'Hoàn tất',
  failed: 'Thất bại',
};

export interface JobProgress {
  id: string;
  status: ReportStatus;
  stage: Stage;
  /** Vietnamese, for the UI: "Đang tạo tệp PDF" */
  stageLabel: string;
  percent: number;
  attempts: number;
  maxAttempts: number;
  error: string | null;
  nextAttemptAt: number | null;
  delivery: DeliveryStatus;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RunnerOptions {
  archive: ReportArchive;
  build: ReportBuilder;
  /** province polygons (carrier map) and names */
  context: RenderContext & DocContext;
  formats: ReportFormat[];
  retry: RetryPolicy;
  /** null: no email delivery configured */
  mailer: ReportMailer | null;
  recipients: (req: ReportRequest) => string[];
  /** formats attached to the email (default: every generated format) */
  attach?: ReportFormat[];
  onProgress?: (p: JobProgress) => void;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
}

export interface SubmitMeta {
  trigger: 'schedule' | 'manual';
  schedule?: string;
  requestedBy?: string;
}

type Task = { type: 'generate'; id: string; req: ReportRequest; attempt: number } | { type: 'deliver'; id: string; req: ReportRequest; attempt: number };

export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.baseDelayMs * 3 ** (attempt - 1), policy.maxDelayMs);
}

export class ReportRunner {
  private queue: Task[] = [];
  private working: Promise<void> | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private progress = new Map<string, JobProgress>();
  private listeners = new Map<string, (p: JobProgress) => void>();
  /** jobs queued or being generated, by what they generate: an identical request joins one instead of adding another */
  private pending = new Map<string, string>();
  private docs = new Map<string, ReportDoc>();
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private readonly now: () => number;

  constructor(private o: RunnerOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * Queue a report; the archive entry's id is the job id. A request identical to a job still queued or being
   * generated (kind, carrier or scope, period, formats) gets that job: a year of rollups is read once. Whoever may
   * make a request may see every report of that request's kind and carrier, so the joined job is theirs to see.
   */
  submit(req: ReportRequest, meta: SubmitMeta, onProgress?: (p: JobProgress) => void): ArchiveEntry {
    if (this.closed) throw new Error('report runner is closed');
    const key = this.keyOf(req);
    const joined = this.pending.get(key);
    const running = joined ? this.o.archive.get(joined) : null;
    if (running && (running.status === 'queued' || running.status === 'running')) {
      if (onProgress) {
        const before = this.listeners.get(running.id);
        this.listeners.set(running.id, before ? (p) => (before(p), onProgress(p)) : onProgress);
      }
      return running;
    }
    const entry = this.o.archive.create({
      kind: req.kind,
      carrier: req.kind === 'carrier' ? req.carrier : null,
      scope: req.kind === 'dost' ? req.scope : {},
      period: { type: req.period.type, from: req.period.from, to: req.period.to, label: req.period.label },
      formats: [...this.o.formats],
      trigger: meta.trigger,
      schedule: meta.schedule ?? null,
      requestedBy: meta.requestedBy ?? null,
    });
    if (onProgress) this.listeners.set(entry.id, onProgress);
    this.pending.set(key, entry.id);
    this.report(entry.id, 'queued', 0);
    this.enqueue({ type: 'generate', id: entry.id, req, attempt: 1 });
    return entry;
  }

  /** Progress of a job of this process, or null (then the archive entry has the outcome). */
  job(id: string): JobProgress | null {
    const p = this.progress.get(id);
    return p ? { ...p } : null;
  }

  /** Resolves when nothing is queued, running or waiting for a retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop: pending retries are dropped (the archive marks them failed at the next start); the running job finishes. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue = [];
    await this.working;
    await this.o.mailer?.close();
  }

  private keyOf(req: ReportRequest): string {
    const { type, from, to } = req.period;
    const who = req.kind === 'carrier' ? { carrier: req.carrier } : { commune: req.scope.commune ?? null, target: req.scope.target ?? null };
    return JSON.stringify({ kind: req.kind, ...who, period: { type, from, to }, formats: this.o.formats });
  }

  private isIdle() {
    return !this.working && !this.queue.length && !this.timers.size;
  }

  private enqueue(t: Task) {
    if (this.closed) return;
    this.queue.push(t);
    this.pump();
  }

  private pump() {
    if (this.working) return;
    const t = this.queue.shift();
    if (!t) {
      if (this.isIdle()) this.idleWaiters.splice(0).forEach((r) => r());
      return;
    }
    const handlers = {
      generate: (x) => this.generate(x),
      deliver: (x) => this.deliver(x),
    } satisfies { [K in Task['type']]: (t: Extract<Task, { type: K }>) => Promise<void> };
    this.working = (handlers[t.type] as (t: Task) => Promise<void>)(t)
      .catch((e: unknown) => this.o.log?.error({ err: describe(e), id: t.id }, 'reports: unexpected error'))
      .finally(() => {
        if (t.type === 'generate' && this.pending.get(this.keyOf(t.req)) === t.id) this.pending.delete(this.keyOf(t.req));
        this.working = null;
        this.pump();
      });
  }

  private later(t: Task, ms: number) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.enqueue(t);
    }, ms);
    this.timers.add(timer);
  }

  private report(id: string, stage: Stage, percent: number, detail = '') {
    const e = this.o.archive.get(id);
    if (!e) return;
    const p: JobProgress = {
      id,
      status: e.status,
      stage,
      stageLabel: detail ? `${STAGE_LABEL[stage]} ${detail}` : STAGE_LABEL[stage],
      percent: Math.round(percent),
      attempts: e.attempts,
      maxAttempts: this.o.retry.attempts,
      error: e.error,
      nextAttemptAt: e.nextAttemptAt,
      delivery: e.delivery.status,
    };
    this.progress.set(id, p);
    this.listeners.get(id)?.(p);
    this.o.onProgress?.(p);
  }

  private async generate(t: Extract<Task, { type: 'generate' }>) {
    const { archive } = this.o;
    archive.update(t.id, (e) => {
      e.status = 'running';
      e.attempts = t.attempt;
      e.nextAttemptAt = null;
    });
    try {
      this.report(t.id, 'data', 5);
      const report = await this.o.build(t.req);
      const doc = layout(report, this.o.context);
      const files: RenderedFile[] = [];
      for (const [i, f] of this.o.formats.entries()) {
        this.report(t.id, 'render', 50 + (40 * i) / this.o.formats.length, f.toUpperCase());
        files.push(await renderReport(report, f, this.o.context, doc));
      }
      this.report(t.id, 'archive', 90);
      for (const f of files) archive.writeFile(t.id, f.format, { name: f.name, asciiName: f.asciiName, contentType: f.contentType }, f.body);
      const to = [...new Set(this.o.recipients(t.req))];
      const deliver = !!this.o.mailer && to.length > 0;
      archive.update(t.id, (e) => {
        e.status = 'done';
        e.error = null;
        e.generatedAt = report.generatedAt;
        e.title = `${doc.title} — ${doc.subtitle}`;
        if (deliver) e.delivery = { status: 'pending', to, attempts: 0, error: null, at: null };
      });
      this.o.log?.info({ id: t.id, title: doc.fileTitle, attempt: t.attempt }, 'reports: generated');
      if (deliver) {
        this.docs.set(t.id, doc);
        this.report(t.id, 'email', 95);
        this.enqueue({ type: 'deliver', id: t.id, req: t.req, attempt: 1 });
      } else this.report(t.id, 'done', 100);
    } catch (err) {
      const reason = describe(err);
      const retry = t.attempt < this.o.retry.attempts;
      const wait = backoffMs(this.o.retry, t.attempt);
      archive.update(t.id, (e) => {
        e.failures.push({ at: this.now(), attempt: t.attempt, error: reason });
        e.error = reason;
        e.status = retry ? 'retrying' : 'failed';
        e.nextAttemptAt = retry ? this.now() + wait : null;
      });
      this.o.log?.warn({ id: t.id, attempt: t.attempt, err: reason }, retry ? `reports: failed, retrying in ${Math.round(wait / 1000)} s` : 'reports: failed, giving up');
      if (retry) {
        this.report(t.id, 'retry', 0);
        this.later({ ...t, attempt: t.attempt + 1 }, wait);
      } else this.report(t.id, 'failed', 100);
    }
  }

  private async deliver(t: Extract<Task, { type: 'deliver' }>) {
    const { archive } = this.o;
    const entry = archive.get(t.id);
    const doc = this.docs.get(t.id);
    if (!entry || !doc || !this.o.mailer) return;
    archive.update(t.id, (e) => (e.delivery.attempts = t.attempt));
    this.report(t.id, 'email', 95);
    try {
      const attach = (this.o.attach ?? entry.formats).filter((f) => entry.files[f]);
      const files: RenderedFile[] = attach.map((format) => {
        const f = archive.file(t.id, format);
        if (!f) throw new Error(`report file ${format} is missing from the archive`);
        return { format, name: f.name, asciiName: f.asciiName, contentType: f.contentType, body: readFileSync(f.path) };
      });
      await this.o.mailer.send(reportMessage(doc, files, entry.delivery.to));
      archive.update(t.id, (e) => {
        e.delivery.status = 'sent';
        e.delivery.error = null;
        e.delivery.at = this.now();
      });
      this.docs.delete(t.id);
      this.o.log?.info({ id: t.id, to: entry.delivery.to }, 'reports: delivered');
      this.report(t.id, 'done', 100);
    } catch (err) {
      const reason = describe(err);
      const retry = t.attempt < this.o.retry.attempts && !(err instanceof MailError && err.permanent);
      archive.update(t.id, (e) => {
        e.delivery.error = reason;
        e.delivery.status = retry ? 'pending' : 'failed';
      });
      this.o.log?.warn({ id: t.id, attempt: t.attempt, err: reason }, retry ? 'reports: delivery failed, retrying' : 'reports: delivery failed, giving up');
      if (retry) this.later({ ...t, attempt: t.attempt + 1 }, backoffMs(this.o.retry, t.attempt));
      else {
        this.docs.delete(t.id);
        this.report(t.id, 'done', 100);
      }
    }
  }
}

/** Who receives a report: its carrier's list (carrier reports) or DOST's, plus the copy-to-all list. */
export function recipientsFor(r: { dost: string[]; carriers: Record<string, string[]>; all: string[] }) {
  return (req: ReportRequest): string[] => [...new Set([...(req.kind === 'carrier' ? (r.carriers[req.carrier] ?? []) : r.dost), ...r.all])];
}
