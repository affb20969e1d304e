// Delivery side of notifications: one queue per destination (channel + recipients + language), each
// with its rate limit, digests and retries, plus the record of every attempt for the status API.
//   - messages leave in order, one request at a time (an opening never overtakes its recovery);
//   - at most `limit` attempts in any 60 s window. While slots remain, messages go one by one; when only
//     the last slot of the window is left and more than one message waits, that slot carries ONE digest
//     of everything waiting. Later arrivals wait for the window. Nothing is dropped for the limit.
//   - a failed attempt is retried after base*3^(n-1) s (capped; a Retry-After/retry_after from the API
//     wins if longer), up to `retry.attempts` attempts. After the last, or on a permanent error (bad
//     token, 4xx, SMTP 5xx), the message is given up: counted as failed, logged, shown in status().
//     Messages queued behind it meanwhile are merged by the digest rule when they finally go.
import type { Logger } from 'pino';
import type { NotificationsConfig, NotifyChannelConfig } from '../../config/schema.ts';
import { renderDigest } from './templates.ts';
import { NotifierError, type Lang, type MessageKind, type Notifier, type Rendered } from './types.ts';
import { describe } from './util.ts';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type Log = Pick<Logger, 'info' | 'warn' | 'error'>;
export const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {} } as unknown as Log;

export interface DeliveryAttempt {
  at: number;
  channel: string;
  recipients: string[];
  deliveryId: string;
  attempt: number;
  ok: boolean;
  error: string | null;
  /** attempt given up for good (last attempt or permanent error) */
  gaveUp: boolean;
  durationMs: number;
  digest: boolean;
  messages: { incident: string; message: MessageKind }[];
}

export interface DestinationStatus {
  channel: string;
  kind: NotifyChannelConfig['kind'];
  recipients: string[];
  lang: Lang;
  /** messages waiting, plus the ones of the message in flight or awaiting retry */
  queued: number;
  inFlight: boolean;
  /** next timed action: a retry or the end of a rate-limit wait */
  nextAttemptAt: number | null;
  attemptsLastMinute: number;
  sent: number;
  failed: number;
  digests: number;
  /** times a message had to wait for the rate limit */
  deferred: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
}

/** One rendered message waiting for its destination; `key` is its dedupe key. */
export interface QueuedMessage {
  key: string;
  rendered: Rendered;
}

export interface DeliveryOptions {
  clock: Clock;
  log: Log;
  retry: NotificationsConfig['retry'];
  /** attempts per minute of a channel that sets none */
  rateLimitPerMinute: number;
  /** delivery attempts kept for recent() */
  historySize: number;
}

interface Batch {
  id: string;
  items: QueuedMessage[];
  msg: Rendered;
  attempt: number;
}

const WINDOW_MS = 60_000;

/** The queue of one destination. */
export class DestinationQueue {
  readonly limit: number;
  private queue: QueuedMessage[] = [];
  private batch: Batch | null = null;
  private sending = false;
  private timer: unknown = null;
  private timerAt: number | null = null;
  /** attempt times within the last minute */
  private window: number[] = [];
  private s: Pick<DestinationStatus, 'sent' | 'failed' | 'digests' | 'deferred' | 'lastSuccessAt' | 'lastFailureAt' | 'lastError'> = {
    sent: 0,
    failed: 0,
    digests: 0,
    deferred: 0,
    lastSuccessAt: null,
    lastFailureAt: null,
    lastError: null,
  };

  constructor(
    readonly key: string,
    readonly channel: NotifyChannelConfig,
    private readonly notifier: Notifier,
    readonly recipients: string[],
    readonly lang: Lang,
    private readonly owner: Deliveries,
  ) {
    this.limit = channel.rateLimitPerMinute ?? owner.opts.rateLimitPerMinute;
  }

  push(item: QueuedMessage): void {
    this.queue.push(item);
    this.owner.schedule(this);
  }

  status(): DestinationStatus {
    const now = this.owner.opts.clock.now();
    return {
      channel: this.channel.id,
      kind: this.channel.kind,
      recipients: this.recipients,
      lang: this.lang,
      queued: this.queue.length + (this.batch?.items.length ?? 0),
      inFlight: this.sending,
      nextAttemptAt: this.timerAt,
      attemptsLastMinute: this.window.filter((t) => t > now - WINDOW_MS).length,
      ...this.s,
    };
  }

  stopTimer(): void {
    if (this.timer !== null) this.owner.opts.clock.clearTimeout(this.timer);
  }

  run(): void {
    if (this.owner.closed || this.sending || this.timer !== null) return;
    if (!this.batch && !this.queue.length) return;
    const now = this.owner.opts.clock.now();
    while (this.window.length && this.window[0]! <= now - WINDOW_MS) this.window.shift();
    const slots = this.limit - this.window.length;
    if (slots <= 0) {
      this.s.deferred++;
      this.arm(this.window[0]! + WINDOW_MS - now);
      return;
    }
    if (!this.batch) {
      const items = slots === 1 && this.queue.length > 1 ? this.queue.splice(0) : this.queue.splice(0, 1);
      const msg = items.length > 1 ? renderDigest(items.map((i) => i.rendered), this.lang) : items[0]!.rendered;
      if (msg.digest) this.s.digests++;
      this.batch = { id: `${now.toString(36)}-${this.owner.nextSeq().toString(36)}-${this.channel.id}`, items, msg, attempt: 0 };
    }
    this.attempt(this.batch);
  }

  private arm(ms: number): void {
    const { clock } = this.owner.opts;
    this.timerAt = clock.now() + ms;
    this.timer = clock.setTimeout(() => {
      this.timer = null;
      this.timerAt = null;
      this.run();
    }, ms);
  }

  private attempt(b: Batch): void {
    const { clock } = this.owner.opts;
    b.attempt++;
    this.sending = true;
    const at = clock.now();
    this.window.push(at);
    const t0 = performance.now();
    const record = (ok: boolean, error: string | null, gaveUp: boolean) =>
      this.owner.record({
        at,
        channel: this.channel.id,
        recipients: this.recipients,
        deliveryId: b.id,
        attempt: b.attempt,
        ok,
        error,
        gaveUp,
        durationMs: Math.round(performance.now() - t0),
        digest: b.msg.digest,
        messages: b.msg.events.map((e) => ({ incident: e.incident.id, message: e.message })),
      });
    let p: Promise<void>;
    try {
      p = this.notifier.send(b.msg, {
        recipients: this.recipients,
        deliveryId: b.id,
        attempt: b.attempt,
        signal: AbortSignal.timeout(this.channel.timeoutMs),
        now: at,
      });
    } catch (e) {
      p = Promise.reject(e);
    }
    const done = p.then(
      () => {
        record(true, null, false);
        this.delivered(b);
      },
      (e: unknown) => this.failed(b, e, record),
    );
    this.owner.track(done, () => {
      this.sending = false;
      this.run();
    });
  }

  private delivered(b: Batch): void {
    this.s.sent += b.items.length;
    this.s.lastSuccessAt = this.owner.opts.clock.now();
    this.owner.opts.log.info(
      { channel: this.channel.id, recipients: this.recipients, deliveryId: b.id, attempt: b.attempt, messages: b.msg.events.length },
      'notification sent',
    );
    this.batch = null;
  }

  private failed(b: Batch, e: unknown, record: (ok: boolean, error: string | null, gaveUp: boolean) => void): void {
    const { clock, log, retry } = this.owner.opts;
    const msg = describe(e);
    const permanent = e instanceof NotifierError && e.permanent;
    const gaveUp = permanent || b.attempt >= retry.attempts;
    record(false, msg, gaveUp);
    this.s.lastFailureAt = clock.now();
    this.s.lastError = msg;
    if (gaveUp) {
      this.s.failed += b.items.length;
      log.error({ channel: this.channel.id, recipients: this.recipients, deliveryId: b.id, attempt: b.attempt, err: msg }, 'notification given up');
      this.batch = null;
      return;
    }
    const backoff = Math.min(retry.maxDelaySec, retry.baseDelaySec * 3 ** (b.attempt - 1)) * 1000;
    const wait = Math.max(backoff, e instanceof NotifierError ? (e.retryAfterMs ?? 0) : 0);
    log.warn({ channel: this.channel.id, deliveryId: b.id, attempt: b.attempt, retryInMs: wait, err: msg }, 'notification failed, will retry');
    if (!this.owner.closed) this.arm(wait);
  }
}

/** Every destination queue, the sends in flight and the history of attempts. */
export class Deliveries {
  closed = false;
  private readonly queues = new Map<string, DestinationQueue>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly history: DeliveryAttempt[] = [];
  private pending = new Set<DestinationQueue>();
  private pumpQueued = false;
  private seq = 0;

  constructor(readonly opts: DeliveryOptions) {}

  /** The queue of this destination, made on first use. */
  destination(channel: NotifyChannelConfig, notifier: Notifier, recipients: string[], lang: Lang): DestinationQueue {
    const key = `${channel.id}|${lang}|${recipients.join(',')}`;
    let q = this.queues.get(key);
    if (!q) {
      q = new DestinationQueue(key, channel, notifier, recipients, lang, this);
      this.queues.set(key, q);
    }
    return q;
  }

  get(key: string): DestinationQueue | undefined {
    return this.queues.get(key);
  }

  all(): DestinationQueue[] {
    return [...this.queues.values()];
  }

  /** newest first */
  recent(): DeliveryAttempt[] {
    return this.history.slice();
  }

  // Runs after the caller's synchronous code: a burst of events in one tick is queued before anything
  // is sent, so the digest rule sees the whole burst.
  schedule(q: DestinationQueue): void {
    this.pending.add(q);
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      const qs = this.pending;
      this.pending = new Set();
      for (const x of qs) x.run();
    });
  }

  nextSeq(): number {
    return ++this.seq;
  }

  record(a: DeliveryAttempt): void {
    this.history.unshift(a);
    if (this.history.length > this.opts.historySize) this.history.length = this.opts.historySize;
  }

  /** Count a send as in flight until it ends, then run `after` (its queue goes on). */
  track(p: Promise<void>, after: () => void): void {
    const tracked = p.finally(() => {
      this.inflight.delete(tracked);
      after();
    });
    this.inflight.add(tracked);
  }

  /** resolves once nothing is being sent and nothing can be sent without the clock moving */
  async settled(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      await new Promise<void>((r) => setImmediate(r));
      if (!this.inflight.size && !this.pumpQueued) return;
      await Promise.allSettled([...this.inflight]);
    }
  }

  /** Stop timers at once; the returned promise waits for the sends in flight. */
  close(): Promise<unknown> {
    this.closed = true;
    for (const q of this.queues.values()) q.stopTimer();
    return Promise.allSettled([...this.inflight]);
  }
}
