// Turns incident events into messages and sends them without ever blocking ingest: dispatch() only
// queues, because channels are slow and may hang. routing.ts decides what goes where (routes, dedupe,
// reminders, maintenance); queue.ts delivers per destination (order, rate limit with digests, retries)
// and keeps the record of attempts that status() shows.
import type { NotificationsConfig, NotifyChannelConfig } from '../../config/schema.ts';
import type { Incident, IncidentEvent } from '../incidents/types.ts';
import { Deliveries, silentLog, systemClock, type Clock, type DeliveryAttempt, type DestinationStatus, type Log } from './queue.ts';
import { Router } from './routing.ts';
import type { NameLookup, Notifier } from './types.ts';
import { describe } from './util.ts';

export { routeMatches } from './routing.ts';
export { systemClock, type Clock, type DeliveryAttempt, type DestinationStatus, type Log } from './queue.ts';

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

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const { config, notifiers } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLog;
  const deliveries = new Deliveries({
    clock,
    log,
    retry: config.retry,
    rateLimitPerMinute: config.rateLimitPerMinute,
    historySize: opts.historySize ?? 200,
  });
  const router = new Router({
    config,
    notifiers,
    names: opts.names,
    deliveries,
    clock,
    log,
    retainMs: opts.retainMs ?? 24 * 3600_000,
  });

  return {
    dispatch(ev) {
      try {
        router.dispatch(ev);
      } catch (e) {
        log.error({ err: describe(e), incident: ev?.incident?.id, kind: ev?.kind }, 'notification dispatch failed');
      }
    },

    prime: (open) => router.prime(open),

    status() {
      const destinations = deliveries.all().map((d) => d.status());
      return {
        enabled: config.enabled,
        openIncidents: router.openIncidents(),
        queued: destinations.reduce((n, d) => n + d.queued, 0),
        counters: { ...router.counters },
        channels: config.channels.map((c) => channelStatus(c, destinations)),
        destinations,
        recent: deliveries.recent(),
      };
    },

    settled: () => deliveries.settled(),

    async close() {
      const sending = deliveries.close();
      router.close();
      await sending;
      await Promise.allSettled([...notifiers.values()].map((n) => n.close?.()));
    },
  };
}

/** A channel's totals over its destinations; its last error is the one of its latest failure. */
function channelStatus(c: NotifyChannelConfig, destinations: DestinationStatus[]): NotificationStatus['channels'][number] {
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
}
