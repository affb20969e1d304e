// A probe's own deadline: aborted when the parent signal aborts or `ms` pass, whichever comes first.
//
// Not AbortSignal.any([parent, AbortSignal.timeout(ms)]): in Node 20 the composite holds its sources
// only weakly and the timeout's timer holds its signal only weakly, so a garbage collection between
// the start and the deadline loses the timeout and it never fires (nodejs/node#57736). A blackholed
// TCP port or a hung HTTP server then held the probe for minutes, and a pulse that never settled
// stopped its target's pulses for good. Here the timer holds the controller strongly; done() lets go.
export interface Deadline {
  readonly signal: AbortSignal;
  /** stop the timer and the parent listener (call once the work is over; calling twice is harmless) */
  done(): void;
}

export function deadline(parent: AbortSignal, ms: number): Deadline {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onParent = () => finish(parent.reason);
  const finish = (reason?: unknown) => {
    clearTimeout(timer);
    parent.removeEventListener('abort', onParent);
    if (reason !== undefined && !ac.signal.aborted) ac.abort(reason);
  };
  if (parent.aborted) ac.abort(parent.reason);
  else {
    parent.addEventListener('abort', onParent, { once: true });
    timer = setTimeout(() => finish(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
    // like AbortSignal.timeout: a pending deadline alone does not keep the process running
    timer.unref();
  }
  return { signal: ac.signal, done: () => finish() };
}
