// The live feed client (/ws/live): snapshot replaces everything, delta merges by commune code, hb only
// proves the link is alive. State is one CommuneState per code with its own $state fields, so a delta
// that turns one commune red touches one SVG path, not 96.
import { liveMessageSchema, formatIssues, type CommuneLive, type SiteLive, type Status, type TargetLive } from '../../../config/wire.ts';
import { api, ApiError } from './api.ts';
import { IncidentFeed } from './incidentFeed.svelte.ts';

/** The server sends `hb` every 5 s; silence for this long means the feed can't be trusted. */
export const STALE_MS = 12_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15_000;

export type ConnState = 'connecting' | 'live' | 'reconnecting' | 'stale';
export type StatusCounts = Record<Status, number>;

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A site-sized delta: `fresh` replaces the slots of the agents in `only`, in place (the server's order), and the
 * slots of those agents that are new go after them.
 */
export function mergeSites(prev: TargetLive[], fresh: TargetLive[], only: string[]): TargetLive[] {
  const sites = new Set(only);
  const byKey = new Map(fresh.map((t) => [`${t.agent}\u0000${t.id}\u0000${t.uplink ?? ''}`, t]));
  const out: TargetLive[] = [];
  for (const t of prev) {
    if (!t.agent || !sites.has(t.agent)) out.push(t);
    else {
      const k = `${t.agent}\u0000${t.id}\u0000${t.uplink ?? ''}`;
      const n = byKey.get(k);
      if (n) (out.push(n), byKey.delete(k));
    }
  }
  out.push(...byKey.values());
  return out;
}

/** the site list of a site-sized delta: the named sites replaced in place, new ones appended, gone ones dropped */
export function mergeSiteList(prev: SiteLive[], fresh: SiteLive[], only: string[]): SiteLive[] {
  const sites = new Set(only);
  const byAgent = new Map(fresh.map((s) => [s.agent, s]));
  const out = prev.flatMap((s) => (sites.has(s.agent) ? (byAgent.has(s.agent) ? [byAgent.get(s.agent)!] : []) : [s]));
  for (const s of fresh) if (!prev.some((p) => p.agent === s.agent)) out.push(s);
  return out;
}

export class CommuneState {
  status = $state<Status>('unknown');
  carrier = $state<string | null>(null);
  latencyMs = $state<number | null>(null);
  lossPct = $state<number | null>(null);
  lastSeen = $state<number | null>(null);
  // Replaced wholesale, never mutated: raw keeps them cheap and only the side panel reads them.
  agents = $state.raw<string[]>([]);
  targets = $state.raw<TargetLive[]>([]);
  sites = $state.raw<SiteLive[]>([]);

  constructor(readonly code: string) {}

  /** Assign only what changed, so untouched fields don't wake their readers. */
  apply(c: CommuneLive): void {
    if (this.status !== c.status) this.status = c.status;
    if (this.carrier !== c.carrier) this.carrier = c.carrier;
    if (this.latencyMs !== c.latencyMs) this.latencyMs = c.latencyMs;
    if (this.lossPct !== c.lossPct) this.lossPct = c.lossPct;
    if (this.lastSeen !== c.lastSeen) this.lastSeen = c.lastSeen;
    if (!sameJson(this.agents, c.agents)) this.agents = c.agents;
    if (!sameJson(this.targets, c.targets)) this.targets = c.targets;
    if (!sameJson(this.sites, c.sites ?? [])) this.sites = c.sites ?? [];
  }

  reset(): void {
    this.apply({ code: this.code, status: 'unknown', carrier: null, latencyMs: null, lossPct: null, lastSeen: null, agents: [], targets: [] });
  }
}

export interface LiveFeedOptions {
  /** defaults to ws(s)://<this origin>/ws/live */
  url?: string;
  /** the session is gone (the feed checks /api/auth/me after repeated failures) */
  onUnauthorized?: () => void;
  /**
   * The user sees part of the province (a carrier user): the server's snapshot lists only the communes in
   * scope, and the others are shown as out of scope rather than as unknown.
   */
  scoped?: boolean;
}

export class LiveFeed {
  readonly #communes = new Map<string, CommuneState>();
  /** codes counted in `counts` (the province's communes); null = every code seen */
  #scope: string[] | null = null;
  /** bumped when entries are added, so whole-collection deriveds re-run */
  #keys = $state(0);
  /** communes in the user's scope (the last snapshot's codes) when the feed is scoped; null = all */
  served = $state.raw<ReadonlySet<string> | null>(null);
  /** open and recently resolved incidents */
  readonly incidents = new IncidentFeed();

  socketOpen = $state(false);
  everLive = $state(false);
  /** local clock of the last valid message */
  lastMessageAt = $state<number | null>(null);
  serverTime = $state<number | null>(null);
  /** ticks every second so staleness is re-evaluated without a message */
  now = $state(Date.now());
  readonly startedAt = Date.now();

  stale = $derived(this.now - (this.lastMessageAt ?? this.startedAt) > STALE_MS);
  conn: ConnState = $derived(
    this.stale ? 'stale' : this.socketOpen && this.lastMessageAt !== null ? 'live' : this.everLive ? 'reconnecting' : 'connecting',
  );
  /** when the feed went quiet: the last message, or the start if there never was one */
  staleSince = $derived(this.lastMessageAt ?? this.startedAt);

  counts: StatusCounts = $derived.by(() => {
    void this.#keys;
    const c: StatusCounts = { up: 0, degraded: 0, down: 0, unknown: 0 };
    const codes = this.#codes();
    for (const code of codes) c[this.#communes.get(code)?.status ?? 'unknown']++;
    return c;
  });

  #ws: WebSocket | null = null;
  #opts: LiveFeedOptions;
  #stopped = true;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #tick: ReturnType<typeof setInterval> | null = null;
  #openedAt = 0;

  constructor(opts: LiveFeedOptions = {}) {
    this.#opts = opts;
  }

  /** Create entries for the province's communes up front (outside any render) and scope the counts to them. */
  setScope(codes: readonly string[]): void {
    for (const code of codes) this.#entry(code);
    this.#scope = [...codes];
    this.#keys++;
  }

  /** The commune's live state; an unknown placeholder until the server reports it. */
  get(code: string): CommuneState {
    return this.#communes.get(code) ?? this.#entry(code);
  }

  /** Communes currently down or degraded, worst first, then by code. */
  problems(): CommuneState[] {
    void this.#keys;
    const rank: Record<Status, number> = { down: 0, degraded: 1, unknown: 2, up: 3 };
    const codes = this.#codes();
    return codes
      .map((c) => this.get(c))
      .filter((s) => s.status === 'down' || s.status === 'degraded')
      .sort((a, b) => rank[a.status] - rank[b.status] || a.code.localeCompare(b.code));
  }

  /** Outside a scoped user's view: drawn neutral, not counted, never "unknown". */
  outOfScope(code: string): boolean {
    return this.served !== null && !this.served.has(code);
  }

  #codes(): string[] {
    const all = this.#scope ?? [...this.#communes.keys()];
    const served = this.served;
    return served ? all.filter((c) => served.has(c)) : all;
  }

  #entry(code: string): CommuneState {
    let e = this.#communes.get(code);
    if (!e) {
      e = new CommuneState(code);
      this.#communes.set(code, e);
    }
    return e;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick = setInterval(() => this.#onTick(), 1000);
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#tick) clearInterval(this.#tick);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#tick = this.#retryTimer = null;
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000, 'bye');
    this.socketOpen = false;
  }

  /** Apply one decoded message. Public so tests and the /api/communes fallback can feed it. */
  handle(raw: unknown): boolean {
    const parsed = liveMessageSchema.safeParse(raw);
    if (!parsed.success) {
      // Not counted as a sign of life: a protocol mismatch must end up visible as "stale", not as live.
      console.error('live: bad message:', formatIssues(parsed.error.issues));
      return false;
    }
    const msg = parsed.data;
    this.lastMessageAt = Date.now();
    this.now = this.lastMessageAt;
    this.serverTime = msg.serverTime;
    if (msg.type === 'snapshot') {
      const seen = new Set<string>();
      let added = false;
      for (const c of msg.communes) {
        added ||= !this.#communes.has(c.code);
        this.#entry(c.code).apply(c);
        seen.add(c.code);
      }
      for (const [code, e] of this.#communes) if (!seen.has(code)) e.reset();
      if (added) this.#keys++;
      if (this.#opts.scoped && !sameJson([...(this.served ?? [])], [...seen])) this.served = seen;
      this.incidents.replace(msg.incidents);
    } else if (msg.type === 'incident') {
      this.incidents.apply(msg.event, msg.incident);
    } else if (msg.type === 'delta') {
      let added = false;
      for (const c of msg.communes) {
        added ||= !this.#communes.has(c.code);
        const e = this.#entry(c.code);
        e.apply(c.only ? { ...c, targets: mergeSites(e.targets, c.targets, c.only), sites: mergeSiteList(e.sites, c.sites ?? [], c.only) } : c);
      }
      if (added) this.#keys++;
    }
    return true;
  }

  #url(): string {
    if (this.#opts.url) return this.#opts.url;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws/live`;
  }

  #connect(): void {
    if (this.#stopped) return;
    let opened = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#url());
    } catch {
      this.#scheduleRetry(false);
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      opened = true;
      this.#openedAt = Date.now();
      this.socketOpen = true;
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        console.error('live: non-JSON message');
        return;
      }
      if (this.handle(data)) {
        this.#attempt = 0;
        this.everLive = true;
      }
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return; // replaced or stopped
      this.#ws = null;
      this.socketOpen = false;
      this.#scheduleRetry(opened, ev.code);
    };
    ws.onerror = () => {
      // onclose follows and does the work
    };
  }

  #scheduleRetry(opened: boolean, code?: number): void {
    if (this.#stopped) return;
    this.#attempt++;
    // A refused upgrade looks like a close without open; after two of those ask whether we're still logged in.
    if ((!opened && this.#attempt >= 2) || code === 4401 || code === 1008) void this.#checkSession();
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.#attempt - 1, 10));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }

  async #checkSession(): Promise<void> {
    try {
      await api('/api/auth/me', { quiet401: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && !this.#stopped) {
        this.stop();
        this.#opts.onUnauthorized?.();
      }
    }
  }

  #onTick(): void {
    this.now = Date.now();
    this.incidents.prune(this.now);
    // Open but silent: the server or a proxy hung. Drop it and reconnect rather than trust old colours.
    const quietSince = Math.max(this.lastMessageAt ?? 0, this.#openedAt);
    if (this.#ws && this.#ws.readyState === WebSocket.OPEN && this.now - quietSince > STALE_MS) {
      const ws = this.#ws;
      this.#ws = null;
      this.socketOpen = false;
      ws.close(4000, 'stale');
      this.#scheduleRetry(true);
    }
  }
}
