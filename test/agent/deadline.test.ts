// A probe's own deadline must fire even when a garbage collection runs before it (Node 20 loses
// AbortSignal.timeout inside AbortSignal.any then), must follow its parent, and must let go when done.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { deadline } from '../../agent/probes/deadline.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('probe deadline', () => {
  it('fires after ms for every pending deadline, with a full GC in between and nothing but a listener holding it', async () => {
    const parent = new AbortController();
    let fired = 0;
    const reasons = new Set<string>();
    for (let i = 0; i < 200; i++)
      deadline(parent.signal, 60).signal.addEventListener('abort', function (this: AbortSignal) {
        fired++;
        reasons.add((this.reason as DOMException).name);
      });
    await sleep(10);
    gc();
    await sleep(150);
    expect(fired).toBe(200);
    expect([...reasons]).toEqual(['TimeoutError']);
    expect(parent.signal.aborted).toBe(false);
  });

  it('follows its parent: an abort before or during passes the parent reason on, before the timer', async () => {
    const before = new AbortController();
    before.abort(new Error('agent stopping'));
    expect(deadline(before.signal, 10_000).signal.reason).toMatchObject({ message: 'agent stopping' });

    const during = new AbortController();
    const d = deadline(during.signal, 10_000);
    setTimeout(() => during.abort(new Error('round deadline')), 20);
    const t0 = Date.now();
    await new Promise((r) => d.signal.addEventListener('abort', r, { once: true }));
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(d.signal.reason).toMatchObject({ message: 'round deadline' });
  });

  it('done(): the timer no longer fires and the parent no longer holds a listener', async () => {
    const parent = new AbortController();
    const d = deadline(parent.signal, 30);
    d.done();
    d.done();
    await sleep(80);
    expect(d.signal.aborted).toBe(false);
    parent.abort();
    expect(d.signal.aborted).toBe(false);
  });
});
