// Turns incident events into messages: routing, one opening / reminders / one recovery per destination,
// dedupe, per-destination rate limit with digests, bounded retries with backoff, and an in-memory record
// of every attempt for the status API. dispatch() only queues: channels are slow and may hang, and
// ingest must never wait on them.
//
// A destination is one channel + recipient(s) + language: two routes naming the same one share it, so
// an incident matched by both is sent there once. Per destination:
//   - messages leave in order, one request at a time (an opening never overtakes its recovery);
//   - at most `rateLimitPerMinute` attempts in any 60 s window. While slots remain, messages go one by
//     one; when only the last slot of the window is left and more than one message waits, that slot
//     carries ONE digest of everything waiting (each message's summary line, all events in the webhook
//     JSON). Later arrivals wait for the window. Nothing is dropped for the limit.
//   - a failed attempt is retried after base*3^(n-1) s (capped; a Retry-After/retry_after from the API
//     wins if longer), up to `retry.attempts` attempts. After the last, or on a permanent error (bad
//     token, 4xx, SMTP 5xx), the message is given up: counted as failed, logged, shown in status().
//     Messages queued behind it meanwhile are merged by the digest rule when they finally go.
// Maintenance: an incident with `maintenance: true` gets no opening and no reminders. If it was already
// announced when a window started, its recovery is still sent so the thread does not stay open.
// Reminders belong to the dispatcher: every `reminderMinutes` while open, unacknowledged and not in
// maintenance, at most `maxReminders`, to the destinations that got the opening. Engine events of kind
// 'reminder' are ignored (counted) so an engine that emits them cannot double the reminders.
import type { Logger } from 'pino';
import type { NotificationsConfig, NotifyChannelConfig } from '../../config/schema.ts';
import type { Incident, IncidentEvent, IncidentEventKind } from '../incidents/types.ts';
import { renderDigest, renderMessage } from './templates.ts';
import { NotifierError, type Lang, type MessageKind, type NameLookup, type Notifier, type Rendered } from './types.ts';
import { describe } from './util.ts';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type Log = Pick<Logger, 'info' | 'warn' | 'error'>;
const silent: Log = { info: () => {}, warn: () => {}, error: () => {} } as unknown as Log;

export interface DispatcherOptions {
  config: NotificationsConfig;
  /** by channel id */
  notifiers: Map<string, Notifier>;
  names: NameLookup;
  clock?: Clock;
  log?: Log;
  /** delivery attempts kept for status().recent */
  historySize?: number;
  /** how long after its recovery an incident's dedupe keys are kept (engine re-emits within it are ignored) */
  retainMs?: number;
}

export interface DeliveryAttempt {
  at: number;
  channel: string;
  recipients: string[];
  deliveryId: string;
  attempt: number;
  ok: boolean;
  error: string | null;
  /** attempt given up for good (last attempt or permanent error) */
  gaveUp: boolean;
  durationMs: number;
  digest: boolean;
  messages: { incident: string; message: MessageKind }[];
}

export interface DestinationStatus {
  channel: string;
  kind: NotifyChannelConfig['kind'];
  recipients: string[];
  lang: Lang;
  /** messages waiting, plus the ones of the message in flight or awaiting retry */
  queued: number;
  inFlight: boolean;
  /** next timed action: a retry or the end of a rate-limit wait */
  nextAttemptAt: number | null;
  attemptsLastMinute: number;
  sent: number;
  failed: number;
  digests: number;
  /** times a message had to wait for the rate limit */
  deferred: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
}

export interface NotificationStatus {
  enabled: boolean;
  openIncidents: number;
  queued: number;
  counters: { events: number; deduplicated: number; skippedMaintenance: number; ignored: number };
  channels: {
    id: string;
    kind: NotifyChannelConfig['kind'];
    queued: number;
    sent: number;
    failed: number;
    lastSuccessAt: number | null;
    lastFailureAt: number | null;
    lastError: string | null;
  }[];
  destinations: DestinationStatus[];
  /** newest first */
  recent: DeliveryAttempt[];
}

export interface Dispatcher {
  /** queue whatever the event calls for and return at once; never throws */
  dispatch(event: IncidentEvent): void;
  /** after a restart: incidents already open were announced before, so mark them sent (no new opening)
   *  and resume their reminders */
  prime(open: Incident[]): void;
  status(): NotificationStatus;
  /** resolves once nothing is being sent and nothing can be sent without the clock moving (tests) */
  settled(): Promise<void>;
  close(): Promise<void>;
}

interface Item {
  key: string;
  rendered: Rendered;
}
interface Batch {
  id: string;
  items: Item[];
  msg: Rendered;
  attempt: number;
}
interface Dest {
  key: string;
  channel: NotifyChannelConfig;
  notifier: Notifier;
  recipients: string[];
  lang: Lang;
  limit: number;
  queue: Item[];
  batch: Batch | null;
  sending: boolean;
  timer: unknown;
  timerAt: number | null;
  /** attempt times within the last minute */
  window: number[];
  s: Pick<DestinationStatus, 'sent' | 'failed' | 'digests' | 'deferred' | 'lastSuccessAt' | 'lastFailureAt' | 'lastError'>;
}
interface Track {
  incident: Incident;
  /** destination keys that got (or are getting) the opening */
  opened: Set<string>;
  keys: Set<string>;
  reminders: number;
  reminderTimer: unknown;
  resolvedAtClock: number | null;
  maintenanceCounted: boolean;
}

const WINDOW_MS = 60_000;
const PRUNE_EVERY_MS = 60_000;

/** Does a route's match take this incident? Every given field must match; a list matches on any entry. */
export function routeMatches(m: NotificationsConfig['routes'][number]['match'], inc: Incident): boolean {
  if (m.causes && !m.causes.includes(inc.cause)) return false;
  if (m.severity && !m.severity.includes(inc.severity)) return false;
  if (m.carriers && !(inc.carrier !== null && m.carriers.includes(inc.carrier))) return false;
  if (m.communes && !inc.communes.some((c) => m.communes!.includes(c))) return false;
  if (m.targets && !inc.targets.some((t) => m.targets!.includes(t))) return false;
  return true;
}

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const { config, notifiers, names } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silent;
  const historySize = opts.historySize ?? 200;
  const retainMs = opts.retainMs ?? 24 * 3600_000;
  const channels = new Map(config.channels.map((c) => [c.id, c]));
  const dests = new Map<string, Dest>();
  const tracks = new Map<string, Track>();
  const recent: DeliveryAttempt[] = [];
  const inflight = new Set<Promise<void>>();
  const counters = { events: 0, deduplicated: 0, skippedMaintenance: 0, ignored: 0 };
  const warned = new Set<string>();
  let pending = new Set<Dest>();
  let pumpQueued = false;
  let lastPrune = clock.now();
  let seq = 0;
  let closed = false;

  function dest(channel: NotifyChannelConfig, notifier: Notifier, recipients: string[], lang: Lang): Dest {
    const key = `${channel.id}|${lang}|${recipients.join(',')}`;
    let d = dests.get(key);
    if (!d) {
      d = {
        key,
        channel,
        notifier,
        recipients,
        lang,
        limit: channel.rateLimitPerMinute ?? config.rateLimitPerMinute,
        queue: [],
        batch: null,
        sending: false,
        timer: null,
        timerAt: null,
        window: [],
        s: { sent: 0, failed: 0, digests: 0, deferred: 0, lastSuccessAt: null, lastFailureAt: null, lastError: null },
      };
      dests.set(key, d);
    }
    return d;
  }

  function destinationsFor(inc: Incident): Dest[] {
    const out = new Map<string, Dest>();
    for (const r of config.routes) {
      if (!routeMatches(r.match, inc)) continue;
      for (const e of r.channels) {
        const entry = typeof e === 'string' ? { channel: e, to: undefined, language: undefined } : e;
        const ch = channels.get(entry.channel);
        const n = notifiers.get(entry.channel);
        if (!ch || !n) {
          if (!warned.has(entry.channel)) log.warn({ channel: entry.channel }, 'notification route names a channel that is not built');
          warned.add(entry.channel);
          continue;
        }
        const to = entry.to === undefined ? n.defaultRecipients : Array.isArray(entry.to) ? entry.to : [String(entry.to)];
        const lang = entry.language ?? ch.language;
        const groups = n.recipientMode === 'none' ? [[]] : n.recipientMode === 'one' ? to.map((r) => [r]) : [[...new Set(to)].sort()];
        for (const g of groups) {
          const d = dest(ch, n, g, lang);
          out.set(d.key, d);
        }
      }
    }
    return [...out.values()];
  }

  function enqueue(d: Dest, tr: Track, message: MessageKind, at: number, reminder?: number): void {
    const key = `${tr.incident.id}|${message}${reminder ? `#${reminder}` : ''}|${d.key}`;
    if (tr.keys.has(key)) {
      counters.deduplicated++;
      return;
    }
    tr.keys.add(key);
    const rendered = renderMessage(message, tr.incident, at, {
      names,
      lang: d.lang,
      uiBaseUrl: config.uiBaseUrl,
      now: clock.now(),
      ...(reminder ? { reminder } : {}),
    });
    d.queue.push({ key, rendered });
    schedule(d);
  }

  // Runs after the caller's synchronous code: a burst of events in one tick is queued before anything
  // is sent, so the digest rule sees the whole burst.
  function schedule(d: Dest): void {
    pending.add(d);
    if (pumpQueued) return;
    pumpQueued = true;
    queueMicrotask(() => {
      pumpQueued = false;
      const ds = pending;
      pending = new Set();
      for (const x of ds) run(x);
    });
  }

  function arm(d: Dest, ms: number): void {
    const now = clock.now();
    d.timerAt = now + ms;
    d.timer = clock.setTimeout(() => {
      d.timer = null;
      d.timerAt = null;
      run(d);
    }, ms);
  }

  function run(d: Dest): void {
    if (closed || d.sending || d.timer !== null) return;
    if (!d.batch && !d.queue.length) return;
    const now = clock.now();
    while (d.window.length && d.window[0]! <= now - WINDOW_MS) d.window.shift();
    const slots = d.limit - d.window.length;
    if (slots <= 0) {
      d.s.deferred++;
      arm(d, d.window[0]! + WINDOW_MS - now);
      return;
    }
    if (!d.batch) {
      const items = slots === 1 && d.queue.length > 1 ? d.queue.splice(0) : d.queue.splice(0, 1);
      const msg = items.length > 1 ? renderDigest(items.map((i) => i.rendered), d.lang) : items[0]!.rendered;
      if (msg.digest) d.s.digests++;
      d.batch = { id: `${now.toString(36)}-${(++seq).toString(36)}-${d.channel.id}`, items, msg, attempt: 0 };
    }
    attempt(d, d.batch);
  }

  function attempt(d: Dest, b: Batch): void {
    b.attempt++;
    d.sending = true;
    const at = clock.now();
    d.window.push(at);
    const t0 = performance.now();
    const record = (ok: boolean, error: string | null, gaveUp: boolean) => {
      recent.unshift({
        at,
        channel: d.channel.id,
        recipients: d.recipients,
        deliveryId: b.id,
        attempt: b.attempt,
        ok,
        error,
        gaveUp,
        durationMs: Math.round(performance.now() - t0),
        digest: b.msg.digest,
        messages: b.msg.events.map((e) => ({ incident: e.incident.id, message: e.message })),
      });
      if (recent.length > historySize) recent.length = historySize;
    };
    let p: Promise<void>;
    try {
      p = d.notifier.send(b.msg, {
        recipients: d.recipients,
        deliveryId: b.id,
        attempt: b.attempt,
        signal: AbortSignal.timeout(d.channel.timeoutMs),
        now: at,
      });
    } catch (e) {
      p = Promise.reject(e);
    }
    const done = p.then(
      () => {
        record(true, null, false);
        d.s.sent += b.items.length;
        d.s.lastSuccessAt = clock.now();
        log.info({ channel: d.channel.id, recipients: d.recipients, deliveryId: b.id, attempt: b.attempt, messages: b.msg.events.length }, 'notification sent');
        d.batch = null;
      },
      (e: unknown) => {
        const msg = describe(e);
        const permanent = e instanceof NotifierError && e.permanent;
        const gaveUp = permanent || b.attempt >= config.retry.attempts;
        record(false, msg, gaveUp);
        d.s.lastFailureAt = clock.now();
        d.s.lastError = msg;
        if (gaveUp) {
          d.s.failed += b.items.length;
          log.error({ channel: d.channel.id, recipients: d.recipients, deliveryId: b.id, attempt: b.attempt, err: msg }, 'notification given up');
          d.batch = null;
        } else {
          const backoff = Math.min(config.retry.maxDelaySec, config.retry.baseDelaySec * 3 ** (b.attempt - 1)) * 1000;
          const wait = Math.max(backoff, e instanceof NotifierError ? (e.retryAfterMs ?? 0) : 0);
          log.warn({ channel: d.channel.id, deliveryId: b.id, attempt: b.attempt, retryInMs: wait, err: msg }, 'notification failed, will retry');
          if (!closed) arm(d, wait);
        }
      },
    );
    const tracked = done.finally(() => {
      d.sending = false;
      inflight.delete(tracked);
      run(d);
    });
    inflight.add(tracked);
  }

  function track(inc: Incident): Track {
    let tr = tracks.get(inc.id);
    if (!tr) {
      tr = { incident: inc, opened: new Set(), keys: new Set(), reminders: 0, reminderTimer: null, resolvedAtClock: null, maintenanceCounted: false };
      tracks.set(inc.id, tr);
    }
    return tr;
  }

  function stopReminders(tr: Track): void {
    if (tr.reminderTimer !== null) clock.clearTimeout(tr.reminderTimer);
    tr.reminderTimer = null;
  }

  function remindable(tr: Track): boolean {
    const i = tr.incident;
    return tr.resolvedAtClock === null && i.resolvedAt === null && i.acknowledgedAt === null && !i.maintenance;
  }

  function ensureReminders(tr: Track): void {
    if (closed || config.reminderMinutes <= 0 || tr.reminderTimer !== null || !tr.opened.size || !remindable(tr)) return;
    if (config.maxReminders > 0 && tr.reminders >= config.maxReminders) return;
    tr.reminderTimer = clock.setTimeout(() => {
      tr.reminderTimer = null;
      if (!remindable(tr)) return;
      tr.reminders++;
      const now = clock.now();
      for (const k of tr.opened) {
        const d = dests.get(k);
        if (d) enqueue(d, tr, 'reminder', now, tr.reminders);
      }
      ensureReminders(tr);
    }, config.reminderMinutes * 60_000);
  }

  function announce(tr: Track, at: number): void {
    const inc = tr.incident;
    if (inc.maintenance) {
      if (!tr.maintenanceCounted && !tr.opened.size) counters.skippedMaintenance++;
      tr.maintenanceCounted = true;
      stopReminders(tr);
      return;
    }
    for (const d of destinationsFor(inc)) {
      if (tr.opened.has(d.key)) continue;
      tr.opened.add(d.key);
      enqueue(d, tr, 'opened', at);
    }
    if (inc.acknowledgedAt !== null) stopReminders(tr);
    else ensureReminders(tr);
  }

  function resolve(tr: Track, at: number): void {
    stopReminders(tr);
    if (tr.resolvedAtClock === null) tr.resolvedAtClock = clock.now();
    for (const k of tr.opened) {
      const d = dests.get(k);
      if (d) enqueue(d, tr, 'resolved', tr.incident.resolvedAt ?? at);
    }
  }

  const handlers = {
    opened: (tr, ev) => (ev.incident.resolvedAt !== null ? resolve(tr, ev.at) : announce(tr, ev.at)),
    // more communes may now match more routes: those destinations get their opening
    updated: (tr, ev) => (ev.incident.resolvedAt !== null ? resolve(tr, ev.at) : announce(tr, ev.at)),
    resolved: (tr, ev) => resolve(tr, ev.at),
    acknowledged: (tr) => stopReminders(tr),
    noted: () => {},
    reminder: () => {
      counters.ignored++;
    },
  } satisfies Record<IncidentEventKind, (tr: Track, ev: IncidentEvent) => void>;

  function prune(now: number): void {
    if (now - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now;
    for (const [id, tr] of tracks) if (tr.resolvedAtClock !== null && now - tr.resolvedAtClock > retainMs) tracks.delete(id);
  }

  return {
    dispatch(ev) {
      try {
        counters.events++;
        if (!config.enabled || closed) return;
        const now = clock.now();
        prune(now);
        const tr = track(ev.incident);
        // An event about an incident we already saw resolve (a late or repeated engine emit) changes nothing.
        if (tr.resolvedAtClock !== null && ev.kind !== 'resolved') return;
        tr.incident = ev.incident;
        if (ev.incident.maintenance) stopReminders(tr);
        handlers[ev.kind](tr, ev);
      } catch (e) {
        log.error({ err: describe(e), incident: ev?.incident?.id, kind: ev?.kind }, 'notification dispatch failed');
      }
    },

    prime(open) {
      for (const inc of open) {
        if (inc.resolvedAt !== null || inc.maintenance) continue;
        const tr = track(inc);
        tr.incident = inc;
        for (const d of destinationsFor(inc)) {
          tr.opened.add(d.key);
          tr.keys.add(`${inc.id}|opened|${d.key}`);
        }
        if (inc.acknowledgedAt === null) ensureReminders(tr);
      }
    },

    status() {
      const destinations: DestinationStatus[] = [...dests.values()].map((d) => {
        const now = clock.now();
        return {
          channel: d.channel.id,
          kind: d.channel.kind,
          recipients: d.recipients,
          lang: d.lang,
          queued: d.queue.length + (d.batch?.items.length ?? 0),
          inFlight: d.sending,
          nextAttemptAt: d.timerAt,
          attemptsLastMinute: d.window.filter((t) => t > now - WINDOW_MS).length,
          ...d.s,
        };
      });
      const chans = config.channels.map((c) => {
        const mine = destinations.filter((d) => d.channel === c.id);
        const latest = (f: (d: DestinationStatus) => number | null) => mine.reduce<number | null>((m, d) => (f(d) !== null && (m === null || f(d)! > m) ? f(d) : m), null);
        const lastFailureAt = latest((d) => d.lastFailureAt);
        return {
          id: c.id,
          kind: c.kind,
          queued: mine.reduce((n, d) => n + d.queued, 0),
          sent: mine.reduce((n, d) => n + d.sent, 0),
          failed: mine.reduce((n, d) => n + d.failed, 0),
          lastSuccessAt: latest((d) => d.lastSuccessAt),
          lastFailureAt,
          lastError: mine.find((d) => d.lastFailureAt === lastFailureAt && lastFailureAt !== null)?.lastError ?? null,
        };
      });
      return {
        enabled: config.enabled,
        openIncidents: [...tracks.values()].filter((t) => t.resolvedAtClock === null && t.incident.resolvedAt === null).length,
        queued: destinations.reduce((n, d) => n + d.queued, 0),
        counters: { ...counters },
        channels: chans,
        destinations,
        recent: recent.slice(),
      };
    },

    async settled() {
      for (let i = 0; i < 10_000; i++) {
        await new Promise<void>((r) => setImmediate(r));
        if (!inflight.size && !pumpQueued) return;
        await Promise.allSettled([...inflight]);
      }
    },

    async close() {
      closed = true;
      for (const d of dests.values()) if (d.timer !== null) clock.clearTimeout(d.timer);
      for (const tr of tracks.values()) stopReminders(tr);
      await Promise.allSettled([...inflight]);
      await Promise.allSettled([...notifiers.values()].map((n) => n.close?.()));
    },
  };
}
