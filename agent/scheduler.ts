// Runs every plan target every intervalSec: random initial phase (so a province's agents do not fire in
// lockstep), a concurrency cap, a hard deadline per round, one result per target per uplink.
// A probe that throws or ignores its AbortSignal becomes an error result; it never stalls the others.
// Fast confirmation: when a round's outcome flips (it failed after a good one, or answered after a failed one),
// the target is re-probed a few times on a short interval, so the server's status machine gets its confirmation
// rounds within seconds instead of after two more full rounds.
// Pulses (./pulse.ts): between regular rounds, one cheap check of a link target (an echo) every few seconds; when its
// answer differs from the last round's outcome, the burst starts at once with a full round, so a fault is not first
// waited for until the next regular round (up to 30 s). A pulse is never reported; only the burst's real rounds are.
// Services (a third party's portal) are not pulsed by every site: when one site's round of a service fails after a
// good one, the server asks the other sites to confirm it now (probeNow), at most once a minute per target.
// Bounded (a few rounds), stopped as soon as the outcome flips back (a lucky or unlucky single round); a failure burst
// whose first round answered (noise: one lost pulse or round) allows no other for a minute, so a lossy or flapping
// target is not probed in a loop. A confirmed fault is not rate-limited: its next burst comes only after a recovery,
// and a commune whose link was cut and repaired a minute ago must see the next fault as fast as any other.
// A dead portal is not hammered: once confirmed, it gets its regular rounds only.
import type { Plan, PlanTarget, PlanUplink, ProbeResult } from '../config/wire.ts';
import { deadline } from './probes/deadline.ts';
import { probes as defaultProbes, type ProbeRegistry } from './probes/index.ts';
import type { Probe } from './probes/types.ts';
import { pulses as defaultPulses, type Pulse, type PulseRegistry } from './pulse.ts';

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
  /** fast confirmation of a changed outcome; false turns it off (and the pulses with it) */
  confirm?: ConfirmOptions | false;
  /** pulses per kind; default the real ones with the real probes, none with injected probes */
  pulses?: PulseRegistry;
}

export interface ConfirmOptions {
  /** extra rounds after the one whose outcome changed (the status machine's downAfter - 1 by default) */
  rounds: number;
  /** between the starts of two rounds of a burst (a round that takes longer is followed at once) */
  intervalMs: number;
  /** after a failure burst that turned out noise (its first round answered), no other one for this long */
  minGapMs: number;
}
/** 2 extra rounds 2 s apart: with downAfter 3 a cut is confirmed ~6 s after the first failed round starts */
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
  /** the burst under way: the outcome it confirms and the rounds still to run */
  burst: { failed: boolean; left: number; confirmed: number } | null;
  /** when the last failure burst that turned out noise ended (epoch ms) */
  noiseAt: number;
  confirmTimer?: NodeJS.Timeout;
  pulse?: Pulse<PlanTarget>;
  pulseTimer?: NodeJS.Timeout;
  pulseAbort?: AbortController;
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
  private readonly pulses: PulseRegistry;
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
    this.pulses = opts.pulses ?? (opts.probes ? {} : defaultPulses);
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
        burst: null,
        noiseAt: -Infinity,
      };
      this.jobs.set(key, job);
      this.arm(job);
      this.armPulse(job);
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
    clearTimeout(job.pulseTimer);
    job.abort?.abort(new Error('target removed'));
    job.pulseAbort?.abort(new Error('target removed'));
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
    const { probe } = job;
    // a burst's rounds may take the pulse's shorter shape; everything else runs as planned
    const target = job.burst && job.pulse?.confirmRound ? job.pulse.confirmRound(job.target) : job.target;
    const ts = Date.now();
    // a kind with a timetable of its own (throughput) that is not due: no round, no result, not a failure
    if (probe.due && !probe.due(target, job.label, ts)) return;
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
    this.afterRound(job, roundFailed(result), ts);
    try {
      this.opts.onResult(result);
    } catch (e) {
      this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'onResult threw');
    }
  }

  /**
   * The server asks: another site saw these targets fail after a good round; confirm them here now, on every uplink,
   * with a burst like a changed pulse starts (a full round, then the confirmation rounds). Same bounds: none while a
   * round or burst of the job is under way, none within the noise gap, none where this site already sees a failure.
   */
  probeNow(targetIds: readonly string[]): number {
    const wanted = new Set(targetIds);
    let started = 0;
    for (const job of this.jobs.values()) {
      if (!wanted.has(job.target.id)) continue;
      const c = this.fast(job);
      if (!c || job.running || job.queued || job.burst || job.lastFailed === true) continue;
      if (this.startBurst(job, c, true, c.rounds + 1, 'probe')) {
        this.enqueue(job);
        started++;
      }
    }
    return started;
  }

  /** May this target have bursts (and pulses)? One probed about as often as a burst would probe it needs none. */
  private fast(job: Job): ConfirmOptions | null {
    const c = this.confirm;
    // nor one with a timetable of its own: a test a few times a day is not confirmed by quick rounds
    return c && !job.removed && !this.stopped && !job.probe.due && job.target.intervalSec * 1000 >= 5 * c.intervalMs ? c : null;
  }

  /** Start a burst confirming `failed` with `rounds` rounds; false when rate-limited. */
  private startBurst(job: Job, c: ConfirmOptions, failed: boolean, rounds: number, why: 'round' | 'pulse' | 'probe'): boolean {
    const now = Date.now();
    // only failure bursts are limited: confirming a recovery probes something that answers again
    if (failed && now - job.noiseAt < c.minGapMs) return false;
    job.burst = { failed, left: rounds, confirmed: 0 };
    this.log.info({ target: job.target.id, uplink: job.label, failed, why }, 'outcome changed: confirming with quick rounds');
    return true;
  }

  /** Start, continue or end a confirmation burst after a round's outcome (the round started at `startedAt`). */
  private afterRound(job: Job, failed: boolean, startedAt: number): void {
    const c = this.fast(job);
    if (!c) return;
    const flipped = failed !== (job.lastFailed ?? false);
    job.lastFailed = failed;
    if (job.burst) {
      if (failed !== job.burst.failed) {
        // the outcome flipped back (a lucky or unlucky single round): nothing left to confirm; a failure nothing
        // confirmed was noise
        if (job.burst.failed && job.burst.confirmed === 0) job.noiseAt = Date.now();
        job.burst = null;
      } else if (--job.burst.left <= 0) job.burst = null;
      else job.burst.confirmed++;
    } else if (flipped) this.startBurst(job, c, failed, c.rounds, 'round');
    if (!job.burst) return;
    clearTimeout(job.confirmTimer);
    job.confirmTimer = setTimeout(() => {
      if (!job.removed && !this.stopped) this.enqueue(job);
    }, Math.max(0, startedAt + c.intervalMs - Date.now()));
  }

  private armPulse(job: Job): void {
    const pulse = this.pulses[job.target.kind] as Pulse<PlanTarget> | undefined;
    // a pulse as often as the rounds themselves would tell nothing new
    if (!pulse || !this.fast(job) || job.target.intervalSec * 1000 < 3 * pulse.everyMs) return;
    job.pulse = pulse;
    const next = () => {
      job.pulseTimer = setTimeout(() => {
        if (job.removed || this.stopped) return;
        next();
        this.runPulse(job, pulse);
      }, pulse.everyMs);
    };
    next();
  }

  private runPulse(job: Job, pulse: Pulse<PlanTarget>): void {
    const c = this.fast(job);
    // nothing to learn while a round or a burst is under way
    if (!c || job.running || job.queued || job.burst || job.pulseAbort || job.lastFailed === undefined) return;
    const ac = new AbortController();
    job.pulseAbort = ac;
    // a pulse slower than its period has failed; and one that never settles must not stop the pulses for good
    const limit = deadline(ac.signal, pulse.everyMs);
    const { signal } = limit;
    const ctx = { signal, ...(job.bind ? { uplink: job.bind } : {}) };
    const gaveUp = new Promise<boolean>((resolve) => signal.addEventListener('abort', () => resolve(false), { once: true }));
    const p = Promise.race([pulse.answered(job.target, ctx).catch(() => false), gaveUp])
      .then((answered) => {
        limit.done();
        job.pulseAbort = undefined;
        const failed = !answered;
        if (job.removed || this.stopped || ac.signal.aborted || job.running || job.queued || job.burst) return;
        if (failed === job.lastFailed) return;
        // the pulse does not count: a full round starts now, then the usual confirmation rounds
        if (this.startBurst(job, c, failed, c.rounds + 1, 'pulse')) this.enqueue(job);
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }
}
