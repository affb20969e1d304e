import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../config/wire.ts';
import { MemoryOutbox } from '../../agent/spool/index.ts';

const r = (ts: number): ProbeResult => ({ target: 't', ts, kind: 'tcp', ok: true, connect_ms: 1 });
const tss = (rs: ProbeResult[] | undefined) => (rs ?? []).map((x) => x.ts);

describe('MemoryOutbox', () => {
  it('batches in order with increasing seq; ack forgets, unknown seq is a no-op', () => {
    const o = new MemoryOutbox(100);
    o.push([r(1), r(2), r(3)]);
    const a = o.nextBatch(2)!;
    const b = o.nextBatch(2)!;
    expect([a.seq, tss(a.results), b.seq, tss(b.results)]).toEqual([0, [1, 2], 1, [3]]);
    expect(o.nextBatch(2)).toBeNull();
    expect([o.pending, o.inFlight]).toEqual([3, 2]);
    expect(o.ack(a.seq)).toBe(2);
    expect(o.ack(a.seq)).toBe(0);
    expect(o.ack(99)).toBe(0);
    expect([o.pending, o.inFlight]).toEqual([1, 1]);
  });

  it('requeueUnacked puts in-flight results back in front, oldest first; new seqs follow', () => {
    const o = new MemoryOutbox(100);
    o.push([r(1), r(2), r(3), r(4), r(5)]);
    o.nextBatch(2);
    o.nextBatch(2);
    o.requeueUnacked();
    expect(o.inFlight).toBe(0);
    expect(o.pending).toBe(5);
    const again = o.nextBatch(10)!;
    expect(again.seq).toBe(2);
    expect(tss(again.results)).toEqual([1, 2, 3, 4, 5]);
  });

  it('nack returns one batch for resending', () => {
    const o = new MemoryOutbox(100);
    o.push([r(1), r(2), r(3)]);
    const a = o.nextBatch(2)!;
    o.nack(a.seq);
    expect(tss(o.nextBatch(10)!.results)).toEqual([1, 2, 3]);
  });

  it('when full drops the oldest queued results and counts them', () => {
    const o = new MemoryOutbox(4);
    o.push([r(1), r(2)]);
    o.nextBatch(1); // r1 in flight, cannot be dropped
    o.push([r(3), r(4), r(5), r(6)]);
    expect(o.pending).toBe(4);
    expect(o.dropped).toBe(2); // r2 and r3
    o.requeueUnacked();
    expect(tss(o.nextBatch(10)!.results)).toEqual([1, 4, 5, 6]);
  });
});
