// Coalesces writes from many agent connections into few store.write calls. Each caller's promise settles with
// the flush that carried its points, so an ack is only sent after the points are durably written.
import type { Point, Store } from '../stores/types.ts';

interface Pending {
  points: Point[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class BatchWriter {
  private queue: Pending[] = [];
  private rows = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  stats = { flushes: 0, points: 0, failures: 0, lastError: null as string | null };

  constructor(
    private store: Store,
    private opts: { maxRows: number; maxDelayMs: number } = { maxRows: 5000, maxDelayMs: 100 },
  ) {}

  write(points: Point[]): Promise<void> {
    if (points.length === 0) return Promise.resolve();
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
    try {
      await this.store.write(points);
      this.stats.flushes++;
      this.stats.points += points.length;
      for (const p of batch) p.resolve();
    } catch (e) {
      this.stats.failures++;
      this.stats.lastError = e instanceof Error ? e.message : String(e);
      for (const p of batch) p.reject(e);
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
