// Channel registry and the composition helper the server calls once at start:
//   const notify = createNotifications({ config: cfg, directory: dir, env: process.env, log });
//   engine.on('event', (e) => notify.dispatch(e));   // returns at once
//   notify.prime(await store.openIncidents());        // after a restart: no second opening
//   GET /api/notifications -> notify.status()
import type { Config, NotificationsConfig } from '../../config/schema.ts';
import type { Directory } from '../directory.ts';
import { createDispatcher, type Clock, type Dispatcher, type Log } from './dispatcher.ts';
import { email } from './email.ts';
import { telegram } from './telegram.ts';
import type { ChannelConfig, ChannelKind, NameLookup, Notifier, NotifierDeps, NotifierFactory } from './types.ts';
import { ConfigError } from '../../config/errors.ts';
import { webhook } from './webhook.ts';
import { zalo } from './zalo.ts';

export const notifierFactories = {
  webhook,
  email,
  telegram,
  zalo,
} satisfies { [K in ChannelKind]: NotifierFactory<K> };

export function buildNotifier(cfg: ChannelConfig, deps: NotifierDeps): Notifier {
  // The registry is keyed by kind, so the factory always matches its config; TS cannot follow that link.
  return (notifierFactories[cfg.kind] as NotifierFactory<ChannelKind>)(cfg, deps);
}

/** Build every channel; all problems (missing env secrets) are reported together. */
export function buildNotifiers(cfg: NotificationsConfig, deps: NotifierDeps): Map<string, Notifier> {
  const out = new Map<string, Notifier>();
  const problems: string[] = [];
  for (const c of cfg.channels) {
    try {
      out.set(c.id, buildNotifier(c, deps));
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems);
      else problems.push(`notifications.channels[${c.id}]: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (problems.length) throw new ConfigError('notifications', problems);
  return out;
}

/** Commune full names ("Xã Bình Sơn"), carrier and target names from the config and province file. */
export function namesFromDirectory(dir: Directory): NameLookup {
  return {
    commune: (code) => dir.communes.get(code)?.fullName ?? code,
    carrier: (id) => dir.carriers.get(id)?.name ?? id,
    target: (id) => dir.targets.get(id)?.name ?? id,
  };
}

/** Route matches may only name carriers, targets and communes that exist (config/schema.ts cannot see them). */
export function checkRouteRefs(cfg: NotificationsConfig, dir: Directory): string[] {
  const problems: string[] = [];
  cfg.routes.forEach((r, i) => {
    const at = `notifications.routes[${i}].match`;
    r.match.carriers?.forEach((c, j) => dir.carriers.has(c) || problems.push(`${at}.carriers[${j}]: unknown carrier "${c}"`));
    r.match.targets?.forEach((t, j) => dir.targets.has(t) || problems.push(`${at}.targets[${j}]: unknown target "${t}"`));
    r.match.communes?.forEach((c, j) => dir.communes.has(c) || problems.push(`${at}.communes[${j}]: "${c}" is not a commune of the province`));
  });
  return problems;
}

export interface CreateNotificationsOptions {
  config: Config;
  directory: Directory;
  env?: NodeJS.ProcessEnv;
  log?: Log;
  clock?: Clock;
}

/** Throws ConfigError (every problem, path-qualified) when a secret is missing or a route names an unknown id. */
export function createNotifications(o: CreateNotificationsOptions): Dispatcher {
  const n = o.config.notifications;
  const refs = checkRouteRefs(n, o.directory);
  if (refs.length) throw new ConfigError('notifications', refs);
  const notifiers = buildNotifiers(n, { env: o.env ?? process.env });
  return createDispatcher({
    config: n,
    notifiers,
    names: namesFromDirectory(o.directory),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
}

export { createDispatcher, systemClock, routeMatches } from './dispatcher.ts';
export type { Clock, Dispatcher, NotificationStatus, DeliveryAttempt } from './dispatcher.ts';
/** the config error type under its older name (tests) */
export { ConfigError as NotifyConfigError } from '../../config/errors.ts';
