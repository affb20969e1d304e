// Results waiting for the server's ack. Two implementations: MemoryOutbox (memory.ts: the simulator's virtual
// agents, and `--spool-dir none`), and the durable disk Spool (spool.ts) that a real agent uses.
import type { ProbeResult } from '../../config/wire.ts';

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
