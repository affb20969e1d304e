// Which incident events become which messages, and to whom: routes pick the destinations, each
// incident gets one opening, its reminders and one recovery per destination, and repeats are deduped.
// A destination is one channel + recipient(s) + language: two routes naming the same one share it, so
// an incident matched by both is sent there once.
// Maintenance: an incident with `maintenance: true` gets no opening and no reminders. If it was already
// announced when a window started, its recovery is still sent so the thread does not stay open.
// Reminders belong here, not to the engine: every `reminderMinutes` while open, unacknowledged and not
// in maintenance, at most `maxReminders`, to the destinations that got the opening. Engine events of
// kind 'reminder' are ignored (counted) so an engine that emits them cannot double the reminders.
import type { NotificationsConfig } from '../../config/schema.ts';
import type { Incident, IncidentEvent, IncidentEventKind } from '../incidents/types.ts';
import type { Deliveries, DestinationQueue, Clock, Log } from './queue.ts';
import { renderMessage } from './templates.ts';
import type { MessageKind, NameLookup, Notifier } from './types.ts';

/** Does a route's match take this incident? Every given field must match; a list matches on any entry. */
export function routeMatches(m: NotificationsConfig['routes'][number]['match'], inc: Incident): boolean {
  if (m.causes && !m.causes.includes(inc.cause)) return false;
  if (m.severity && !m.severity.includes(inc.severity)) return false;
  if (m.carriers && !(inc.carrier !== null && m.carriers.includes(inc.carrier))) return false;
  if (m.communes && !inc.communes.some((c) => m.communes!.includes(c))) return false;
  if (m.targets && !inc.targets.some((t) => m.targets!.includes(t))) return false;
  return true;
}

export interface RouterOptions {
  config: NotificationsConfig;
  /** by channel id */
  notifiers: Map<string, Notifier>;
  names: NameLookup;
  deliveries: Deliveries;
  clock: Clock;
  log: Log;
  /** how long after its recovery an incident's dedupe keys are kept */
  retainMs: number;
}

export interface RouterCounters {
  events: number;
  deduplicated: number;
  skippedMaintenance: number;
  ignored: number;
}

/** What the router remembers of one incident. */
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

const PRUNE_EVERY_MS = 60_000;

export class Router {
  readonly counters: RouterCounters = { events: 0, deduplicated: 0, skippedMaintenance: 0, ignored: 0 };
  private closed = false;
  private readonly tracks = new Map<string, Track>();
  private readonly channels: Map<string, NotificationsConfig['channels'][number]>;
  private readonly warned = new Set<string>();
  private lastPrune: number;

  private readonly handlers = {
    opened: (tr, ev) => (ev.incident.resolvedAt !== null ? this.resolve(tr, ev.at) : this.announce(tr, ev.at)),
    // more communes may now match more routes: those destinations get their opening
    updated: (tr, ev) => (ev.incident.resolvedAt !== null ? this.resolve(tr, ev.at) : this.announce(tr, ev.at)),
    resolved: (tr, ev) => this.resolve(tr, ev.at),
    acknowledged: (tr) => this.stopReminders(tr),
    noted: () => {},
    reminder: () => {
      this.counters.ignored++;
    },
  } satisfies Record<IncidentEventKind, (tr: Track, ev: IncidentEvent) => void>;

  constructor(private readonly o: RouterOptions) {
    this.channels = new Map(o.config.channels.map((c) => [c.id, c]));
    this.lastPrune = o.clock.now();
  }

  dispatch(ev: IncidentEvent): void {
    this.counters.events++;
    if (!this.o.config.enabled || this.closed) return;
    this.prune(this.o.clock.now());
    const tr = this.track(ev.incident);
    // An event about an incident we already saw resolve (a late or repeated engine emit) changes nothing.
    if (tr.resolvedAtClock !== null && ev.kind !== 'resolved') return;
    tr.incident = ev.incident;
    if (ev.incident.maintenance) this.stopReminders(tr);
    this.handlers[ev.kind](tr, ev);
  }

  /** Incidents already open were announced before a restart: mark them sent and resume their reminders. */
  prime(open: Incident[]): void {
    for (const inc of open) {
      if (inc.resolvedAt !== null || inc.maintenance) continue;
      const tr = this.track(inc);
      tr.incident = inc;
      for (const d of this.destinationsFor(inc)) {
        tr.opened.add(d.key);
        tr.keys.add(`${inc.id}|opened|${d.key}`);
      }
      if (inc.acknowledgedAt === null) this.ensureReminders(tr);
    }
  }

  openIncidents(): number {
    return [...this.tracks.values()].filter((t) => t.resolvedAtClock === null && t.incident.resolvedAt === null).length;
  }

  close(): void {
    this.closed = true;
    for (const tr of this.tracks.values()) this.stopReminders(tr);
  }

  private destinationsFor(inc: Incident): DestinationQueue[] {
    const out = new Map<string, DestinationQueue>();
    for (const r of this.o.config.routes) {
      if (!routeMatches(r.match, inc)) continue;
      for (const e of r.channels) {
        const entry = typeof e === 'string' ? { channel: e, to: undefined, language: undefined } : e;
        const ch = this.channels.get(entry.channel);
        const n = this.o.notifiers.get(entry.channel);
        if (!ch || !n) {
          if (!this.warned.has(entry.channel)) this.o.log.warn({ channel: entry.channel }, 'notification route names a channel that is not built');
          this.warned.add(entry.channel);
          continue;
        }
        const to = entry.to === undefined ? n.defaultRecipients : Array.isArray(entry.to) ? entry.to : [String(entry.to)];
        const lang = entry.language ?? ch.language;
        const groups = n.recipientMode === 'none' ? [[]] : n.recipientMode === 'one' ? to.map((r) => [r]) : [[...new Set(to)].sort()];
        for (const g of groups) {
          const d = this.o.deliveries.destination(ch, n, g, lang);
          out.set(d.key, d);
        }
      }
    }
    return [...out.values()];
  }

  private enqueue(d: DestinationQueue, tr: Track, message: MessageKind, at: number, reminder?: number): void {
    const key = `${tr.incident.id}|${message}${reminder ? `#${reminder}` : ''}|${d.key}`;
    if (tr.keys.has(key)) {
      this.counters.deduplicated++;
      return;
    }
    tr.keys.add(key);
    const rendered = renderMessage(message, tr.incident, at, {
      names: this.o.names,
      lang: d.lang,
      uiBaseUrl: this.o.config.uiBaseUrl,
      now: this.o.clock.now(),
      ...(reminder ? { reminder } : {}),
    });
    d.push({ key, rendered });
  }

  private track(inc: Incident): Track {
    let tr = this.tracks.get(inc.id);
    if (!tr) {
      tr = { incident: inc, opened: new Set(), keys: new Set(), reminders: 0, reminderTimer: null, resolvedAtClock: null, maintenanceCounted: false };
      this.tracks.set(inc.id, tr);
    }
    return tr;
  }

  private stopReminders(tr: Track): void {
    if (tr.reminderTimer !== null) this.o.clock.clearTimeout(tr.reminderTimer);
    tr.reminderTimer = null;
  }

  private remindable(tr: Track): boolean {
    const i = tr.incident;
    return tr.resolvedAtClock === null && i.resolvedAt === null && i.acknowledgedAt === null && !i.maintenance;
  }

  private ensureReminders(tr: Track): void {
    const { config, clock } = this.o;
    if (this.closed || config.reminderMinutes <= 0 || tr.reminderTimer !== null || !tr.opened.size || !this.remindable(tr)) return;
    if (config.maxReminders > 0 && tr.reminders >= config.maxReminders) return;
    tr.reminderTimer = clock.setTimeout(() => {
      tr.reminderTimer = null;
      if (!this.remindable(tr)) return;
      tr.reminders++;
      const now = clock.now();
      for (const k of tr.opened) {
        const d = this.o.deliveries.get(k);
        if (d) this.enqueue(d, tr, 'reminder', now, tr.reminders);
      }
      this.ensureReminders(tr);
    }, config.reminderMinutes * 60_000);
  }

  private announce(tr: Track, at: number): void {
    const inc = tr.incident;
    if (inc.maintenance) {
      if (!tr.maintenanceCounted && !tr.opened.size) this.counters.skippedMaintenance++;
      tr.maintenanceCounted = true;
      this.stopReminders(tr);
      return;
    }
    for (const d of this.destinationsFor(inc)) {
      if (tr.opened.has(d.key)) continue;
      tr.opened.add(d.key);
      this.enqueue(d, tr, 'opened', at);
    }
    if (inc.acknowledgedAt !== null) this.stopReminders(tr);
    else this.ensureReminders(tr);
  }

  private resolve(tr: Track, at: number): void {
    this.stopReminders(tr);
    if (tr.resolvedAtClock === null) tr.resolvedAtClock = this.o.clock.now();
    for (const k of tr.opened) {
      const d = this.o.deliveries.get(k);
      if (d) this.enqueue(d, tr, 'resolved', tr.incident.resolvedAt ?? at);
    }
  }

  private prune(now: number): void {
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    for (const [id, tr] of this.tracks) if (tr.resolvedAtClock !== null && now - tr.resolvedAtClock > this.o.retainMs) this.tracks.delete(id);
  }
}
