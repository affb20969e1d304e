// Coalesces writes from many agent connections into few store.write calls. Each caller's promise settles with
// the flush that carried its points, so an ack is only sent after the points are durably written.
// Up to store.writeConcurrency flushes are in flight at once (InfluxDB overwrites an identical point, so concurrent
// writes are safe there; DuckDB's delete-then-insert per batch hour is not, it takes one at a time): the server does
// not sit idle while the store answers one request.
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
  /** points of the flushes under way */
  private writing = 0;
  private timer: NodeJS.Timeout | null = null;
  /** a flush is due (timer fired or a full batch queued): the queue goes out as soon as a slot is free */
  private due = false;
  /** flushes under way (they never reject) */
  private readonly flights = new Set<Promise<void>>();
  stats = { flushes: 0, points: 0, failures: 0, lastError: null as string | null, refusedWrites: 0, refusedPoints: 0 };
  private readonly maxWaiting: number;
  private readonly concurrency: number;

  constructor(
    private store: Store,
    private opts: { maxRows: number; maxDelayMs: number; maxWaiting?: number } = { maxRows: 5000, maxDelayMs: 100 },
  ) {
    this.maxWaiting = opts.maxWaiting ?? WRITER_QUEUE_RESULTS;
    this.concurrency = Math.max(1, Math.floor(store.writeConcurrency ?? 1));
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
      this.due = true;
      this.pump();
    }, delay);
  }

  /** Starts flushes of the queue, in arrival order, while slots are free. */
  private pump() {
    while (this.due && this.queue.length > 0 && this.flights.size < this.concurrency) {
      // One write at a time: a flush takes the whole queue. Several: about maxRows points each, so a backlog goes
      // out over every slot instead of in one long flush.
      const want = this.concurrency === 1 ? Infinity : this.opts.maxRows;
      let n = 0;
      let taken = 0;
      while (n < this.queue.length && taken < want) taken += this.queue[n++]!.points.length;
      const batch = this.queue.splice(0, n);
      this.rows -= taken;
      const flight = this.flush(batch, taken).finally(() => {
        this.flights.delete(flight);
        this.pump();
      });
      this.flights.add(flight);
    }
    if (this.queue.length === 0) this.due = false;
  }

  private async flush(batch: Pending[], count: number) {
    const points = batch.length === 1 ? batch[0]!.points : batch.flatMap((p) => p.points);
    this.writing += count;
    try {
      await this.store.write(points);
      this.stats.flushes++;
      this.stats.points += count;
      for (const p of batch) p.resolve();
    } catch (e) {
      this.stats.failures++;
      this.stats.lastError = e instanceof Error ? e.message : String(e);
      for (const p of batch) p.reject(e);
    } finally {
      this.writing -= count;
    }
  }

  /** Flushes what is queued and waits for every flush under way. */
  async close() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0 || this.flights.size > 0) {
      this.due = true;
      this.pump();
      await Promise.all(this.flights);
    }
  }
}
