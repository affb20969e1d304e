// Durable store-and-forward spool: the disk implementation of `Outbox`.
//
// Layout of the spool directory:
//   <base rid, 16 digits>.seg   append-only segment files of CRC-framed records (record.ts), one per result
//   cursor.json                 head (first rid not yet acked) and total dropped (cursor.ts)
//   lock                        pid of the agent using the directory (lock.ts)
// A record id (rid) is a position in the log: segment base + index. Everything below `head` is delivered or dropped;
// a segment file is deleted once all of it is below head. A write counts as taken only after fdatasync, so a crash
// can tear at most the unsynced tail, which the next open detects, truncates and counts (recovery.ts).
// Two lanes: results taken while the link is up go out first (the live map stays current); the backlog from before
// the connection follows, oldest first, at the rate the link allows.
import { mkdirSync, unlinkSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { ProbeResult } from '../../config/wire.ts';
import { silentLog, type Log } from '../scheduler.ts';
import { readCursor, syncDir, writeCursor, writeCursorSync } from './cursor.ts';
import { InFlight } from './in-flight.ts';
import { acquireLock, releaseLock } from './lock.ts';
import type { Outbox, OutboxBatch } from './outbox.ts';
import { RangeSet, type Run } from './ranges.ts';
import { decodeRecord, encodeRecord } from './record.ts';
import { scanSegments } from './recovery.ts';
import { emptySegment, indexRecord, readRecords, segmentEnd as end, segmentOf, type Segment } from './segment.ts';

export interface SpoolOptions {
  dir: string;
  /** bound on the segment files' total size; the oldest results are dropped beyond it. Default 200 MB. */
  maxBytes?: number;
  /** results older than this (by their ts) are dropped. Default 7 days. */
  maxAgeMs?: number;
  /** a new segment file is started beyond this size; the size bound drops whole segments. Default min(4 MB, maxBytes / 8). */
  segmentBytes?: number;
  /** how often the age bound is applied while running. Default 60 s. */
  ageCheckMs?: number;
  /** acks are persisted (cursor file) at most this often. Default 500 ms. */
  cursorDelayMs?: number;
  now?: () => number;
  log?: Log;
}

export interface SpoolStats {
  /** results torn or corrupt on disk (crash mid-write, bad sectors): skipped, and included in `dropped` */
  corrupt: number;
  /** results dropped by the size bound since this open */
  droppedSize: number;
  /** results dropped by the age bound since this open */
  droppedAge: number;
}

interface Waiter {
  bufs: Buffer[];
  tss: number[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Spool implements Outbox {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly segmentBytes: number;
  private readonly now: () => number;
  private readonly log: Log;
  private readonly cursorDelayMs: number;
  private segs: Segment[] = [];
  private active: FileHandle | null = null;
  private activeSeg: Segment | null = null;
  /** first rid not yet acked or dropped (persisted) */
  private head = 0;
  /** next rid to append */
  private tail = 0;
  /** rids on disk, not in flight, not acked */
  private readonly unsent = new RangeSet();
  /** rids >= head acked out of order */
  private readonly acked = new Set<number>();
  private readonly sent = new InFlight<Run[]>();
  /** rids >= liveFrom were taken while the link was up: they go before the backlog */
  private liveFrom = Infinity;
  private droppedTotal = 0;
  private persistedHead = -1;
  private persistedDropped = -1;
  private queue: Waiter[] = [];
  private flushScheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private cursorTimer: NodeJS.Timeout | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lockPath: string;
  readonly stats: SpoolStats = { corrupt: 0, droppedSize: 0, droppedAge: 0 };

  private constructor(o: SpoolOptions) {
    this.dir = o.dir;
    this.maxBytes = o.maxBytes ?? 200 * 1024 * 1024;
    this.maxAgeMs = o.maxAgeMs ?? 7 * 86_400_000;
    // Several segments under the bound, so dropping one (the granularity of the size bound) frees a small part.
    this.segmentBytes = Math.max(64, o.segmentBytes ?? Math.min(4 * 1024 * 1024, Math.floor(this.maxBytes / 8)));
    this.now = o.now ?? Date.now;
    this.log = o.log ?? silentLog;
    this.cursorDelayMs = o.cursorDelayMs ?? 500;
    if (!(this.maxBytes > 0) || !(this.maxAgeMs > 0)) throw new Error('spool bounds must be positive');
    mkdirSync(this.dir, { recursive: true });
    this.lockPath = acquireLock(this.dir);
  }

  /** Open (or create) the spool in `dir`: recover from a crash, apply the bounds, start the age timer. */
  static open(o: SpoolOptions): Spool {
    const s = new Spool(o);
    try {
      s.recover();
    } catch (e) {
      releaseLock(s.lockPath);
      throw e;
    }
    const every = o.ageCheckMs ?? 60_000;
    s.ageTimer = setInterval(() => void s.enqueueOp(() => s.enforceAge()).catch((e) => s.log.error({ err: String(e) }, 'spool age check failed')), every);
    s.ageTimer.unref();
    return s;
  }

  // ---- Outbox --------------------------------------------------------------------------------

  get pending(): number {
    return this.tail - this.head - this.acked.size;
  }
  get queued(): number {
    return this.unsent.size;
  }
  get inFlight(): number {
    return this.sent.size;
  }
  get dropped(): number {
    return this.droppedTotal;
  }
  /** bytes of the records not yet acked (delivered records still in a segment file are not counted) */
  get bytes(): number {
    let n = 0;
    for (const s of this.segs) {
      if (end(s) <= this.head) continue;
      n += s.size - (this.head > s.base ? s.offs[this.head - s.base]! : 0);
    }
    return n;
  }
  /** ts of the oldest result not yet acked */
  get oldestPendingTs(): number | undefined {
    if (this.pending === 0) return undefined;
    const s = segmentOf(this.segs, this.head);
    return s ? s.tss[this.head - s.base] : undefined;
  }

  /** Append results; resolves once they are on disk (fdatasync). Rejects (and counts them dropped) on a disk error. */
  push(results: readonly ProbeResult[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('spool is closed'));
    if (results.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bufs: results.map(encodeRecord), tss: results.map((r) => r.ts), resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Everything pushed until the flush starts shares one write and one fdatasync (group commit).
        void this.enqueueOp(() => this.flush());
      }
    });
  }

  linkUp(): void {
    this.liveFrom = this.tail;
  }

  nextBatch(max: number): OutboxBatch | null {
    while (max >= 1 && this.unsent.size > 0) {
      const live = this.unsent.firstAtOrAbove(this.liveFrom);
      const runs = live !== undefined ? this.unsent.take(this.liveFrom, Infinity, max) : this.unsent.take(-Infinity, this.liveFrom, max);
      const results: ProbeResult[] = [];
      for (const [a, b] of runs) this.readRun(a, b, results);
      if (results.length === 0) continue; // every record was unreadable (counted); try the next ones
      return { seq: this.sent.add(runs, results.length), results };
    }
    return null;
  }

  ack(seq: number): number {
    const b = this.sent.settle(seq);
    if (!b) return 0;
    for (const [a, z] of b.held) for (let r = a; r < z; r++) if (r >= this.head) this.acked.add(r);
    const before = this.head;
    while (this.acked.delete(this.head)) this.head++;
    if (this.head !== before) this.scheduleCursor();
    return b.count;
  }

  reject(seq: number): number {
    const n = this.ack(seq);
    if (n > 0) {
      this.droppedTotal += n;
      this.scheduleCursor();
    }
    return n;
  }

  nack(seq: number): void {
    const b = this.sent.settle(seq);
    if (b) this.giveBack(b.held);
  }

  requeueUnacked(): void {
    for (const runs of this.sent.drain()) this.giveBack(runs);
  }

  /** Write what is queued, persist the cursor, release the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ageTimer);
    clearTimeout(this.cursorTimer);
    await this.enqueueOp(async () => {
      await this.persistCursor();
      await this.deleteDelivered();
      await this.active?.close();
      this.active = null;
    });
    releaseLock(this.lockPath);
  }

  /** Apply the age bound now (also runs on a timer). Resolves when the cursor is persisted. */
  enforceAgeNow(): Promise<void> {
    return this.enqueueOp(() => this.enforceAge());
  }

  // ---- internals -----------------------------------------------------------------------------

  /** Serialise every async disk operation: one writer, in order. */
  private enqueueOp(op: () => Promise<void>): Promise<void> {
    const p = this.chain.then(op);
    this.chain = p.catch(() => {});
    return p;
  }

  private giveBack(runs: Run[]): void {
    for (const [a, b] of runs) {
      let start = -1;
      for (let r = Math.max(a, this.head); r <= b; r++) {
        const keep = r < b && !this.acked.has(r);
        if (keep && start < 0) start = r;
        if (!keep && start >= 0) {
          this.unsent.add(start, r);
          start = -1;
        }
      }
    }
  }

  /** Read records [a, b) into `out`. Unreadable ones (bit rot since open) are counted dropped and skipped. */
  private readRun(a: number, b: number, out: ProbeResult[]): void {
    let r = a;
    while (r < b) {
      const s = segmentOf(this.segs, r);
      if (!s) {
        this.lose(r, r + 1, 'record missing from the spool');
        r++;
        continue;
      }
      const stop = Math.min(b, end(s));
      const { buf, start } = readRecords(s, r, stop);
      for (let i = r; i < stop; i++) {
        const result = decodeRecord(buf, s.offs[i - s.base]! - start);
        if (result) out.push(result);
        else this.lose(i, i + 1, 'corrupt record in the spool');
      }
      r = stop;
    }
  }

  /** A record that cannot be read any more: counted as dropped, treated as delivered so it never blocks the head. */
  private lose(a: number, b: number, why: string): void {
    for (let r = a; r < b; r++) if (r >= this.head) this.acked.add(r);
    this.droppedTotal += b - a;
    this.stats.corrupt += b - a;
    this.log.error({ from: a, count: b - a }, `${why}: skipped and counted as dropped`);
    while (this.acked.delete(this.head)) this.head++;
    this.scheduleCursor();
  }

  private scheduleCursor(): void {
    if (this.cursorTimer || this.closed) return;
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = undefined;
      void this.enqueueOp(async () => {
        await this.persistCursor();
        await this.deleteDelivered();
      }).catch((e) => this.log.error({ err: String(e) }, 'spool cursor write failed'));
    }, this.cursorDelayMs);
    this.cursorTimer.unref();
  }

  /** Persist head and dropped if they changed. */
  private async persistCursor(): Promise<void> {
    if (this.head === this.persistedHead && this.droppedTotal === this.persistedDropped) return;
    const head = this.head;
    const dropped = this.droppedTotal;
    await writeCursor(this.dir, { head, dropped });
    this.persistedHead = head;
    this.persistedDropped = dropped;
  }

  /** Delete segment files wholly below the persisted head (never the one being appended to). */
  private async deleteDelivered(): Promise<void> {
    while (this.segs.length > 0) {
      const s = this.segs[0]!;
      if (s === this.activeSeg || end(s) > this.persistedHead) break;
      this.segs.shift();
      await unlink(s.path).catch(() => {});
    }
  }

  /** Drop rids [head, x), never touching one in flight; counts those not yet delivered. Returns the count. */
  private dropTo(x: number): number {
    let minInFlight = Infinity;
    for (const runs of this.sent.held()) minInFlight = Math.min(minInFlight, runs[0]?.[0] ?? Infinity);
    const to = Math.min(x, minInFlight, this.tail);
    if (to <= this.head) return 0;
    let n = 0;
    for (let r = this.head; r < to; r++) if (!this.acked.delete(r)) n++;
    this.unsent.removeBelow(to);
    this.head = to;
    this.droppedTotal += n;
    return n;
  }

  private async enforceAge(): Promise<void> {
    const cutoff = this.now() - this.maxAgeMs;
    let x = this.head;
    for (const s of this.segs) {
      if (end(s) <= x) continue;
      if (s.maxTs < cutoff) {
        x = end(s);
        continue;
      }
      // Results are appended in about ts order; drop from the head while they are too old.
      while (x < end(s) && s.tss[x - s.base]! < cutoff) x++;
      break;
    }
    const n = this.dropTo(x);
    if (n > 0) {
      this.stats.droppedAge += n;
      this.log.warn({ dropped: n, total: this.droppedTotal, maxAgeDays: this.maxAgeMs / 86_400_000 }, 'spool: results older than the age bound dropped');
    }
    await this.persistCursor();
    await this.deleteDelivered();
  }

  /** Make room for `bytes` more under maxBytes by dropping whole oldest segments (never the one being appended to). */
  private async makeRoom(bytes: number): Promise<void> {
    let total = this.segs.reduce((n, s) => n + s.size, 0);
    let n = 0;
    for (const s of this.segs) {
      if (total + bytes <= this.maxBytes || s === this.activeSeg) break;
      n += this.dropTo(end(s));
      if (this.head < end(s)) break; // a record of it is in flight: it goes once acked, the bound is exceeded meanwhile
      total -= s.size;
    }
    if (n > 0) {
      this.stats.droppedSize += n;
      this.log.warn({ dropped: n, total: this.droppedTotal, maxMB: this.maxBytes / 1048576 }, 'spool full: oldest results dropped');
    }
    // The cursor (with the new dropped count) is durable before any file disappears.
    await this.persistCursor();
    await this.deleteDelivered();
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const bufs = batch.flatMap((w) => w.bufs);
    const tss = batch.flatMap((w) => w.tss);
    const bytes = bufs.reduce((n, b) => n + b.length, 0);
    let seg: Segment | null = null;
    let at = 0;
    try {
      await this.enforceAge();
      await this.makeRoom(bytes);
      seg = await this.activeFor(bytes);
      at = seg.size;
      const all = Buffer.concat(bufs, bytes);
      for (let written = 0; written < bytes; ) {
        // a write may be partial; continue from where it stopped
        const { bytesWritten } = await this.active!.write(all, written, bytes - written, at + written);
        written += bytesWritten;
      }
      await this.active!.datasync();
    } catch (e) {
      // Roll the file back to its last good size so a half-written record never sits before later ones.
      if (seg && this.active) await this.active.truncate(at).catch(() => {});
      const n = bufs.length;
      this.droppedTotal += n;
      this.log.error({ err: String(e), results: n, total: this.droppedTotal }, 'spool write failed: results dropped');
      await this.persistCursor().catch(() => {});
      for (const w of batch) w.reject(e);
      return;
    }
    let off = at;
    for (let i = 0; i < bufs.length; i++) {
      indexRecord(seg, off, tss[i]!);
      off += bufs[i]!.length;
    }
    seg.size = off;
    const from = this.tail;
    this.tail += bufs.length;
    this.unsent.add(from, this.tail);
    for (const w of batch) w.resolve();
  }

  /** The segment to append `bytes` to: the current one, or a new one when it is full or holds too old a span. */
  private async activeFor(bytes: number): Promise<Segment> {
    const cur = this.activeSeg;
    if (cur && this.active && (cur.size === 0 || cur.size + bytes <= this.segmentBytes)) return cur;
    if (this.active) {
      await this.active.close();
      this.active = null;
    }
    const seg = emptySegment(this.dir, this.tail);
    this.active = await open(seg.path, 'w+');
    await syncDir(this.dir); // the new file's name must survive a power cut too
    this.activeSeg = seg;
    this.segs.push(seg);
    return seg;
  }

  /** Load the directory after a start or a crash, then apply the bounds and persist. */
  private recover(): void {
    const cursor = readCursor(this.dir, this.log);
    this.head = cursor.head;
    this.droppedTotal = cursor.dropped;
    this.persistedHead = this.head;
    this.persistedDropped = this.droppedTotal;
    const { segs, lost } = scanSegments(this.dir, this.head, this.log);
    this.segs = segs;
    this.droppedTotal += lost;
    this.stats.corrupt += lost;

    const last = this.segs.at(-1);
    this.tail = Math.max(this.head, last ? end(last) : 0);
    // Ids with no record (the lost rest of a corrupt segment) count as gone, so they never look pending.
    const firstSeg = this.segs[0];
    if (firstSeg && firstSeg.base > this.head) this.head = firstSeg.base; // delivered segments already deleted
    if (!firstSeg) this.head = this.tail;
    let prevEnd = this.head;
    for (const s of this.segs) {
      for (let r = prevEnd; r < s.base; r++) this.acked.add(r);
      this.unsent.add(Math.max(s.base, this.head), end(s));
      prevEnd = Math.max(prevEnd, end(s));
    }
    for (let r = prevEnd; r < this.tail; r++) this.acked.add(r);
    while (this.acked.delete(this.head)) this.head++;

    // Apply the bounds now (synchronously: nothing else runs yet), then persist.
    const cutoff = this.now() - this.maxAgeMs;
    let x = this.head;
    for (const s of this.segs) {
      if (s.maxTs < cutoff) x = Math.max(x, end(s));
      else {
        while (x < end(s) && x >= s.base && s.tss[x - s.base]! < cutoff) x++;
        break;
      }
    }
    const aged = this.dropTo(x);
    this.stats.droppedAge += aged;
    let total = this.segs.reduce((n, s) => n + (end(s) > this.head ? s.size : 0), 0);
    let sized = 0;
    for (const s of this.segs) {
      if (total <= this.maxBytes) break;
      if (end(s) <= this.head) continue;
      sized += this.dropTo(end(s));
      total -= s.size;
    }
    this.stats.droppedSize += sized;
    if (this.head !== this.persistedHead || this.droppedTotal !== this.persistedDropped) {
      writeCursorSync(this.dir, { head: this.head, dropped: this.droppedTotal });
      this.persistedHead = this.head;
      this.persistedDropped = this.droppedTotal;
    }
    const keep: Segment[] = [];
    for (const s of this.segs) {
      if (end(s) <= this.head) unlinkSync(s.path);
      else keep.push(s);
    }
    this.segs = keep;
    this.log.info(
      { dir: this.dir, pending: this.pending, bytes: this.bytes, segments: this.segs.length, dropped: this.droppedTotal, corrupt: this.stats.corrupt, droppedAge: aged, droppedSize: sized },
      'spool opened',
    );
  }
}
