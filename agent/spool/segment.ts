// Segment files: `<base rid, 16 digits>.seg`, append-only, holding records base, base+1, ... in order.
// The in-memory index keeps each record's byte offset and ts, so reads and the age bound need no scan.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';

export interface Segment {
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

const SEG = /^(\d{16})\.seg$/;

/** the rid after the segment's last record */
export const segmentEnd = (s: Segment) => s.base + s.count;

export function emptySegment(dir: string, base: number): Segment {
  return { base, path: join(dir, `${String(base).padStart(16, '0')}.seg`), size: 0, count: 0, offs: new Uint32Array(0), tss: new Float64Array(0), maxTs: -Infinity };
}

/** Index one more record of the segment. */
export function indexRecord(s: Segment, off: number, ts: number): void {
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

/** The segment holding `rid` in a list sorted by base, if any. */
export function segmentOf(segs: readonly Segment[], rid: number): Segment | undefined {
  let lo = 0;
  let hi = segs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = segs[mid]!;
    if (rid < s.base) hi = mid - 1;
    else if (rid >= segmentEnd(s)) lo = mid + 1;
    else return s;
  }
  return undefined;
}

/** The bytes of records [from, stop) of the segment, read from its file. */
export function readRecords(s: Segment, from: number, stop: number): { buf: Buffer; start: number } {
  const start = s.offs[from - s.base]!;
  const to = stop < segmentEnd(s) ? s.offs[stop - s.base]! : s.size;
  const buf = Buffer.allocUnsafe(to - start);
  const fd = openSync(s.path, 'r');
  try {
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return { buf, start };
}

/** Bases of the segment files in `dir`, ascending. */
export function segmentBases(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => SEG.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

