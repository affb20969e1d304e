// The agent WebSocket endpoint: token check before upgrade, hello first, then validated batches that are written
// through the BatchWriter and acked only after the write. Bad frames get an error frame and are counted; too many
// close the link. Nothing here throws into the server.
import type { Context, MiddlewareHandler } from 'hono';
import type { WSContext, WSEvents } from 'hono/ws';
import type { Logger } from 'pino';
import { agentMessageSchema, CLOSE, formatIssues, PROTOCOL_VERSION, type Batch, type ServerMessage } from '../../config/wire.ts';
import type { PlanRelease } from '../../config/wire.ts';
import { DUMMY_HASH, sameSecret, verifySecret } from '../auth/password.ts';
import { throttled, type AuthThrottle } from '../auth/throttle.ts';
import { peerOf } from '../http/net.ts';
import type { Directory } from '../directory.ts';
import type { AppliedRound, LiveState } from '../state/live-state.ts';
import { describesLink } from '../kinds/index.ts';
import { StoreUnavailableError } from '../stores/types.ts';
import type { AgentLink, AgentRegistry } from './agents.ts';
import { agentPoint, toPoint } from './enrich.ts';
import { ProbeNow, type ProbeNowCounts } from './probe-now.ts';
import { triage } from './timeliness.ts';
import { WriterBusyError, type BatchWriter } from './writer.ts';

export interface IngestDeps {
  dir: Directory;
  live: LiveState;
  writer: BatchWriter;
  registry: AgentRegistry;
  log: Logger;
  heartbeatSec: number;
  /** agents whose clock is off by more than this are flagged */
  clockToleranceMs: number;
  /** the agent version the server wants run (self-update), added to every plan */
  release?: () => PlanRelease | undefined;
  /** wrong agent tokens are throttled per address and per agent id */
  throttle?: AuthThrottle | undefined;
  /** the client's address (trusted proxies honoured); default the peer */
  address?: (c: Context) => string;
  /** config server.limits; absent: the defaults */
  limits?: Partial<IngestLimits>;
  now?: () => number;
}

export interface IngestLimits {
  agentConnectionsPerAddress: number;
  agentBatchesInFlight: number;
  /** a service's failure asks the other sites to confirm it at most this often per target (probe-now.ts) */
  probeNowMinGapSec: number;
}
export const INGEST_LIMITS: IngestLimits = { agentConnectionsPerAddress: 256, agentBatchesInFlight: 16, probeNowMinGapSec: 60 };

/** What the limits refused (and the connections a newer one of the same agent replaced), for /metrics. */
export interface IngestRefusals {
  connectionsPerAddress: number;
  batchesInFlight: number;
  writerBusy: number;
  replaced: number;
}
interface LinkBook {
  /** open agent connections per client address */
  open: Map<string, number>;
  /** the address each agent's current connection came from */
  from: Map<string, string>;
  refused: IngestRefusals;
  /** the connected agents that can be asked to confirm a service now */
  probeable: Map<string, { planned(target: string): boolean; probe(targets: string[]): void }>;
  probeNow: ProbeNow;
  probeGapMs: number;
  /** probe frames sent */
  probeFrames: number;
  /** the target/uplink ids of the last plans sent to each agent */
  plans: Map<string, SentPlan[]>;
}
interface SentPlan {
  rev: string;
  targets: Set<string>;
  uplinks: Set<string>;
}
// Keyed by the registry: one per server, shared by the upgrade check, the connections and the metrics.
const books = new WeakMap<AgentRegistry, LinkBook>();
function bookOf(registry: AgentRegistry): LinkBook {
  let b = books.get(registry);
  if (!b) {
    const book: LinkBook = {
      open: new Map(),
      from: new Map(),
      refused: { connectionsPerAddress: 0, batchesInFlight: 0, writerBusy: 0, replaced: 0 },
      probeable: new Map(),
      probeNow: new ProbeNow(() => book.probeGapMs),
      probeGapMs: INGEST_LIMITS.probeNowMinGapSec * 1000,
      probeFrames: 0,
      plans: new Map(),
    };
    books.set(registry, (b = book));
  }
  return b;
}
/** Services other sites were asked to confirm now, the frames that asked (for /metrics), and the sites remembered. */
export function probeNowStats(registry: AgentRegistry): Readonly<ProbeNowCounts & { frames: number; sites: number }> {
  const b = bookOf(registry);
  return { ...b.probeNow.counts, frames: b.probeFrames, sites: b.probeNow.agents().length };
}
/** The directory changed: agents no longer in it leave no probe-now memory and no remembered plans behind. */
export function forgetRemovedAgents(registry: AgentRegistry, agents: ReadonlyMap<string, unknown>): void {
  const book = books.get(registry);
  if (!book) return;
  for (const agent of book.probeNow.agents()) if (!agents.has(agent)) book.probeNow.forget(agent);
  for (const agent of book.plans.keys()) if (!agents.has(agent)) book.plans.delete(agent);
}
/** Agents whose recent plans are remembered (a removed agent's are forgotten with it). */
export function plansRemembered(registry: AgentRegistry): number {
  return bookOf(registry).plans.size;
}
export function ingestRefusals(registry: AgentRegistry): Readonly<IngestRefusals> {
  return bookOf(registry).refused;
}
/** One more connection from `address` would pass the bound (a reconnecting agent's own older one does not count). */
function addressFull(deps: IngestDeps, book: LinkBook, address: string, agentId: string): boolean {
  const open = (book.open.get(address) ?? 0) - (book.from.get(agentId) === address ? 1 : 0);
  return open >= (deps.limits?.agentConnectionsPerAddress ?? INGEST_LIMITS.agentConnectionsPerAddress);
}

/** Plans remembered per agent: a backlog replayed after a target left the plan still lands. */
const PLANS_KEPT = 5;

/** Errors tolerated per connection per minute before it is closed. */
const MAX_ERRORS_PER_MIN = 20;
/** Write an `agent` health point at most this often per agent. */
const AGENT_POINT_EVERY_MS = 30_000;

/** Refuses the upgrade with 401 unless Authorization: Bearer <token> matches the agent's current token hash. */
export function agentAuth(deps: IngestDeps): MiddlewareHandler<{ Variables: { agentId: string } }> {
  // A verified token is cached for the process: scrypt costs ~50 ms and agents reconnect often on bad links. The
  // cache holds the hash it was checked against, so a rotated or revoked token is never taken from it.
  const verified = new Map<string, { token: string; hash: string }>();
  return async (c, next) => {
    const id = c.req.header('x-agent-id') ?? c.req.query('agent') ?? '';
    const token = (c.req.header('authorization') ?? '').replace(/^Bearer\s+/i, '');
    const from = (deps.address ?? peerOf)(c);
    const wait = deps.throttle?.check('agent_token', from, id) ?? 0;
    if (wait > 0) return throttled(c, wait);
    const hash = deps.dir.agents.get(id)?.tokenHash;
    const cached = verified.get(id);
    // an unknown id costs one scrypt like a wrong token; the cache compares in constant time
    const ok = (cached !== undefined && cached.hash === hash && sameSecret(cached.token, token)) || ((await verifySecret(token, hash ?? DUMMY_HASH)) && !!hash);
    // re-read after the await: the agent may have been revoked or its token rotated meanwhile
    if (!ok || deps.dir.agents.get(id)?.tokenHash !== hash || !deps.registry.get(id)) {
      deps.registry.counters.authFailures++;
      deps.throttle?.fail('agent_token', from, id);
      deps.log.warn({ agent: id || null, remote: remoteOf(c) }, 'agent refused: unknown agent id or wrong token');
      return c.json({ error: 'unknown agent id or wrong token' }, 401);
    }
    verified.set(id, { token, hash });
    const book = bookOf(deps.registry);
    // only the link itself is bounded: an artefact download or a speed test with the same token is not a connection kept
    if (c.req.header('upgrade')?.toLowerCase() === 'websocket' && addressFull(deps, book, from, id)) {
      book.refused.connectionsPerAddress++;
      deps.log.warn({ agent: id, remote: from }, 'agent refused: too many agent connections from this address');
      c.header('Retry-After', '60');
      return c.json({ error: 'too many agent connections from this address' }, 429);
    }
    c.set('agentId', id);
    await next();
  };
}

export function agentEvents(deps: IngestDeps, c: Context<{ Variables: { agentId: string } }>): WSEvents<unknown> {
  const now = deps.now ?? Date.now;
  const agentId = c.get('agentId');
  // the entry of this connection; the registry drops it when the agent is revoked
  const info = deps.registry.get(agentId) ?? ({} as NonNullable<ReturnType<AgentRegistry['get']>>);
  const log = deps.log.child({ agent: agentId });
  const book = bookOf(deps.registry);
  const address = (deps.address ?? peerOf)(c);
  let counted = false;
  let inFlight = 0;
  const maxInFlight = deps.limits?.agentBatchesInFlight ?? INGEST_LIMITS.agentBatchesInFlight;
  book.probeGapMs = (deps.limits?.probeNowMinGapSec ?? INGEST_LIMITS.probeNowMinGapSec) * 1000;
  let greeted = false;
  let errors: number[] = [];
  let lastAgentPoint = 0;
  let self: AgentLink | null = null;
  let socket: WSContext | null = null;
  // The plan's intervals, computed when a plan is sent (building one hashes it), not per batch.
  let intervals = new Map<string, number>();
  let sentRev: string | null = null;
  // the release offered is not part of the config's rev: a pin or pause must reach agents whose targets did not change
  const releaseKey = (r: PlanRelease | undefined) => (r ? `${r.version}:${r.artefacts.map((a) => a.sha256).join(',')}` : '');
  let sentRelease = '';
  const sendPlan = (ws: WSContext) => {
    const plan = deps.dir.planFor(agentId, now(), deps.heartbeatSec);
    if (!plan) return;
    intervals = new Map(plan.targets.map((t) => [t.id, t.intervalSec]));
    sentRev = plan.rev;
    remember(plan.rev, plan.targets.map((t) => t.id), plan.uplinks.map((u) => u.name));
    const release = deps.release?.();
    sentRelease = releaseKey(release);
    send(ws, release ? { ...plan, release } : plan);
  };
  const plans = book.plans;
  const remember = (rev: string, targets: string[], uplinks: string[]) => {
    const list = (plans.get(agentId) ?? []).filter((p) => p.rev !== rev);
    list.push({ rev, targets: new Set(targets), uplinks: new Set(uplinks) });
    plans.set(agentId, list.slice(-PLANS_KEPT));
  };
  /** a target and uplink this agent was told to measure in one of its recent plans */
  const planned = (r: { target: string; uplink?: string | undefined }) =>
    (plans.get(agentId) ?? []).some((p) => p.targets.has(r.target) && (r.uplink === undefined || p.uplinks.has(r.uplink)));
  const send = (ws: WSContext, m: ServerMessage) => {
    if (ws.readyState === 1) ws.send(JSON.stringify(m));
  };
  /** this agent's fresh rounds of services that failed after a good one: the other sites measuring them confirm now */
  const askOthers = (applied: AppliedRound[]) => {
    const ask = book.probeNow.decide(
      applied.map(({ result: r, verdict }) => {
        const t = deps.dir.targets.get(r.target);
        // live kinds only (apply judged no others); the target says what it is: a link's own targets have their pulses
        const live = t !== undefined;
        return { agent: agentId, target: r.target, uplink: r.uplink ?? '', service: live && !describesLink(t), link: live && describesLink(t), failed: live && verdict === 'fail' };
      }),
      now(),
    );
    if (ask.length === 0) return;
    for (const [other, link] of book.probeable) {
      if (other === agentId) continue;
      const targets = ask.filter((t) => link.planned(t));
      if (targets.length > 0) link.probe(targets);
    }
    log.info({ targets: ask }, 'service failed after a good round: other sites asked to confirm now');
  };
  const fail = (ws: WSContext, code: 'bad_json' | 'bad_frame' | 'not_hello', message: string) => {
    deps.registry.counters.badFrames++;
    info.badFrames++;
    info.lastError = message;
    log.warn({ code }, `bad frame: ${message}`);
    send(ws, { type: 'error', v: PROTOCOL_VERSION, code, message });
    const t = now();
    errors = errors.filter((x) => t - x < 60_000);
    errors.push(t);
    if (errors.length > MAX_ERRORS_PER_MIN) ws.close(CLOSE.tooManyErrors, 'too many bad frames');
  };

  // what the other connections of this server ask of this one: targets of the plan it was sent last
  const probeable = {
    planned: (target: string) => greeted && (plans.get(agentId)?.at(-1)?.targets.has(target) ?? false),
    probe: (targets: string[]) => {
      if (!socket || socket.readyState !== 1) return;
      book.probeFrames++;
      send(socket, { type: 'probe', v: PROTOCOL_VERSION, targets });
    },
  };

  const onBatch = async (ws: WSContext, b: Batch) => {
    if (!deps.dir.agents.has(agentId)) return; // revoked while the batch was in flight: its socket is closing
    // An agent cannot invent targets or uplinks: results for what no recent plan named never reach the live view
    // or the store. They are acked (they can never become valid; kept, they would fill the agent's spool).
    const known = b.results.filter(planned);
    const unplanned = b.results.length - known.length;
    if (unplanned) {
      deps.registry.counters.unplannedResults += unplanned;
      info.rejected += unplanned;
      const first = b.results.find((r) => !planned(r))!;
      const msg = `${unplanned} result(s) not stored: target "${first.target}"${first.uplink ? ` on uplink "${first.uplink}"` : ''} is not in this agent's plan`;
      info.lastError = msg;
      log.warn({ seq: b.seq, unplanned }, msg);
      send(ws, { type: 'error', v: PROTOCOL_VERSION, code: 'bad_frame', message: msg });
    }
    const { fresh, late, rejected } = triage(known, now(), (t) => intervals.get(t));
    if (rejected.length) {
      deps.registry.counters.rejectedTimestamps += rejected.length;
      info.rejected += rejected.length;
      const msg = `${rejected.length} result(s) not stored: ${rejected[0]!.why} (target ${rejected[0]!.result.target}); check the agent's clock`;
      info.lastError = msg;
      log.warn({ seq: b.seq, rejected: rejected.length }, msg);
      send(ws, { type: 'error', v: PROTOCOL_VERSION, code: 'bad_frame', message: msg });
    }
    // Live view first, fresh results only: the operator must not go blind while the store is down, and a
    // replayed backlog is history, not news.
    askOthers(deps.live.apply(agentId, fresh));
    try {
      await deps.writer.write([...fresh.map((r) => toPoint(deps.dir, agentId, r, false)), ...late.map((r) => toPoint(deps.dir, agentId, r, true))]);
      info.batches++;
      info.results += fresh.length + late.length;
      info.backfilled += late.length;
      // Rejected results are acked too: they can never become valid, and keeping them would fill the spool.
      send(ws, { type: 'ack', v: PROTOCOL_VERSION, seq: b.seq, accepted: fresh.length + late.length });
    } catch (e) {
      if (e instanceof WriterBusyError) {
        // not a store failure: the same answer (no ack, resend later), counted as a limit
        book.refused.writerBusy++;
        info.lastError = e.message;
        log.warn({ seq: b.seq, waiting: e.waiting }, 'batch refused: the writer queue is full; no ack, the agent keeps it');
        send(ws, { type: 'error', v: PROTOCOL_VERSION, code: 'store_unavailable', message: e.message, seq: b.seq });
        return;
      }
      deps.registry.counters.storeFailures++;
      const msg = e instanceof StoreUnavailableError ? e.message : `store write failed: ${String(e)}`;
      info.lastError = msg;
      log.error({ seq: b.seq, err: msg }, 'batch not stored; no ack, the agent keeps it');
      send(ws, { type: 'error', v: PROTOCOL_VERSION, code: 'store_unavailable', message: msg, seq: b.seq });
    }
  };

  return {
    onOpen(_evt, ws) {
      if (!deps.registry.get(agentId)) return ws.close(CLOSE.unauthorized, 'agent revoked');
      // checked again: upgrades from one address running side by side all passed the check before the upgrade
      if (addressFull(deps, book, address, agentId)) {
        book.refused.connectionsPerAddress++;
        log.warn({ remote: address }, 'agent refused: too many agent connections from this address');
        return ws.close(CLOSE.tooManyErrors, 'too many agent connections from this address');
      }
      book.open.set(address, (book.open.get(address) ?? 0) + 1);
      counted = true;
      // one connection per agent id: the newer wins (the older is usually a dead link behind a NAT that has not
      // noticed yet); two processes with the same id alternate slowly (4409 makes an agent wait before retrying)
      const old = deps.registry.sockets.get(agentId);
      if (old) {
        book.refused.replaced++;
        old.close(CLOSE.replaced, 'replaced by a newer connection of the same agent');
      }
      book.from.set(agentId, address);
      socket = ws;
      self = {
        close: (code, reason) => ws.close(code, reason),
        // a changed directory: a new plan (new rev) for this agent, sent only once it said hello
        pushPlan: () => {
          if (!greeted || !socket) return;
          const plan = deps.dir.planFor(agentId, 0, deps.heartbeatSec);
          if (plan && (plan.rev !== sentRev || releaseKey(deps.release?.()) !== sentRelease)) sendPlan(socket);
        },
      };
      deps.registry.sockets.set(agentId, self);
      book.probeable.set(agentId, probeable);
      info.connected = true;
      info.connectedAt = now();
      info.remote = remoteOf(c);
      deps.live.touchAgent(agentId);
      log.info({ remote: info.remote }, 'agent connected');
    },
    onMessage(evt, ws) {
      if (typeof evt.data !== 'string') return fail(ws, 'bad_frame', 'binary frames are not part of the protocol');
      let json: unknown;
      try {
        json = JSON.parse(evt.data);
      } catch {
        return fail(ws, 'bad_json', 'frame is not valid JSON');
      }
      const parsed = agentMessageSchema.safeParse(json);
      if (!parsed.success) return fail(ws, 'bad_frame', formatIssues(parsed.error.issues));
      const m = parsed.data;
      if (!greeted && m.type !== 'hello') return fail(ws, 'not_hello', `first frame must be hello, got ${m.type}`);
      deps.live.touchAgent(agentId);
      switch (m.type) {
        case 'hello': {
          if (m.agentId !== agentId) {
            fail(ws, 'bad_frame', `hello.agentId "${m.agentId}" does not match X-Agent-Id "${agentId}"`);
            return ws.close(CLOSE.badHello, 'agent id mismatch');
          }
          greeted = true;
          info.version = m.version;
          info.runsAs = m.platform ?? null;
          info.clockOffsetMs = now() - m.clock;
          sendPlan(ws);
          return;
        }
        case 'heartbeat': {
          info.pending = m.pending;
          info.dropped = m.dropped;
          info.uptimeSec = m.uptimeSec;
          info.spoolBytes = m.spoolBytes ?? null;
          info.oldestPendingTs = m.oldestPendingTs ?? null;
          // Prefer the agent's NTP-style estimate (one-way delay removed); else the rough one-way figure.
          info.clockOffsetMs = m.offsetMs ?? now() - m.clock;
          info.linkRttMs = m.rttMs ?? null;
          info.clockSkewed = Math.abs(info.clockOffsetMs) > deps.clockToleranceMs;
          send(ws, { type: 'pong', v: PROTOCOL_VERSION, clock: m.clock, serverTime: now() });
          if (now() - lastAgentPoint >= AGENT_POINT_EVERY_MS) {
            lastAgentPoint = now();
            deps.writer
              .write([agentPoint(deps.dir, agentId, m, info.clockOffsetMs, now())])
              .catch(() => {}); // health points are best effort; the next heartbeat writes again
          }
          return;
        }
        case 'batch':
          // The agent sends a few at once; one that floods is told to resend later (no ack: its spool keeps them).
          if (inFlight >= maxInFlight) {
            book.refused.batchesInFlight++;
            info.lastError = `more than ${maxInFlight} batches in flight`;
            send(ws, { type: 'error', v: PROTOCOL_VERSION, code: 'store_unavailable', seq: m.seq, message: `server busy: ${maxInFlight} batches of this agent already being written; resend later` });
            return;
          }
          inFlight++;
          void onBatch(ws, m).finally(() => inFlight--);
          return;
        case 'update': {
          info.update = { state: m.state, from: m.from, to: m.to, error: m.error ?? null, at: now() };
          if (m.state === 'failed') log.warn({ from: m.from, to: m.to, err: m.error }, 'agent self-update failed; it keeps running its version');
          else log.info({ from: m.from, to: m.to, state: m.state }, 'agent self-update');
          return;
        }
      }
    },
    onClose(evt) {
      if (counted) {
        counted = false;
        const n = (book.open.get(address) ?? 1) - 1;
        if (n > 0) book.open.set(address, n);
        else book.open.delete(address);
      }
      if (deps.registry.sockets.get(agentId) !== self) return; // an older, replaced connection
      if (book.from.get(agentId) === address) book.from.delete(agentId);
      deps.registry.sockets.delete(agentId);
      if (book.probeable.get(agentId) === probeable) book.probeable.delete(agentId);
      info.connected = false;
      log.info({ code: evt.code }, 'agent disconnected');
    },
    onError(evt) {
      const err = evt as unknown as { message?: string; code?: string; error?: { code?: string; message?: string } };
      const code = err.code ?? err.error?.code;
      if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        // ws closes the link with 1009; the agent must split its batches
        deps.registry.counters.oversized++;
        info.lastError = 'frame larger than server.maxFrameBytes';
      }
      log.warn({ err: err.message ?? err.error?.message ?? String(evt), code }, 'agent socket error');
    },
  };
}

function remoteOf(c: Context): string | null {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}
