// Reading a spool directory back after a start or a crash. A write counts as taken only after fdatasync,
// so a crash can tear at most the unsynced tail: it is found by length/CRC, truncated and counted.
import { closeSync, fsyncSync, ftruncateSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../scheduler.ts';
import { recordLengthAt, recordTs } from './record.ts';
import { emptySegment, indexRecord, segmentBases, segmentEnd, type Segment } from './segment.ts';

export interface ScannedSegments {
  /** segments still holding records at or above `head`, ascending */
  segs: Segment[];
  /** records lost to torn or corrupt tails */
  lost: number;
}

/**
 * Index every segment file of `dir`, truncating torn tails and deleting files wholly below `head`
 * (delivered before the restart). Leftover temp files of an interrupted cursor write are removed.
 */
export function scanSegments(dir: string, head: number, log: Log): ScannedSegments {
  for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) unlinkSync(join(dir, f));
  const files = segmentBases(dir);
  const segs: Segment[] = [];
  let lost = 0;
  for (let i = 0; i < files.length; i++) {
    const base = files[i]!;
    const nextBase = files[i + 1];
    const seg = emptySegment(dir, base);
    const buf = readFileSync(seg.path);
    let off = 0;
    for (let len; (len = recordLengthAt(buf, off)) > 0; off += len) indexRecord(seg, off, recordTs(buf, off));
    seg.size = off;
    if (off < buf.length) {
      // A torn tail (crash mid-write) or a corrupt record. For a closed segment the next one's base says how
      // many records it held; for the last, the torn part is at least one result.
      const lostFrom = Math.max(segmentEnd(seg), head);
      const n = nextBase !== undefined ? Math.max(0, nextBase - lostFrom) : 1;
      lost += n;
      log.error({ file: seg.path, validRecords: seg.count, discardedBytes: buf.length - off, lost: n }, 'spool: torn or corrupt record; the rest of the segment is discarded and counted as dropped');
      truncateFile(seg.path, off);
    }
    if (nextBase !== undefined && segmentEnd(seg) > nextBase) throw new Error(`spool segment ${seg.path} overlaps the next one; move the spool directory away to start fresh`);
    if (seg.count === 0 || segmentEnd(seg) <= head) {
      unlinkSync(seg.path);
      continue;
    }
    segs.push(seg);
  }
  return { segs, lost };
}

function truncateFile(path: string, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, size);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
