// Batches handed to the link and not yet answered, by seq. Both outboxes keep them the same way; what a
// batch holds differs (the results themselves in memory, the record id runs on disk).

export class InFlight<T> {
  private readonly batches = new Map<number, { held: T; count: number }>();
  private seq = 0;
  /** results in the batches */
  count = 0;

  /** batches awaiting an answer */
  get size(): number {
    return this.batches.size;
  }

  /** Record a batch of `count` results; returns its seq. */
  add(held: T, count: number): number {
    const seq = this.seq++;
    this.batches.set(seq, { held, count });
    this.count += count;
    return seq;
  }

  /** Forget batch `seq` and return it; undefined for an unknown seq. */
  settle(seq: number): { held: T; count: number } | undefined {
    const b = this.batches.get(seq);
    if (!b) return undefined;
    this.batches.delete(seq);
    this.count -= b.count;
    return b;
  }

  /** every batch, in seq order (Map iteration is insertion order) */
  held(): T[] {
    return [...this.batches.values()].map((b) => b.held);
  }

  /** Forget every batch; returns them in seq order. */
  drain(): T[] {
    const all = this.held();
    this.batches.clear();
    this.count = 0;
    return all;
  }
}
