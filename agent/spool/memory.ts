// The outbox kept in memory only: bounded, the oldest queued results dropped (and counted) beyond it.
import type { ProbeResult } from '../../config/wire.ts';
import { InFlight } from './in-flight.ts';
import type { Outbox, OutboxBatch } from './outbox.ts';

export class MemoryOutbox implements Outbox {
  private queue: ProbeResult[] = [];
  private readonly sent = new InFlight<ProbeResult[]>();
  private droppedCount = 0;

  /** @param capacity results held at most (queued + in flight); about 1 h of a typical agent by default */
  constructor(readonly capacity = 50_000) {
    if (!(capacity > 0)) throw new Error('outbox capacity must be positive');
  }

  get pending(): number {
    return this.queue.length + this.sent.count;
  }
  get queued(): number {
    return this.queue.length;
  }
  get inFlight(): number {
    return this.sent.size;
  }
  get dropped(): number {
    return this.droppedCount;
  }

  push(results: readonly ProbeResult[]): void {
    this.queue.push(...results);
    const over = this.pending - this.capacity;
    if (over > 0) {
      // In-flight batches are already on the wire, so the oldest droppable results are the queue's head.
      const n = Math.min(over, this.queue.length);
      this.queue.splice(0, n);
      this.droppedCount += n;
    }
  }

  nextBatch(max: number): OutboxBatch | null {
    if (this.queue.length === 0 || max < 1) return null;
    const results = this.queue.splice(0, max);
    return { seq: this.sent.add(results, results.length), results };
  }

  ack(seq: number): number {
    return this.sent.settle(seq)?.count ?? 0;
  }

  reject(seq: number): number {
    const n = this.ack(seq);
    this.droppedCount += n;
    return n;
  }

  nack(seq: number): void {
    const b = this.sent.settle(seq);
    if (b) this.queue.unshift(...b.held);
  }

  requeueUnacked(): void {
    // Results go back in the order they were taken.
    this.queue = this.sent.drain().flat().concat(this.queue);
  }
}
