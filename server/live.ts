// The UI hub: a snapshot on connect, then coalesced deltas (changed communes only) and a heartbeat.
// A slow client (its socket buffer keeps growing) is skipped for deltas and resynced with a fresh snapshot
// once it drains, so one stuck wall screen never holds memory or slows the others.
import type { WSContext, WSEvents } from 'hono/ws';
import { PROTOCOL_VERSION, type LiveMessage } from '../config/wire.ts';
import type { LiveState } from './state/live-state.ts';

const HEARTBEAT_MS = 5000;
/** bytes queued on a client socket above which it stops receiving deltas */
const SLOW_CLIENT_BYTES = 1 << 20;

interface Client {
  ws: WSContext;
  needsSnapshot: boolean;
}

export class LiveHub {
  private clients = new Set<Client>();
  private dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private hb: NodeJS.Timeout;
  stats = { deltas: 0, snapshots: 0, slowSkips: 0 };

  constructor(
    private live: LiveState,
    private coalesceMs: number,
    private now: () => number = Date.now,
  ) {
    live.onChange((codes) => {
      for (const c of codes) this.dirty.add(c);
      this.timer ??= setTimeout(() => this.flush(), this.coalesceMs);
    });
    this.hb = setInterval(() => this.broadcast({ type: 'hb', v: PROTOCOL_VERSION, serverTime: this.now() }), HEARTBEAT_MS);
    this.hb.unref();
  }

  get size() {
    return this.clients.size;
  }

  events(): WSEvents<unknown> {
    let client: Client | null = null;
    return {
      onOpen: (_e, ws) => {
        client = { ws, needsSnapshot: false };
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
    const communes = [...this.dirty].map((c) => this.live.commune(c));
    this.dirty.clear();
    this.stats.deltas++;
    this.broadcast({ type: 'delta', v: PROTOCOL_VERSION, serverTime: this.now(), communes });
  }

  private broadcast(m: LiveMessage) {
    const text = JSON.stringify(m);
    for (const c of this.clients) {
      if (c.ws.readyState !== 1) continue;
      if (buffered(c.ws) > SLOW_CLIENT_BYTES) {
        c.needsSnapshot = true;
        this.stats.slowSkips++;
        continue;
      }
      if (c.needsSnapshot) this.sendSnapshot(c);
      else c.ws.send(text);
    }
  }

  private sendSnapshot(c: Client) {
    c.needsSnapshot = false;
    this.stats.snapshots++;
    c.ws.send(JSON.stringify({ type: 'snapshot', v: PROTOCOL_VERSION, serverTime: this.now(), communes: this.live.all() } satisfies LiveMessage));
  }

  close() {
    clearInterval(this.hb);
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.clients) c.ws.close(1001, 'server shutting down');
  }
}

function buffered(ws: WSContext): number {
  return (ws.raw as { bufferedAmount?: number } | undefined)?.bufferedAmount ?? 0;
}
