// Open incidents as the live feed reports them (snapshot on connect, then `incident` messages), plus the
// recently resolved ones, kept for a while in a "vừa khắc phục" section so a recovery is seen, not just a
// disappearance. Listeners hear every event (the banner and the sound listen for 'opened').
import type { IncidentWire, LiveMessage } from '../../../config/wire.ts';
import { byNewest } from './incidents.ts';

export type IncidentEvent = Extract<LiveMessage, { type: 'incident' }>['event'];
type Listener = (event: IncidentEvent, inc: IncidentWire) => void;

/** how long a resolved incident stays in the feed */
export const RECENT_MS = 10 * 60_000;
const RECENT_MAX = 20;

export class IncidentFeed {
  /** open incidents, newest first */
  open = $state.raw<IncidentWire[]>([]);
  /** resolved while we watched, most recent resolution first */
  recent = $state.raw<IncidentWire[]>([]);
  /** null until the first snapshot; false when the server has no incident detection (no `incidents` field) */
  supported = $state<boolean | null>(null);

  /** open incidents per affected commune code */
  byCommune = $derived.by(() => {
    const m = new Map<string, IncidentWire[]>();
    for (const inc of this.open)
      for (const c of inc.communes) {
        let l = m.get(c);
        if (!l) m.set(c, (l = []));
        l.push(inc);
      }
    return m;
  });

  /** local time each recent one was resolved (pruning uses the local clock: no server/browser skew involved) */
  #resolvedLocal = new Map<string, number>();
  #listeners = new Set<Listener>();

  onEvent(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  get(id: string): IncidentWire | undefined {
    return this.open.find((i) => i.id === id) ?? this.recent.find((i) => i.id === id);
  }

  /** The snapshot's open incidents replace ours (absent = server without incident detection). */
  replace(list: IncidentWire[] | undefined): void {
    if (list === undefined) {
      this.supported = false;
      this.open = [];
      return;
    }
    this.supported = true;
    const ids = new Set(list.map((i) => i.id));
    this.open = [...list].sort(byNewest);
    // one that resolved while we were disconnected is no longer "open"; one that reopened is not "recent"
    if (this.recent.some((i) => ids.has(i.id))) this.recent = this.recent.filter((i) => !ids.has(i.id));
  }

  /** An `incident` message. */
  apply(event: IncidentEvent, inc: IncidentWire, now = Date.now()): void {
    this.supported = true;
    if (event === 'resolved' || inc.resolvedAt !== null) {
      this.open = this.open.filter((i) => i.id !== inc.id);
      this.#resolvedLocal.set(inc.id, now);
      this.recent = [inc, ...this.recent.filter((i) => i.id !== inc.id)].slice(0, RECENT_MAX);
    } else {
      this.#upsertOpen(inc);
    }
    for (const fn of this.#listeners) {
      try {
        fn(event, inc);
      } catch (e) {
        console.error('incident listener failed:', e);
      }
    }
  }

  /** A fresher copy from the REST API (after an ack or a note): replaces ours wherever it is, adds nothing new. */
  update(inc: IncidentWire): void {
    if (this.open.some((i) => i.id === inc.id)) this.#upsertOpen(inc);
    else if (this.recent.some((i) => i.id === inc.id)) this.recent = this.recent.map((i) => (i.id === inc.id ? inc : i));
  }

  /** Drop resolved incidents older than RECENT_MS (called on the feed's 1 s tick). */
  prune(now = Date.now()): void {
    if (this.recent.length === 0) return;
    const keep = this.recent.filter((i) => now - (this.#resolvedLocal.get(i.id) ?? now) < RECENT_MS);
    if (keep.length !== this.recent.length) {
      for (const i of this.recent) if (!keep.includes(i)) this.#resolvedLocal.delete(i.id);
      this.recent = keep;
    }
  }

  #upsertOpen(inc: IncidentWire): void {
    const rest = this.open.filter((i) => i.id !== inc.id);
    this.open = [...rest, inc].sort(byNewest);
  }
}
