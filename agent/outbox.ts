// Results waiting for the server's ack. Two implementations: MemoryOutbox here (the simulator's virtual agents,
// and `--spool-dir none`), and the durable disk spool (agent/spool.ts) that a real agent uses.
import type { ProbeResult } from '../config/wire.ts';

export interface OutboxBatch {
  seq: number;
  results: ProbeResult[];
}

export interface Outbox {
  /**
   * Queue new results; when full, the oldest queued ones are dropped and counted. A durable outbox returns a
   * promise that resolves once the results are on disk (only then are they taken) and rejects if they are not.
   */
  push(results: readonly ProbeResult[]): void | Promise<void>;
  /** take up to `max` queued results as a new in-flight batch with the next seq; null when nothing is queued */
  nextBatch(max: number): OutboxBatch | null;
  /** the server stored batch `seq`: forget it. Returns how many results it held (0 if unknown seq). */
  ack(seq: number): number;
  /** the server refused batch `seq` as malformed (resending cannot help): forget it and count it dropped */
  reject(seq: number): number;
  /** the server refused batch `seq` (e.g. store unavailable): put its results back to be resent */
  nack(seq: number): void;
  /** the connection was lost: every in-flight batch goes back to the front of the queue, in order */
  requeueUnacked(): void;
  /** results not yet acked (queued + in flight) */
  readonly pending: number;
  /** results queued and not in flight */
  readonly queued: number;
  /** in-flight batches awaiting an ack */
  readonly inFlight: number;
  /** results dropped because the outbox was full (a durable outbox: ever, across restarts) */
  readonly dropped: number;
  /** the link is up: results taken from now on go out before the older backlog */
  linkUp?(): void;
  /** bytes held on disk for unacked results (durable outboxes) */
  readonly bytes?: number;
  /** ts of the oldest unacked result */
  readonly oldestPendingTs?: number | undefined;
  /** flush and release resources */
  close?(): Promise<void>;
}

export class MemoryOutbox implements Outbox {
  private queue: ProbeResult[] = [];
  private readonly sent = new Map<number, ProbeResult[]>();
  private inFlightCount = 0;
  private seq = 0;
  private droppedCount = 0;

  /** @param capacity results held at most (queued + in flight); about 1 h of a typical agent by default */
  constructor(readonly capacity = 50_000) {
    if (!(capacity > 0)) throw new Error('outbox capacity must be positive');
  }

  get pending(): number {
    return this.queue.length + this.inFlightCount;
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
    const seq = this.seq++;
    this.sent.set(seq, results);
    this.inFlightCount += results.length;
    return { seq, results };
  }

  ack(seq: number): number {
    const b = this.sent.get(seq);
    if (!b) return 0;
    this.sent.delete(seq);
    this.inFlightCount -= b.length;
    return b.length;
  }

  reject(seq: number): number {
    const n = this.ack(seq);
    this.droppedCount += n;
    return n;
  }

  nack(seq: number): void {
    const b = this.sent.get(seq);
    if (!b) return;
    this.sent.delete(seq);
    this.inFlightCount -= b.length;
    this.queue.unshift(...b);
  }

  requeueUnacked(): void {
    // Map iteration is insertion order = seq order, so results go back in the order they were taken.
    const back = [...this.sent.values()].flat();
    this.sent.clear();
    this.inFlightCount = 0;
    this.queue = back.concat(this.queue);
  }
}
