// The agent's WebSocket link to the server (config/wire.ts): hello, plan, batches with acks,
// heartbeats, reconnect with capped exponential backoff and full jitter. Results leave the outbox
// only when the server acks them; everything unacked is resent after a reconnect (writes are idempotent).
// Sending is capped at maxResultsPerSec so a week of spooled backlog does not flood a thin uplink or the server.
import { EventEmitter } from 'node:events';
import { isIPv4, isIPv6 } from 'node:net';
import WebSocket from 'ws';
import {
  CLOSE,
  PROTOCOL_VERSION,
  formatIssues,
  resultSchema,
  serverMessageSchema,
  type Ack,
  type AgentHeartbeat,
  type AgentMessage,
  type AgentUpdate,
  type Plan,
  type ProbeResult,
  type ProbeRequest,
  type ServerMessage,
  type WireError,
} from '../config/wire.ts';
import type { Outbox, OutboxBatch } from './spool/index.ts';
import { silentLog, type Log } from './scheduler.ts';

export type LinkState = 'idle' | 'connecting' | 'open' | 'closed' | 'stopped';

export interface LinkEvents {
  state: [LinkState];
  plan: [Plan];
  ack: [Ack];
  batch: [OutboxBatch];
  heartbeat: [AgentHeartbeat];
  serverError: [WireError];
  probe: [ProbeRequest];
  close: [code: number, reason: string];
}

export interface LinkOptions {
  /** ws(s)://host[:port] or http(s)://host[:port]; `/ws/agent` is appended unless already there */
  server: string;
  agentId: string;
  token: string;
  /** agent software version, sent in hello */
  version: string;
  /** what it runs as (agent/update/): mjs, linux-x64, win-x64 or tsx, sent in hello */
  platform?: string;
  outbox: Outbox;
  onPlan?: (plan: Plan) => void;
  /** the server asks for a confirmation burst of these target ids now (another site saw them fail) */
  onProbe?: (targets: string[]) => void;
  log?: Log;
  /** results per batch frame */
  batchMax?: number;
  /** unacked batches on the wire at once */
  maxInFlight?: number;
  /** gather results for this long before sending, so a burst of rounds goes out as one frame */
  flushDelayMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** retry delay after the server refused our credentials (4401/4403) or replaced us (4409) */
  slowRetryMs?: number;
  /** a batch unacked for this long means the session is stuck: reconnect (and resend) */
  ackTimeoutMs?: number;
  /** pause before resending a batch the server could not store */
  storeRetryMs?: number;
  handshakeTimeoutMs?: number;
  /** results sent per second at most (token bucket, burst one batch); undefined = no cap */
  maxResultsPerSec?: number;
  /** [0,1); injectable for deterministic backoff in tests */
  random?: () => number;
}

/** Normalise the --server flag to the agent endpoint URL. */
export function agentUrl(server: string): string {
  const u = new URL(server.includes('://') ? server : `http://${server}`);
  const schemes: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };
  const scheme = schemes[u.protocol];
  if (!scheme) throw new Error(`--server: unsupported scheme ${u.protocol} (use http(s):// or ws(s)://)`);
  u.protocol = scheme;
  if (!u.pathname.endsWith('/ws/agent')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws/agent`;
  return u.toString();
}

/** This machine itself: 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and the name localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  // URL writes ::ffff:127.0.0.1 as ::ffff:7f00:1
  return isIPv6(h) && /^::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|127\.\d+\.\d+\.\d+)$/.test(h);
}

/**
 * The URL when talking to it would carry the agent's token or enrolment code in clear over a network (ws:// or
 * http:// to a host other than this machine), else undefined. Loopback stays allowed: nothing leaves the machine.
 */
export function clearTextUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined; // not a URL: the caller's own parsing reports it
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'http:') return undefined;
  return isLoopbackHost(u.hostname) ? undefined : `${u.protocol}//${u.host}`;
}

// Close codes after which retrying quickly would only hammer the server with the same refusal.
const SLOW_RETRY: Record<number, string> = {
  [CLOSE.unauthorized]: 'server rejected this agent (4401 unauthorized): check --id / --token (IOC_AGENT_ID / IOC_AGENT_TOKEN) against the server config',
  [CLOSE.forbidden]: 'server refused this agent (4403 forbidden)',
  [CLOSE.replaced]: 'another connection with this agent id replaced us (4409): is the same id running twice?',
};

export class Link extends EventEmitter<LinkEvents> {
  private ws: WebSocket | undefined;
  private st: LinkState = 'idle';
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private houseTimer: NodeJS.Timeout | undefined;
  private pausedUntil = 0;
  private heartbeatMs = 0;
  private nextHeartbeat = 0;
  private lastRx = 0;
  private readonly sentAt = new Map<number, number>();
  private tokens = 0;
  private tokensAt = 0;
  private rateTimer: NodeJS.Timeout | undefined;
  /** the last few pong round trips; the estimate comes from the one with the lowest RTT (least queuing) */
  private readonly clockSamples: { offsetMs: number; rttMs: number }[] = [];
  private readonly startedAt = Date.now();
  private slowReason: string | undefined;
  readonly url: string;
  private readonly log: Log;
  private readonly random: () => number;
  /** server clock minus agent clock, ms, NTP-style from the lowest-RTT pong of the last few */
  clockOffsetMs: number | null = null;
  /** round trip of that pong, ms */
  rttMs: number | null = null;
  /** the last valid plan received */
  plan: Plan | undefined;
  /** a self-update report not yet sent (the link was down): sent after the next hello */
  private unsentUpdate: AgentUpdate | undefined;

  constructor(private readonly opts: LinkOptions) {
    super();
    this.url = agentUrl(opts.server);
    this.log = opts.log ?? silentLog;
    this.random = opts.random ?? Math.random;
    this.tokens = this.burst;
    this.tokensAt = Date.now();
  }

  private get burst(): number {
    const rate = this.opts.maxResultsPerSec;
    return rate === undefined ? Infinity : Math.max(1, Math.min(this.opts.batchMax ?? 500, rate));
  }

  get state(): LinkState {
    return this.st;
  }

  start(): void {
    if (this.st !== 'idle') return;
    this.connect();
  }

  /**
   * Queue results for sending. Invalid results are logged and dropped here: one bad result must not poison a batch
   * forever. Resolves true once the outbox has taken them (for the disk spool: written and fsynced), false if not.
   */
  enqueue(results: readonly ProbeResult[]): Promise<boolean> {
    const good: ProbeResult[] = [];
    for (const r of results) {
      const p = resultSchema.safeParse(r);
      if (p.success) good.push(p.data);
      else this.log.error({ target: (r as { target?: unknown }).target, issues: formatIssues(p.error.issues) }, 'invalid result dropped');
    }
    if (good.length === 0) return Promise.resolve(false);
    const taken = this.opts.outbox.push(good);
    if (!taken) {
      this.kick();
      return Promise.resolve(true);
    }
    return taken.then(
      () => (this.kick(), true),
      (e: unknown) => {
        this.log.error({ err: e instanceof Error ? e.message : String(e), results: good.length }, 'outbox refused results (counted as dropped)');
        return false;
      },
    );
  }

  /** Tell the server how a self-update went (shown on the agents page). */
  reportUpdate(u: Omit<AgentUpdate, 'type' | 'v'>): void {
    const msg: AgentUpdate = { type: 'update', v: PROTOCOL_VERSION, ...u };
    if (this.st === 'open' && this.ws?.readyState === WebSocket.OPEN) this.send(msg);
    else this.unsentUpdate = msg;
  }

  /** Send queued results soon (coalesced over flushDelayMs). */
  kick(): void {
    if (this.flushTimer || this.st !== 'open') return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.pump();
    }, this.opts.flushDelayMs ?? 200);
  }

  /**
   * Stop: optionally wait up to `drainMs` for queued results to be acked, then close the socket.
   * The in-memory outbox is lost on exit; the disk spool keeps what is left for the next start.
   */
  async stop(opts: { drainMs?: number } = {}): Promise<void> {
    if (this.st === 'stopped') return;
    const drainMs = opts.drainMs ?? 0;
    if (drainMs > 0 && this.st === 'open' && this.opts.outbox.pending > 0) {
      this.pump();
      const until = Date.now() + drainMs;
      while (this.st === 'open' && this.opts.outbox.pending > 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        this.pump();
      }
    }
    this.setState('stopped');
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
    clearInterval(this.houseTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => (ws.terminate(), resolve()), 1000);
      ws.once('close', () => (clearTimeout(t), resolve()));
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(CLOSE.shutdown, 'agent stopping');
    });
  }

  // ---- connection lifecycle ---------------------------------------------------------------

  private setState(s: LinkState): void {
    if (this.st === s) return;
    this.st = s;
    this.emit('state', s);
  }

  private connect(): void {
    if (this.st === 'stopped') return;
    this.setState('connecting');
    this.slowReason = undefined;
    const ws = new WebSocket(this.url, {
      headers: { Authorization: `Bearer ${this.opts.token}`, 'X-Agent-Id': this.opts.agentId },
      handshakeTimeout: this.opts.handshakeTimeoutMs ?? 10_000,
      maxPayload: 16 * 1024 * 1024,
    });
    this.ws = ws;
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data) => this.onMessage(ws, data));
    ws.on('pong', () => (this.lastRx = Date.now()));
    ws.on('error', (err) => {
      // An HTTP refusal of the upgrade (no close code) arrives here.
      const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
      if (status === '401' || status === '403') this.slowReason = `server refused the upgrade with HTTP ${status}: check --id / --token`;
      this.log.warn({ url: this.url, err: err.message }, 'agent link error');
    });
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private onOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.lastRx = Date.now();
    this.opts.outbox.linkUp?.();
    this.setState('open');
    this.log.info({ url: this.url, pending: this.opts.outbox.pending }, 'agent link open');
    this.send({ type: 'hello', v: PROTOCOL_VERSION, agentId: this.opts.agentId, version: this.opts.version, clock: Date.now(), ...(this.opts.platform ? { platform: this.opts.platform } : {}) });
    if (this.unsentUpdate) this.send(this.unsentUpdate);
    this.unsentUpdate = undefined;
    this.houseTimer = setInterval(() => this.housekeeping(), 250);
    this.houseTimer.unref?.();
    this.pump();
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws && this.ws !== undefined) return;
    this.ws = undefined;
    clearInterval(this.houseTimer);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
    this.sentAt.clear();
    this.opts.outbox.requeueUnacked();
    this.emit('close', code, reason);
    if (this.st === 'stopped') return;
    this.setState('closed');

    const slow = SLOW_RETRY[code] ?? this.slowReason;
    let delay: number;
    if (slow) {
      delay = (this.opts.slowRetryMs ?? 60_000) * (1 + this.random() * 0.25);
      this.log.error({ code, reason, retryInMs: Math.round(delay) }, slow);
    } else {
      // Full jitter: uniform in (0, cap], cap doubling from backoffInitialMs up to backoffMaxMs.
      const cap = Math.min(this.opts.backoffMaxMs ?? 30_000, (this.opts.backoffInitialMs ?? 500) * 2 ** this.attempt);
      delay = Math.max(10, this.random() * cap);
      this.log.warn({ code, reason, attempt: this.attempt, retryInMs: Math.round(delay), pending: this.opts.outbox.pending }, 'agent link closed; reconnecting');
    }
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private onMessage(ws: WebSocket, data: WebSocket.RawData): void {
    if (ws !== this.ws) return;
    this.lastRx = Date.now();
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      this.log.warn({}, 'server sent non-JSON frame; ignored');
      return;
    }
    const parsed = serverMessageSchema.safeParse(json);
    if (!parsed.success) {
      this.log.warn({ issues: formatIssues(parsed.error.issues) }, 'server sent an invalid frame; ignored');
      return;
    }
    const msg = parsed.data;
    this.handlers[msg.type](msg as never);
  }

  private readonly handlers: { [K in ServerMessage['type']]: (m: Extract<ServerMessage, { type: K }>) => void } = {
    plan: (plan) => {
      // A valid plan means the session is healthy: the next disconnect starts backoff from the bottom.
      this.attempt = 0;
      this.plan = plan;
      const hbMs = plan.heartbeatSec * 1000;
      if (hbMs !== this.heartbeatMs) {
        this.heartbeatMs = hbMs;
        this.nextHeartbeat = Date.now();
      }
      this.log.info({ rev: plan.rev, targets: plan.targets.length, uplinks: plan.uplinks.length }, 'plan received');
      try {
        this.opts.onPlan?.(plan);
      } catch (e) {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'onPlan threw');
      }
      this.emit('plan', plan);
    },
    ack: (ack) => {
      const n = this.opts.outbox.ack(ack.seq);
      this.sentAt.delete(ack.seq);
      if (n !== ack.accepted) this.log.debug({ seq: ack.seq, sent: n, accepted: ack.accepted }, 'ack count differs from batch size');
      this.emit('ack', ack);
      this.pump();
    },
    pong: (pong) => {
      // NTP-style: t0 = our clock when the heartbeat left (echoed), t2 = now; the server stamped in between.
      const t2 = Date.now();
      const rttMs = t2 - pong.clock;
      if (rttMs < 0 || rttMs > 120_000) return; // our clock jumped, or an echo from long ago: no information
      this.clockSamples.push({ offsetMs: pong.serverTime - (pong.clock + t2) / 2, rttMs });
      if (this.clockSamples.length > 8) this.clockSamples.shift();
      const best = this.clockSamples.reduce((a, b) => (b.rttMs < a.rttMs ? b : a));
      this.clockOffsetMs = Math.round(best.offsetMs);
      this.rttMs = best.rttMs;
    },
    probe: (m) => {
      this.log.debug({ targets: m.targets }, 'server asked for a confirmation of targets another site saw fail');
      try {
        this.opts.onProbe?.(m.targets);
      } catch (e) {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'onProbe threw');
      }
      this.emit('probe', m);
    },
    error: (err) => {
      this.emit('serverError', err);
      this.log.warn({ code: err.code, seq: err.seq, message: err.message }, 'server reported an error');
      if (err.seq === undefined) return;
      this.sentAt.delete(err.seq);
      if (err.code === 'bad_frame' || err.code === 'too_big') {
        // Resending the same frame would fail the same way: give it up, counted as dropped (reported in heartbeats).
        const n = this.opts.outbox.reject(err.seq);
        this.log.error({ seq: err.seq, results: n }, 'server refused a batch as malformed; discarded and counted as dropped');
      } else {
        this.opts.outbox.nack(err.seq);
        this.pausedUntil = Date.now() + (this.opts.storeRetryMs ?? 2000);
      }
    },
  };

  private housekeeping(): void {
    const ws = this.ws;
    if (!ws || this.st !== 'open') return;
    const now = Date.now();
    if (this.heartbeatMs > 0 && now >= this.nextHeartbeat) {
      this.nextHeartbeat = now + this.heartbeatMs;
      const hb: AgentHeartbeat = {
        type: 'heartbeat',
        v: PROTOCOL_VERSION,
        clock: now,
        pending: this.opts.outbox.pending,
        dropped: this.opts.outbox.dropped,
        uptimeSec: Math.round((now - this.startedAt) / 100) / 10,
      };
      if (this.clockOffsetMs !== null) hb.offsetMs = this.clockOffsetMs;
      if (this.rttMs !== null) hb.rttMs = this.rttMs;
      const { bytes, oldestPendingTs } = this.opts.outbox;
      if (bytes !== undefined) hb.spoolBytes = bytes;
      if (oldestPendingTs !== undefined) hb.oldestPendingTs = oldestPendingTs;
      this.send(hb);
      this.emit('heartbeat', hb);
      ws.ping(); // a transport-level pong proves the path is alive even if the server sends nothing else
      // Half-open TCP (NAT dropped us, cable pulled) shows as silence: reconnect instead of waiting forever.
      if (now - this.lastRx > 3 * this.heartbeatMs + 5000) {
        this.log.warn({ silentMs: now - this.lastRx }, 'server silent; reconnecting');
        ws.terminate();
        return;
      }
    }
    const ackTimeout = this.opts.ackTimeoutMs ?? 60_000;
    for (const [seq, at] of this.sentAt) {
      if (now - at > ackTimeout) {
        this.log.warn({ seq, waitedMs: now - at }, 'batch not acked in time; reconnecting to resend');
        ws.close(4000, 'ack timeout');
        return;
      }
    }
    this.pump(); // resumes after a store_unavailable pause; a no-op when nothing is queued
  }

  private pump(): void {
    const ws = this.ws;
    if (!ws || this.st !== 'open' || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() < this.pausedUntil) return;
    const maxInFlight = this.opts.maxInFlight ?? 3;
    const batchMax = this.opts.batchMax ?? 500;
    const rate = this.opts.maxResultsPerSec;
    while (this.opts.outbox.inFlight < maxInFlight) {
      let max = batchMax;
      if (rate !== undefined) {
        const now = Date.now();
        this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) * rate) / 1000);
        this.tokensAt = now;
        // Wait for a full batch's worth (or all that is queued) rather than sending many small frames.
        const want = Math.min(batchMax, this.burst, this.opts.outbox.queued);
        if (want < 1) break;
        if (this.tokens < want) {
          if (!this.rateTimer) {
            this.rateTimer = setTimeout(() => {
              this.rateTimer = undefined;
              this.pump();
            }, Math.ceil(((want - this.tokens) * 1000) / rate));
          }
          break;
        }
        max = Math.floor(Math.min(batchMax, this.tokens));
      }
      const b = this.opts.outbox.nextBatch(max);
      if (!b) break;
      if (rate !== undefined) this.tokens -= b.results.length;
      this.sentAt.set(b.seq, Date.now());
      this.send({ type: 'batch', v: PROTOCOL_VERSION, seq: b.seq, results: b.results });
      this.emit('batch', b);
    }
  }

  private send(msg: AgentMessage): void {
    this.ws?.send(JSON.stringify(msg));
  }
}
