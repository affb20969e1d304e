// One result on disk: [u32 LE payload length][u32 LE CRC32 of the next 8+len bytes][f64 LE ts][payload JSON].
// The CRC covers the ts and the payload, so a torn or rotted record is detected and never parsed.
import { crc32 } from 'node:zlib';
import type { ProbeResult } from '../../config/wire.ts';

export const HEADER = 16;
const MAX_RECORD = 1 << 20; // one result is a few hundred bytes; anything near this is garbage

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
export function recordLengthAt(buf: Buffer, off: number): number {
  if (off + HEADER > buf.length) return 0;
  const len = buf.readUInt32LE(off);
  if (len === 0 || len > MAX_RECORD || off + HEADER + len > buf.length) return 0;
  if (crc32(buf.subarray(off + 8, off + HEADER + len)) !== buf.readUInt32LE(off + 4)) return 0;
  return HEADER + len;
}

/** ts of the record at `off` (checked by recordLengthAt first) */
export function recordTs(buf: Buffer, off: number): number {
  return buf.readDoubleLE(off + 8);
}

/** The result at `off`, or undefined when the record is torn, corrupt or not JSON. */
export function decodeRecord(buf: Buffer, off: number): ProbeResult | undefined {
  const len = recordLengthAt(buf, off);
  if (len === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8', off + HEADER, off + len)) as ProbeResult;
  } catch {
    return undefined;
  }
}
