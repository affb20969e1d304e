// The UI hub: a snapshot on connect, then coalesced deltas (changed communes only) and a heartbeat.
// A slow client (its socket buffer keeps growing) is skipped for deltas and resynced with a fresh snapshot
// once it drains, so one stuck wall screen never holds memory or slows the others.
import type { WSContext, WSEvents } from 'hono/ws';
import { PROTOCOL_VERSION, type LiveMessage } from '../config/wire.ts';
import type { Incident, IncidentEvent } from './incidents/types.ts';
import type { LiveState } from './state/live-state.ts';

const HEARTBEAT_MS = 5000;
/** bytes queued on a client socket above which it stops receiving deltas */
const SLOW_CLIENT_BYTES = 1 << 20;

interface Client {
  ws: WSContext;
  needsSnapshot: boolean;
  /** carrier scope (carrier users), or null for everything */
  carrier: string | null;
}

export class LiveHub {
  private clients = new Set<Client>();
  /** changed since the last delta: commune -> its changed agents (sites), null for the whole commune */
  private dirty = new Map<string, Set<string> | null>();
  /** the snapshot's `communes` JSON per scope, until anything changes */
  private snapshotCommunes = new Map<string | null, { at: number; text: string }>();
  private timer: NodeJS.Timeout | null = null;
  private hb: NodeJS.Timeout;
  stats = { deltas: 0, snapshots: 0, slowSkips: 0, incidents: 0 };
  /** open incidents for snapshots; set when incident detection runs */
  incidentSource: () => Incident[] = () => [];

  constructor(
    private live: LiveState,
    private coalesceMs: number,
    private now: () => number = Date.now,
  ) {
    live.onChange((_codes, agents) => {
      for (const [c, a] of agents) {
        const prev = this.dirty.get(c);
        if (a === null || prev === null) this.dirty.set(c, null);
        else if (prev === undefined) this.dirty.set(c, new Set(a));
        else for (const x of a) prev.add(x);
      }
      this.snapshotCommunes.clear();
      this.timer ??= setTimeout(() => this.flush(), this.coalesceMs);
    });
    this.hb = setInterval(() => {
      const hb = JSON.stringify({ type: 'hb', v: PROTOCOL_VERSION, serverTime: this.now() } satisfies LiveMessage);
      this.broadcast(() => hb);
    }, HEARTBEAT_MS);
    this.hb.unref();
  }

  get size() {
    return this.clients.size;
  }

  events(carrier: string | null = null): WSEvents<unknown> {
    let client: Client | null = null;
    return {
      onOpen: (_e, ws) => {
        client = { ws, needsSnapshot: false, carrier };
        this.clients.add(client);
        this.sendSnapshot(client);
      },
      onClose: () => {
        if (client) this.clients.delete(client);
      },
      onMessage: () => {}, // the feed is one-way
    };
  }

  private flush() {
    this.timer = null;
    if (this.dirty.size === 0) return;
    const dirty = this.dirty;
    this.dirty = new Map();
    this.stats.deltas++;
    // One serialisation per scope, not per client: most clients share the unscoped view. A commune whose change
    // is confined to some sites carries only those sites' slots.
    const frames = new Map<string | null, string | null>();
    const frameFor = (carrier: string | null) => {
      if (!frames.has(carrier)) {
        const served = carrier ? this.live.servedBy(carrier) : null;
        const communes = [...dirty]
          .filter(([c]) => !served || served.has(c))
          .map(([c, agents]) => (agents ? this.live.communePart(c, agents, carrier ?? undefined) : this.live.commune(c, carrier ?? undefined)));
        frames.set(carrier, communes.length ? JSON.stringify({ type: 'delta', v: PROTOCOL_VERSION, serverTime: this.now(), communes } satisfies LiveMessage) : null);
      }
      return frames.get(carrier)!;
    };
    this.broadcast(frameFor);
  }

  private broadcast(frameFor: (carrier: string | null) => string | null) {
    for (const c of this.clients) {
      if (c.ws.readyState !== 1) continue;
      if (buffered(c.ws) > SLOW_CLIENT_BYTES) {
        c.needsSnapshot = true;
        this.stats.slowSkips++;
        continue;
      }
      if (c.needsSnapshot) this.sendSnapshot(c);
      else {
        const text = frameFor(c.carrier);
        if (text) c.ws.send(text);
      }
    }
  }

  /** An incident opened, changed or resolved: to every client whose scope includes it. */
  incident(e: IncidentEvent) {
    if (e.kind === 'reminder') return; // reminders are for notification channels, not screens
    this.stats.incidents++;
    const text = JSON.stringify({ type: 'incident', v: PROTOCOL_VERSION, serverTime: this.now(), event: e.kind, incident: e.incident } satisfies LiveMessage);
    this.broadcast((carrier) => (inScope(e.incident, carrier) ? text : null));
  }

  private sendSnapshot(c: Client) {
    c.needsSnapshot = false;
    this.stats.snapshots++;
    const incidents = this.incidentSource().filter((i) => inScope(i, c.carrier));
    // a wall of screens reconnecting after a server restart asks for the same snapshot many times over
    // (for at most a second: agents' last-seen times move without a change of state)
    let cached = this.snapshotCommunes.get(c.carrier);
    if (!cached || this.now() - cached.at > 1000) this.snapshotCommunes.set(c.carrier, (cached = { at: this.now(), text: JSON.stringify(this.live.all(c.carrier ?? undefined)) }));
    const communes = cached.text;
    const head = JSON.stringify({ type: 'snapshot', v: PROTOCOL_VERSION, serverTime: this.now(), incidents } satisfies Omit<Extract<LiveMessage, { type: 'snapshot' }>, 'communes'>);
    c.ws.send(`${head.slice(0, -1)},"communes":${communes}}`);
  }

  close() {
    clearInterval(this.hb);
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.clients) c.ws.close(1001, 'server shutting down');
  }
}

/** a carrier user sees only its own carrier's incidents (as in GET /api/incidents) */
function inScope(i: Incident, carrier: string | null): boolean {
  return carrier === null || i.carrier === carrier;
}

function buffered(ws: WSContext): number {
  return (ws.raw as { bufferedAmount?: number } | undefined)?.bufferedAmount ?? 0;
}
