// Attribution off the ingest thread. At thousands of agents one attribution pass over every slot takes hundreds of
// milliseconds; run on the server's only JavaScript thread it would hold every batch ack and live frame behind it
// for that long, every evaluation. The pass is pure (input -> findings, plain data), so it runs unchanged in a
// worker thread: the incident engine builds the input, this file carries it over and the findings back.
// Small inputs stay on the calling thread (a worker round trip is not worth it, and tests stay synchronous).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { attribute, type AttributionInput, type AttributionThresholds, type CauseFinding } from './attribution.ts';
import type { AgentSnapshot, SlotSnapshot } from './attribution/types.ts';

/** inputs at least this large (slots + agents) go to the worker: ~500 agents of 10 targets, a pass of tens of ms */
export const OFF_THREAD_MIN_SIZE = 5000;

/**
 * A list as changed since the last job, in order: `[from, count]` copies that many entries of the worker's previous
 * list, an object is a new entry. The snapshot builder keeps an unchanged agent's or slot's snapshot as the same
 * frozen object, so at 10,000 agents a pass sends the few percent of slots that changed instead of ~28 MB of JSON,
 * and slots that appear or go (agents reporting for the first time, enrolments) only split the copies.
 */
export type ListDiff<T> = ([from: number, count: number] | T)[];
/** the last list sent, and where each of its reusable entries stands in it (built only when entries moved) */
export interface Sent<T> {
  list: readonly T[];
  at: Map<T, number> | null;
}
interface Job {
  id: number;
  now: number;
  agents: ListDiff<AgentSnapshot>;
  slots: ListDiff<SlotSnapshot>;
  baselineTargets: string[];
  th: AttributionThresholds;
}

export const nothingSent = <T>(): Sent<T> => ({ list: [], at: null });

/**
 * how far past a changed entry the lists are looked at for standing aligned again: a site's slots change together,
 * and sites whose rounds fall in the same pass often stand next to each other (hundreds of agents per pass at 10,000)
 */
const REALIGN = 1024;

/**
 * `next` as a diff from `prev`: an entry is copied only when it is the same frozen object as one sent before (frozen,
 * so it cannot have changed in place; callers that update their objects have them sent whole each time). Entries
 * replaced where they stand, or a few inserted or removed, are found by position alone; only when entries moved far
 * does `prev` get an index, so a pass costs a walk of the list and not a map of it.
 */
export function diffList<T extends object>(prev: Sent<T>, next: readonly T[]): { diff: ListDiff<T>; sent: Sent<T> } {
  const old = prev.list;
  const diff: ListDiff<T> = [];
  let run: [number, number] | null = null;
  const literal = (o: T) => {
    diff.push(o);
    run = null;
  };
  /** from position `j` of the old list: in how many entries the same objects stand in both lists again (-1: not soon) */
  const realignsIn = (i: number, j: number) => {
    for (let d = 1; d <= REALIGN; d++) {
      if (i + d >= next.length || j + d >= old.length) return i + d >= next.length && j + d >= old.length ? d : -1;
      if (old[j + d] === next[i + d] && Object.isFrozen(old[j + d])) return d;
    }
    return -1;
  };
  /** entries before this index of `next` were found replaced in place (one look per run of changed entries) */
  let replacedUntil = 0;
  /** next[i] is new, before old[j]: old[j] follows within a few entries */
  const inserted = (i: number, j: number) => {
    for (let d = 1; d <= REALIGN && i + d < next.length; d++) if (next[i + d] === old[j] && Object.isFrozen(old[j])) return true;
    return false;
  };
  // j: where next[i] stands in the old list if nothing moved
  for (let i = 0, j = 0; i < next.length; i++) {
    const o = next[i]!;
    if (!Object.isFrozen(o)) {
      literal(o);
      j++;
      continue;
    }
    let k: number | undefined = old[j] === o ? j : undefined;
    // a few entries removed before it
    for (let d = 1; k === undefined && d <= REALIGN && j + d < old.length; d++) if (old[j + d] === o) k = j + d;
    if (k === undefined && j < old.length && (i < replacedUntil || (replacedUntil = i + realignsIn(i, j)) > i)) {
      // replaced where it stood
      literal(o);
      j++;
      continue;
    }
    if (k === undefined && j < old.length && inserted(i, j)) {
      literal(o);
      continue;
    }
    if (k === undefined) {
      prev.at ??= indexOf(old);
      k = prev.at.get(o);
    }
    // new: inserted before the rest
    if (k === undefined) literal(o);
    else {
      if (run && run[0] + run[1] === k) run[1]++;
      else diff.push((run = [k, 1]));
      j = k + 1;
    }
  }
  return { diff, sent: { list: next, at: null } };
}

function indexOf<T extends object>(list: readonly T[]): Map<T, number> {
  const at = new Map<T, number>();
  for (let i = 0; i < list.length; i++) if (Object.isFrozen(list[i])) at.set(list[i]!, i);
  return at;
}

/** the list a diff describes, from the previous one */
export function patchList<T>(prev: readonly T[], diff: ListDiff<T>): T[] {
  const out: T[] = [];
  for (const p of diff) {
    if (!Array.isArray(p)) out.push(p);
    else for (let k = 0; k < p[1]; k++) out.push(prev[p[0] + k]!);
  }
  return out;
}
type Reply = { id: number; findings: CauseFinding[] } | { id: number; error: string };

export class AttributionThread {
  private worker: Worker | null = null;
  /** the worker could not start or died: attribution runs on the calling thread from then on */
  private broken = false;
  private seq = 0;
  private waiting = new Map<number, { resolve: (f: CauseFinding[]) => void; reject: (e: Error) => void }>();
  /** what the worker holds: the lists of the last job posted */
  private sent = { agents: nothingSent<AgentSnapshot>(), slots: nothingSent<SlotSnapshot>() };

  constructor(
    private readonly minSize = OFF_THREAD_MIN_SIZE,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** The findings for `input` from the worker, or null: run it here (small input, or no worker). */
  run(input: AttributionInput, th: AttributionThresholds): Promise<CauseFinding[]> | null {
    // agents count too: thousands of agents not yet heard from (every one silent) make a long pass of their own
    if (this.broken || input.slots.length + input.agents.length < this.minSize) return null;
    const w = this.worker ?? this.start();
    if (!w) return null;
    const id = ++this.seq;
    // attribution's own fields only: callers may carry more (functions, for the incident engine) that a worker cannot
    // take. As JSON text: for 100,000 plain slot objects several times cheaper for this thread than a structured clone.
    const { now, agents, slots, baselineTargets } = input;
    try {
      // copies: the caller's arrays are its own to change
      const a = diffList(this.sent.agents, [...agents]);
      const s = diffList(this.sent.slots, [...slots]);
      w.postMessage(JSON.stringify({ id, now, agents: a.diff, slots: s.diff, baselineTargets, th } satisfies Job));
      this.sent = { agents: a.sent, slots: s.sent };
    } catch (err) {
      this.fail(err);
      return null;
    }
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  private start(): Worker | null {
    try {
      const url = new URL(import.meta.url);
      // this file is TypeScript when the server runs from source: the worker loads it through tsx, as the server was
      const w = new Worker(url.pathname.endsWith('.ts') ? throughTsx(url) : url);
      w.unref();
      w.on('message', (m: Reply) => {
        const p = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if ('error' in m) p?.reject(new Error(m.error));
        else p?.resolve(m.findings);
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => code !== 0 && this.fail(new Error(`attribution worker exited (${code})`)));
      this.worker = w;
      return w;
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  private fail(err: unknown) {
    if (!this.broken) this.onError(err);
    this.broken = true;
    this.worker = null;
    for (const p of this.waiting.values()) p.reject(err instanceof Error ? err : new Error(String(err)));
    this.waiting.clear();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.broken = true;
    await w?.terminate();
  }
}

/** a worker entry that registers tsx's loader, then imports `file` */
function throughTsx(file: URL): URL {
  const api = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(file.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  // the worker's copy of the input, patched by each job
  let agents: AgentSnapshot[] = [];
  let slots: SlotSnapshot[] = [];
  port.on('message', (text: string) => {
    const job = JSON.parse(text) as Job;
    agents = patchList(agents, job.agents);
    slots = patchList(slots, job.slots);
    try {
      port.postMessage({ id: job.id, findings: attribute({ now: job.now, agents, slots, baselineTargets: job.baselineTargets }, job.th) } satisfies Reply);
    } catch (e) {
      port.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) } satisfies Reply);
    }
  });
}
