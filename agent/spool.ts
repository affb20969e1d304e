// Durable store-and-forward spool: the disk implementation of `Outbox` (agent/outbox.ts).
//
// Layout of the spool directory:
//   <base rid, 16 digits>.seg   append-only segment files of records; a record is one result:
//                               [u32 LE payload length][u32 LE CRC32 of the next 8+len bytes][f64 LE ts][payload JSON]
//   cursor.json                 {"v":1,"head":<first rid not yet acked>,"dropped":<total dropped>}, replaced atomically
//   lock                        pid of the agent using the directory
// A record id (rid) is a position in the log: segment base + index. Everything below `head` is delivered or dropped;
// a segment file is deleted once all of it is below head. A write counts as taken only after fdatasync, so a crash
// can tear at most the unsynced tail, which the next open detects by length/CRC, truncates and counts.
// Two lanes: results taken while the link is up go out first (the live map stays current); the backlog from before
// the connection follows, oldest first, at the rate the link allows.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { ProbeResult } from '../config/wire.ts';
import type { Outbox, OutboxBatch } from './outbox.ts';
import { silentLog, type Log } from './scheduler.ts';

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

const HEADER = 16;
const MAX_RECORD = 1 << 20; // one result is a few hundred bytes; anything near this is garbage
const SEG = /^(\d{16})\.seg$/;

// ---- sorted sets of record ids as disjoint half-open runs --------------------------------------

export type Run = [from: number, to: number];

export class RangeSet {
  private runs: Run[] = [];
  size = 0;

  get length(): number {
    return this.runs.length;
  }
  first(): number | undefined {
    return this.runs[0]?.[0];
  }
  /** the lowest id >= x, if any */
  firstAtOrAbove(x: number): number | undefined {
    for (const [a, b] of this.runs) if (b > x) return Math.max(a, x);
    return undefined;
  }
  add(from: number, to: number): void {
    if (to <= from) return;
    // find insertion point; merge with overlapping or adjacent runs
    let i = 0;
    while (i < this.runs.length && this.runs[i]![1] < from) i++;
    let a = from;
    let b = to;
    let j = i;
    let removed = 0;
    while (j < this.runs.length && this.runs[j]![0] <= b) {
      const r = this.runs[j]!;
      a = Math.min(a, r[0]);
      b = Math.max(b, r[1]);
      removed += r[1] - r[0];
      j++;
    }
    this.runs.splice(i, j - i, [a, b]);
    this.size += b - a - removed;
  }
  /** remove and return up to `max` ids in [lo, hi), lowest first, as runs */
  take(lo: number, hi: number, max: number): Run[] {
    const out: Run[] = [];
    let left = max;
    for (let i = 0; i < this.runs.length && left > 0; ) {
      const r = this.runs[i]!;
      const a = Math.max(r[0], lo);
      const b = Math.min(r[1], hi, a + left);
      if (r[0] >= hi) break;
      if (b <= a) {
        i++;
        continue;
      }
      out.push([a, b]);
      left -= b - a;
      this.size -= b - a;
      // split r into the parts outside [a, b)
      const parts: Run[] = [];
      if (r[0] < a) parts.push([r[0], a]);
      if (b < r[1]) parts.push([b, r[1]]);
      this.runs.splice(i, 1, ...parts);
      // after a take, either nothing is left to take or the rest of this run is >= hi
      i += parts.length;
    }
    return out;
  }
  /** remove every id < x; returns how many were removed */
  removeBelow(x: number): number {
    let n = 0;
    while (this.runs.length > 0 && this.runs[0]![0] < x) {
      const r = this.runs[0]!;
      if (r[1] <= x) {
        n += r[1] - r[0];
        this.runs.shift();
      } else {
        n += x - r[0];
        r[0] = x;
      }
    }
    this.size -= n;
    return n;
  }
}

// ---- segments ---------------------------------------------------------------------------------

interface Segment {
  base: number;
  path: string;
  /** bytes of valid records */
  size: number;
  count: number;
  /** byte offset of record i */
  offs: Uint32Array;
  /** ts of record i */
  tss: Float64Array;
  maxTs: number;
}

const end = (s: Segment) => s.base + s.count;

function pushRecord(s: Segment, off: number, ts: number): void {
  if (s.count === s.offs.length) {
    const n = Math.max(64, s.offs.length * 2);
    const o = new Uint32Array(n);
    o.set(s.offs);
    const t = new Float64Array(n);
    t.set(s.tss);
    s.offs = o;
    s.tss = t;
  }
  s.offs[s.count] = off;
  s.tss[s.count] = ts;
  s.count++;
  if (ts > s.maxTs) s.maxTs = ts;
}

function emptySegment(dir: string, base: number): Segment {
  return { base, path: join(dir, `${String(base).padStart(16, '0')}.seg`), size: 0, count: 0, offs: new Uint32Array(0), tss: new Float64Array(0), maxTs: -Infinity };
}

export function encodeRecord(r: ProbeResult): Buffer {
  const payload = Buffer.from(JSON.stringify(r), 'utf8');
  const buf = Buffer.allocUnsafe(HEADER + payload.length);
  buf.writeUInt32LE(payload.length, 0);
  buf.writeDoubleLE(r.ts, 8);
  payload.copy(buf, HEADER);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

/** Check the record at `off`; returns its total length, or 0 when it is torn or corrupt. */
function validAt(buf: Buffer, off: number): number {
  if (off + HEADER > buf.length) return 0;
  const len = buf.readUInt32LE(off);
  if (len === 0 || len > MAX_RECORD || off + HEADER + len > buf.length) return 0;
  if (crc32(buf.subarray(off + 8, off + HEADER + len)) !== buf.readUInt32LE(off + 4)) return 0;
  return HEADER + len;
}

// ---- lock -----------------------------------------------------------------------------------

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // After a reboot the pid may belong to something else: on Linux, only another node process counts.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return process.platform !== 'linux';
  }
}

function acquireLock(dir: string): string {
  const path = join(dir, 'lock');
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (pidAlive(pid)) throw new Error(`spool ${dir} is in use by process ${pid} (two agents cannot share a spool; if that process is not an agent, delete ${path})`);
      unlinkSync(path); // stale: the previous agent was killed or the machine rebooted
    }
  }
  throw new Error(`cannot lock spool ${dir}`);
}

// ---- the spool ------------------------------------------------------------------------------

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
  private readonly sent = new Map<number, { runs: Run[]; count: number }>();
  private inFlightCount = 0;
  private seq = 0;
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
      s.releaseLock();
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
    const s = this.segOf(this.head);
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
      const seq = this.seq++;
      this.sent.set(seq, { runs, count: results.length });
      this.inFlightCount += results.length;
      return { seq, results };
    }
    return null;
  }

  ack(seq: number): number {
    const b = this.sent.get(seq);
    if (!b) return 0;
    this.sent.delete(seq);
    this.inFlightCount -= b.count;
    for (const [a, z] of b.runs) for (let r = a; r < z; r++) if (r >= this.head) this.acked.add(r);
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
    const b = this.sent.get(seq);
    if (!b) return;
    this.sent.delete(seq);
    this.inFlightCount -= b.count;
    this.giveBack(b.runs);
  }

  requeueUnacked(): void {
    for (const b of this.sent.values()) this.giveBack(b.runs);
    this.sent.clear();
    this.inFlightCount = 0;
  }

  /** Write what is queued, persist the cursor, release the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ageTimer);
    clearTimeout(this.cursorTimer);
    await this.enqueueOp(async () => {
      await this.writeCursor();
      await this.deleteDelivered();
      await this.active?.close();
      this.active = null;
    });
    this.releaseLock();
  }

  /** Apply the age bound now (also runs on a timer). Resolves when the cursor is persisted. */
  enforceAgeNow(): Promise<void> {
    return this.enqueueOp(() => this.enforceAge());
  }

  // ---- internals -----------------------------------------------------------------------------

  private releaseLock(): void {
    try {
      if (readFileSync(this.lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(this.lockPath);
    } catch {
      /* already gone */
    }
  }

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

  private segOf(rid: number): Segment | undefined {
    let lo = 0;
    let hi = this.segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segs[mid]!;
      if (rid < s.base) hi = mid - 1;
      else if (rid >= end(s)) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  /** Read records [a, b) into `out`. Unreadable ones (bit rot since open) are counted dropped and skipped. */
  private readRun(a: number, b: number, out: ProbeResult[]): void {
    let r = a;
    while (r < b) {
      const s = this.segOf(r);
      if (!s) {
        this.lose(r, r + 1, 'record missing from the spool');
        r++;
        continue;
      }
      const stop = Math.min(b, end(s));
      const from = s.offs[r - s.base]!;
      const to = stop < end(s) ? s.offs[stop - s.base]! : s.size;
      const buf = Buffer.allocUnsafe(to - from);
      const fd = openSync(s.path, 'r');
      try {
        let got = 0;
        while (got < buf.length) {
          const n = readSync(fd, buf, got, buf.length - got, from + got);
          if (n === 0) break;
          got += n;
        }
      } finally {
        closeSync(fd);
      }
      for (let i = r; i < stop; i++) {
        const off = s.offs[i - s.base]! - from;
        const len = validAt(buf, off);
        let result: ProbeResult | undefined;
        if (len > 0) {
          try {
            result = JSON.parse(buf.toString('utf8', off + HEADER, off + len)) as ProbeResult;
          } catch {
            /* counted below */
          }
        }
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
        await this.writeCursor();
        await this.deleteDelivered();
      }).catch((e) => this.log.error({ err: String(e) }, 'spool cursor write failed'));
    }, this.cursorDelayMs);
    this.cursorTimer.unref();
  }

  /** Persist head and dropped: write a temp file, fsync it, rename over the cursor, fsync the directory. */
  private async writeCursor(): Promise<void> {
    if (this.head === this.persistedHead && this.droppedTotal === this.persistedDropped) return;
    const head = this.head;
    const dropped = this.droppedTotal;
    const tmp = join(this.dir, 'cursor.json.tmp');
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify({ v: 1, head, dropped }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, 'cursor.json'));
    await this.syncDir();
    this.persistedHead = head;
    this.persistedDropped = dropped;
  }

  private async syncDir(): Promise<void> {
    if (process.platform === 'win32') return; // directories cannot be opened for fsync there; NTFS journals renames
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
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
    for (const b of this.sent.values()) minInFlight = Math.min(minInFlight, b.runs[0]?.[0] ?? Infinity);
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
    await this.writeCursor();
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
    await this.writeCursor();
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
      await this.writeCursor().catch(() => {});
      for (const w of batch) w.reject(e);
      return;
    }
    let off = at;
    for (let i = 0; i < bufs.length; i++) {
      pushRecord(seg, off, tss[i]!);
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
    await this.syncDir(); // the new file's name must survive a power cut too
    this.activeSeg = seg;
    this.segs.push(seg);
    return seg;
  }

  /** Scan the directory after a start or a crash; torn tails are truncated and counted. */
  private recover(): void {
    let cursor: { head?: unknown; dropped?: unknown } = {};
    const cpath = join(this.dir, 'cursor.json');
    if (existsSync(cpath)) {
      try {
        cursor = JSON.parse(readFileSync(cpath, 'utf8')) as typeof cursor;
      } catch (e) {
        this.log.error({ err: String(e) }, 'spool cursor unreadable: resending everything in the spool (the server stores each result once)');
      }
    }
    this.head = typeof cursor.head === 'number' && Number.isSafeInteger(cursor.head) && cursor.head >= 0 ? cursor.head : 0;
    this.droppedTotal = typeof cursor.dropped === 'number' && Number.isSafeInteger(cursor.dropped) && cursor.dropped >= 0 ? cursor.dropped : 0;
    this.persistedHead = this.head;
    this.persistedDropped = this.droppedTotal;
    for (const f of readdirSync(this.dir)) if (f.endsWith('.tmp')) unlinkSync(join(this.dir, f));

    const files = readdirSync(this.dir)
      .map((f) => SEG.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (let i = 0; i < files.length; i++) {
      const base = files[i]!;
      const nextBase = files[i + 1];
      const seg = emptySegment(this.dir, base);
      const buf = readFileSync(seg.path);
      let off = 0;
      for (let len; (len = validAt(buf, off)) > 0; off += len) pushRecord(seg, off, buf.readDoubleLE(off + 8));
      seg.size = off;
      if (off < buf.length) {
        // A torn tail (crash mid-write) or a corrupt record. For a closed segment the next one's base says how
        // many records it held; for the last, the torn part is at least one result.
        const lostFrom = Math.max(end(seg), this.head);
        const lost = nextBase !== undefined ? Math.max(0, nextBase - lostFrom) : 1;
        this.droppedTotal += lost;
        this.stats.corrupt += lost;
        this.log.error({ file: seg.path, validRecords: seg.count, discardedBytes: buf.length - off, lost }, 'spool: torn or corrupt record; the rest of the segment is discarded and counted as dropped');
        const fd = openSync(seg.path, 'r+');
        try {
          ftruncateSync(fd, off);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      if (nextBase !== undefined && end(seg) > nextBase) throw new Error(`spool segment ${seg.path} overlaps the next one; move the spool directory away to start fresh`);
      if (seg.count === 0 || end(seg) <= this.head) {
        unlinkSync(seg.path);
        continue;
      }
      this.segs.push(seg);
    }
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
    if (this.head !== this.persistedHead || this.droppedTotal !== this.persistedDropped) this.writeCursorSync();
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

  private writeCursorSync(): void {
    const tmp = join(this.dir, 'cursor.json.tmp');
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, JSON.stringify({ v: 1, head: this.head, dropped: this.droppedTotal }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, 'cursor.json'));
    if (process.platform !== 'win32') {
      const d = openSync(this.dir, 'r');
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
    }
    this.persistedHead = this.head;
    this.persistedDropped = this.droppedTotal;
  }
}

/** Size of the spool directory's files, for logs and tests. */
export function spoolDirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) if (SEG.test(f)) n += statSync(join(dir, f)).size;
  return n;
}
