// Coalesces writes from many agent connections into few store.write calls. Each caller's promise settles with
// the flush that carried its points, so an ack is only sent after the points are durably written.
// The points waiting (queued or being written) are bounded: while the store is slow or down, agents keep their
// results in their spools rather than the server in its memory. Beyond the bound a write is refused at once.
import type { Point, Store } from '../stores/types.ts';

/** Default bound on points waiting in the writer (config server.limits.writerQueueResults). */
export const WRITER_QUEUE_RESULTS = 200_000;

/** The writer holds its bound of points already: nothing was queued; the caller's agent resends later. */
export class WriterBusyError extends Error {
  constructor(readonly waiting: number) {
    super(`server busy: ${waiting} results already waiting for the store; resend later`);
    this.name = 'WriterBusyError';
  }
}

interface Pending {
  points: Point[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class BatchWriter {
  private queue: Pending[] = [];
  private rows = 0;
  /** points of the flush under way */
  private writing = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  stats = { flushes: 0, points: 0, failures: 0, lastError: null as string | null, refusedWrites: 0, refusedPoints: 0 };
  private readonly maxWaiting: number;

  constructor(
    private store: Store,
    private opts: { maxRows: number; maxDelayMs: number; maxWaiting?: number } = { maxRows: 5000, maxDelayMs: 100 },
  ) {
    this.maxWaiting = opts.maxWaiting ?? WRITER_QUEUE_RESULTS;
  }

  /** points queued or being written */
  get waiting(): number {
    return this.rows + this.writing;
  }

  write(points: Point[]): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    // an empty writer takes any batch, so one larger than the bound is slow, not refused for ever
    if (this.waiting > 0 && this.waiting + points.length > this.maxWaiting) {
      this.stats.refusedWrites++;
      this.stats.refusedPoints += points.length;
      return Promise.reject(new WriterBusyError(this.waiting));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ points, resolve, reject });
      this.rows += points.length;
      if (this.rows >= this.opts.maxRows) this.flushSoon(0);
      else this.flushSoon(this.opts.maxDelayMs);
    });
  }

  private flushSoon(delay: number) {
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      // Serialise flushes: a slow store sees one write at a time, in arrival order.
      this.flushing = this.flushing.then(() => this.flush());
    }, delay);
  }

  private async flush() {
    const batch = this.queue;
    this.queue = [];
    this.rows = 0;
    if (batch.length === 0) return;
    const points = batch.flatMap((p) => p.points);
    this.writing = points.length;
    try {
      await this.store.write(points);
      this.stats.flushes++;
      this.stats.points += points.length;
      for (const p of batch) p.resolve();
    } catch (e) {
      this.stats.failures++;
      this.stats.lastError = e instanceof Error ? e.message : String(e);
      for (const p of batch) p.reject(e);
    } finally {
      this.writing = 0;
    }
  }

  async close() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }
    await this.flushing;
  }
}
