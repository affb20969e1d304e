// Runs every plan target every intervalSec: random initial phase (so a province's agents do not fire in
// lockstep), a concurrency cap, a hard deadline per round, one result per target per uplink.
// A probe that throws or ignores its AbortSignal becomes an error result; it never stalls the others.
// Fast confirmation: when a round's outcome flips (it failed after a good one, or answered after a failed one),
// the target is re-probed a few times on a short interval, so the server's status machine gets its confirmation
// rounds within seconds instead of after two more full rounds (a cut link is red in ~10 s at 30 s rounds).
// Bounded (a few rounds), stopped as soon as the outcome flips back (a lucky or unlucky single round), and at most
// one burst per target per minute, so a dead portal is not hammered and a flapping one is not probed in a loop.
import type { Plan, PlanTarget, PlanUplink, ProbeResult } from '../config/wire.ts';
import { probes as defaultProbes, type ProbeRegistry } from './probes/index.ts';
import type { Probe } from './probes/types.ts';

/** The subset of a pino logger the agent modules use (pino's Logger satisfies it). */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface SchedulerOptions {
  onResult: (result: ProbeResult) => void;
  probes?: ProbeRegistry;
  /** rounds running at the same time, across all targets */
  concurrency?: number;
  /** after a round's deadline, how long a probe that ignores its AbortSignal gets before it is abandoned */
  abandonAfterMs?: number;
  log?: Log;
  /** [0,1); injectable so tests can pin the initial phase */
  random?: () => number;
  /** fast confirmation of a changed outcome; false turns it off */
  confirm?: ConfirmOptions | false;
}

export interface ConfirmOptions {
  /** extra rounds after the one whose outcome changed (the status machine's downAfter - 1 by default) */
  rounds: number;
  /** between the end of one confirmation round and the next */
  intervalMs: number;
  /** at most one failure burst per target in this window */
  minGapMs: number;
}
/** 2 extra rounds 2 s apart: with downAfter 3 a cut is confirmed within ~10 s of the first failed round */
export const DEFAULT_CONFIRM: ConfirmOptions = { rounds: 2, intervalMs: 2000, minGapMs: 60_000 };

/**
 * Nothing answered: no echo came back, or the check said not ok. Kind-independent on purpose: the server's kind
 * descriptors judge slow and lossy rounds; the agent only needs to know that a round got no answer at all.
 */
export function roundFailed(r: ProbeResult): boolean {
  const x = r as { ok?: boolean; received?: number };
  return x.ok === false || x.received === 0;
}

export type PlanLike = Pick<Plan, 'targets' | 'uplinks'>;

interface Job {
  key: string;
  target: PlanTarget;
  probe: Probe<PlanTarget>;
  /** passed to the probe for binding; undefined = default route */
  bind?: PlanUplink;
  /** reported as result.uplink */
  label?: string;
  /** next due time (epoch ms) */
  due: number;
  timer?: NodeJS.Timeout;
  running: boolean;
  queued: boolean;
  abort?: AbortController;
  removed: boolean;
  /** outcome of the last round (undefined before the first) */
  lastFailed?: boolean;
  /** confirmation rounds still to run in the current burst */
  confirmLeft: number;
  /** when the last failure burst started (epoch ms) */
  burstAt: number;
  confirmTimer?: NodeJS.Timeout;
}

const hasBinding = (u: PlanUplink) => !!(u.interface || u.sourceAddress);

/**
 * Which uplinks a target runs on. A target pinned to an uplink runs there only. With one uplink, it
 * runs once labelled with that uplink. With several, it runs once per uplink that can be bound; if
 * none can, once on the default route without a label (we could not say which uplink carried it).
 */
export function runsFor(target: PlanTarget, uplinks: readonly PlanUplink[]): { bind?: PlanUplink; label?: string }[] {
  const pinned = (target as { uplink?: string }).uplink;
  if (pinned !== undefined) {
    const u = uplinks.find((x) => x.name === pinned);
    return [{ ...(u && hasBinding(u) ? { bind: u } : {}), label: pinned }];
  }
  if (uplinks.length === 0) return [{}];
  if (uplinks.length === 1) {
    const u = uplinks[0]!;
    return [{ ...(hasBinding(u) ? { bind: u } : {}), label: u.name }];
  }
  const bound = uplinks.filter(hasBinding);
  return bound.length > 0 ? bound.map((u) => ({ bind: u, label: u.name })) : [{}];
}

export class Scheduler {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly warnedKinds = new Set<string>();
  private readonly probes: ProbeRegistry;
  private readonly concurrency: number;
  private readonly abandonAfterMs: number;
  private readonly log: Log;
  private readonly random: () => number;
  private readonly confirm: ConfirmOptions | false;
  private active = 0;
  private stopped = false;
  /** rounds completed, for observability */
  rounds = 0;

  constructor(private readonly opts: SchedulerOptions) {
    this.probes = opts.probes ?? defaultProbes;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.abandonAfterMs = opts.abandonAfterMs ?? 2000;
    this.log = opts.log ?? silentLog;
    this.random = opts.random ?? Math.random;
    this.confirm = opts.confirm === undefined ? DEFAULT_CONFIRM : opts.confirm;
  }

  /** kinds seen in a plan that this agent cannot run (each logged once) */
  get unsupportedKinds(): string[] {
    return [...this.warnedKinds];
  }
  get size(): number {
    return this.jobs.size;
  }
  get running(): number {
    return this.active;
  }

  /** Replace the schedule. Unchanged target+uplink pairs keep their phase; removed ones stop. */
  setPlan(plan: PlanLike): void {
    if (this.stopped) return;
    const next = new Map<string, { target: PlanTarget; probe: Probe<PlanTarget>; bind?: PlanUplink; label?: string }>();
    const unsupported = new Map<string, string[]>();
    for (const target of plan.targets) {
      const probe = this.probes[target.kind] as Probe<PlanTarget> | undefined;
      if (!probe) {
        unsupported.set(target.kind, [...(unsupported.get(target.kind) ?? []), target.id]);
        continue;
      }
      for (const run of runsFor(target, plan.uplinks)) {
        const key = `${target.id}\u0000${run.label ?? ''}`;
        next.set(key, { target, probe, ...run });
      }
    }
    for (const [kind, ids] of unsupported) {
      if (this.warnedKinds.has(kind)) continue;
      this.warnedKinds.add(kind);
      this.log.warn({ kind, targets: ids }, `unsupported probe kind "${kind}": this agent version cannot run it; skipping`);
    }

    for (const [key, job] of this.jobs) {
      const n = next.get(key);
      const same = n && JSON.stringify([n.target, n.bind]) === JSON.stringify([job.target, job.bind]);
      if (!same) this.remove(job);
    }
    const now = Date.now();
    for (const [key, n] of next) {
      if (this.jobs.has(key)) continue;
      const intervalMs = n.target.intervalSec * 1000;
      const job: Job = {
        key,
        ...n,
        due: now + Math.floor(this.random() * intervalMs),
        running: false,
        queued: false,
        removed: false,
        confirmLeft: 0,
        burstAt: -Infinity,
      };
      this.jobs.set(key, job);
      this.arm(job);
    }
    this.log.info({ jobs: this.jobs.size, targets: plan.targets.length, uplinks: plan.uplinks.length }, 'schedule updated');
  }

  /** Stop all timers, abort running rounds, and resolve once they have returned (or been abandoned). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs.values()) this.remove(job);
    this.queue.length = 0;
    await Promise.allSettled([...this.inflight]);
  }

  private remove(job: Job): void {
    job.removed = true;
    clearTimeout(job.timer);
    clearTimeout(job.confirmTimer);
    job.abort?.abort(new Error('target removed'));
    this.jobs.delete(job.key);
  }

  private arm(job: Job): void {
    clearTimeout(job.timer);
    job.timer = setTimeout(() => this.tick(job), Math.max(0, job.due - Date.now()));
  }

  private tick(job: Job): void {
    if (job.removed || this.stopped) return;
    const intervalMs = job.target.intervalSec * 1000;
    const now = Date.now();
    // Fixed rate from the initial phase; skip missed slots rather than bursting after a stall.
    job.due += intervalMs;
    if (job.due <= now) job.due += Math.ceil((now - job.due + 1) / intervalMs) * intervalMs;
    this.arm(job);
    this.enqueue(job);
  }

  private enqueue(job: Job): void {
    if (job.running || job.queued) {
      this.log.debug({ target: job.target.id, uplink: job.label }, 'previous round still running; slot skipped');
      return;
    }
    job.queued = true;
    this.queue.push(job);
    this.drain();
  }

  private drain(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      job.queued = false;
      if (job.removed) continue;
      this.active++;
      job.running = true;
      const p = this.runOnce(job).finally(() => {
        this.active--;
        job.running = false;
        this.inflight.delete(p);
        if (!this.stopped) this.drain();
      });
      this.inflight.add(p);
    }
  }

  private async runOnce(job: Job): Promise<void> {
    const { target, probe } = job;
    const ts = Date.now();
    const ac = new AbortController();
    job.abort = ac;
    const deadline = setTimeout(() => ac.abort(new Error('round deadline')), target.timeoutMs);
    let abandon: NodeJS.Timeout | undefined;
    let result: ProbeResult;
    try {
      const ctx = { signal: ac.signal, ...(job.bind ? { uplink: job.bind } : {}) };
      const guard = new Promise<ProbeResult>((resolve) => {
        const giveUp = () => {
          abandon = setTimeout(
            () => resolve(probe.failure(target, ts, `timeout: probe did not return within ${target.timeoutMs} ms`)),
            this.stopped ? 0 : this.abandonAfterMs,
          );
        };
        if (ac.signal.aborted) giveUp();
        else ac.signal.addEventListener('abort', giveUp, { once: true });
      });
      result = await Promise.race([Promise.resolve().then(() => probe.run(target, ctx)), guard]);
    } catch (e) {
      this.log.error({ target: target.id, err: e instanceof Error ? e.message : String(e) }, 'probe threw; reported as a failed round');
      result = probe.failure(target, ts, `probe error: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(deadline);
      clearTimeout(abandon);
      job.abort = undefined;
    }
    this.rounds++;
    if (job.removed && this.stopped) return; // stopping: nobody is listening any more
    if (job.label !== undefined) result.uplink = job.label;
    else delete result.uplink;
    this.afterRound(job, roundFailed(result));
    try {
      this.opts.onResult(result);
    } catch (e) {
      this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'onResult threw');
    }
  }

  /** Start, continue or end a confirmation burst after a round's outcome. */
  private afterRound(job: Job, failed: boolean): void {
    const c = this.confirm;
    // a target probed about as often as the burst would probe it needs no burst
    if (!c || job.removed || this.stopped || job.target.intervalSec * 1000 < 5 * c.intervalMs) return;
    const flipped = failed !== (job.lastFailed ?? false);
    job.lastFailed = failed;
    const now = Date.now();
    if (job.confirmLeft > 0) job.confirmLeft = flipped ? 0 : job.confirmLeft - 1;
    // the gap limits failure bursts only: confirming a recovery probes something that answers again
    else if (flipped && (!failed || now - job.burstAt >= c.minGapMs)) {
      if (failed) job.burstAt = now;
      job.confirmLeft = c.rounds;
      this.log.info({ target: job.target.id, uplink: job.label, failed }, 'outcome changed: confirming with quick rounds');
    }
    if (job.confirmLeft === 0) return;
    clearTimeout(job.confirmTimer);
    job.confirmTimer = setTimeout(() => {
      if (!job.removed && !this.stopped) this.enqueue(job);
    }, c.intervalMs);
  }
}
