// The public status page's data (GET /api/public/status, no login): the services citizens and one-stop-shop officers
// ask about (portals, iOffice, the CAs' signing services), their state now, today's and 90 days' availability, open
// service incidents in plain Vietnamese and announced maintenance. Nothing about communes' links or carriers. One
// answer is computed at most every CACHE_SEC whatever the traffic, and the 90 days' history at most every HISTORY_SEC.
import { Hono } from 'hono';
import type { ApiResponseIn } from '../../config/api.ts';
import { VN_OFFSET_MS, type Target } from '../../config/schema.ts';
import { STATUS_RANK, type Status } from '../../config/vocabulary.ts';
import { causeText, type NameLookup } from '../../config/words.ts';
import type { Directory } from '../directory.ts';
import type { IncidentEngine } from '../incidents/engine.ts';
import { activeSpan, type MaintenanceBook } from '../incidents/maintenance.ts';
import type { Kind } from '../kinds/index.ts';
import { readAggregates, roundClassifier } from '../reports/data/rollups.ts';
import type { LiveState } from '../state/live-state.ts';
import type { Store } from '../stores/types.ts';

type PublicStatus = ApiResponseIn<'GET /api/public/status'>;
type Service = PublicStatus['services'][number];

/** Kinds published unless a target says otherwise, and the page's group for them. */
const PUBLIC_GROUP: Partial<Record<Kind, Service['group']>> = { http: 'service', ocsp: 'signing', tsa: 'signing' };

export const CACHE_SEC = 15;
const HISTORY_SEC = 600;
const DAY = 86_400_000;
const H = 3_600_000;
const DAYS = 90;
const MAINTENANCE_AHEAD = 7 * DAY;

export interface PublicDeps {
  dir: Directory;
  live: LiveState;
  store: Store;
  incidents: IncidentEngine;
  maintenance: MaintenanceBook;
  now?: () => number;
}

export const isPublished = (t: Target): boolean => t.public ?? PUBLIC_GROUP[t.kind] !== undefined;

/** Midnight in Asia/Ho_Chi_Minh of the day holding `t`, epoch ms. */
const vnMidnight = (t: number) => t - ((((t + VN_OFFSET_MS) % DAY) + DAY) % DAY);
const vnDate = (t: number) => new Date(t + VN_OFFSET_MS).toISOString().slice(0, 10);
const pct = (rounds: number, failed: number) => (rounds > 0 ? Math.round(((rounds - failed) / rounds) * 10_000) / 100 : null);

/** The state of one service over every commune's agents: a commune counts by its best slot (one working uplink serves). */
function stateOf(id: string, d: PublicDeps, serviceWide: Set<string>): Status {
  const perCommune: Status[] = [];
  for (const c of d.live.all()) {
    const slots = c.targets.filter((t) => t.id === id && t.status !== 'unknown');
    if (!slots.length) continue;
    perCommune.push(slots.reduce((best, s) => (STATUS_RANK[s.status] < STATUS_RANK[best] ? s.status : best), slots[0]!.status));
  }
  if (!perCommune.length) return 'unknown';
  const down = perCommune.filter((s) => s === 'down').length;
  const failing = down + perCommune.filter((s) => s === 'degraded').length;
  // one commune's bad link is not the service's state: more than half of the communes, or the province-wide rule
  if (failing * 2 <= perCommune.length && !serviceWide.has(id)) return 'up';
  if (failing === 0) return 'up';
  return down * 2 >= failing ? 'down' : 'degraded';
}

export function publicRoutes(d: PublicDeps) {
  const now = d.now ?? Date.now;
  const classify = roundClassifier(d.dir);
  let answer: { at: number; body: Promise<PublicStatus> } | null = null;
  let history: { at: number; day0: number; byTarget: Promise<Map<string, Map<string, { rounds: number; failed: number }>>> } | null = null;

  /** per target, per VN date: rounds and failed rounds in [from, to) */
  async function availability(targets: Target[], from: number, to: number) {
    const out = new Map<string, Map<string, { rounds: number; failed: number }>>();
    for (const t of targets) {
      const days = new Map<string, { rounds: number; failed: number }>();
      if (to > from) {
        const rows = await readAggregates(d.store, { measurement: t.kind, from, to, where: { target: t.id }, groupBy: [], bucketMs: H, figures: 'counts' }, classify);
        for (const r of rows) {
          const key = vnDate(r.t ?? from);
          const a = days.get(key) ?? { rounds: 0, failed: 0 };
          a.rounds += r.rounds;
          a.failed += r.failed;
          days.set(key, a);
        }
      }
      out.set(t.id, days);
    }
    return out;
  }

  async function compute(at: number): Promise<PublicStatus> {
    const targets = d.dir.targetOrder.map((id) => d.dir.targets.get(id)).filter((t): t is Target => t !== undefined && isPublished(t));
    const published = new Set(targets.map((t) => t.id));
    const today = vnMidnight(at);
    const day0 = today - (DAYS - 1) * DAY;
    if (!history || history.day0 !== day0 || at - history.at > HISTORY_SEC * 1000) {
      history = { at, day0, byTarget: availability(targets, day0, today) };
      history.byTarget.catch(() => (history = null));
    }
    const [past, todays] = await Promise.all([history.byTarget, availability(targets, today, at)]);

    const openIncidents = d.incidents.openIncidents().filter((i) => i.cause === 'service' && published.has(i.subject) && !i.mergedInto);
    const windows = d.maintenance.all().flatMap((w) => {
      // the window's span now, or its next start within the week (weekly windows: sampled every 15 min)
      for (let t = at; t <= at + MAINTENANCE_AHEAD; t += 15 * 60_000) {
        const span = activeSpan(w, t);
        if (!span) continue;
        const services = w.targets ? w.targets.filter((id) => published.has(id)) : [...published];
        if (!services.length) return [];
        return [{ id: w.id, title: w.title ?? 'Bảo trì hệ thống', from: span.from, to: span.to, services }];
      }
      return [];
    });
    const serviceWide = new Set(d.live.serviceWideTargets());
    const names: NameLookup = { commune: (c) => c, carrier: (c) => c, target: (id) => d.dir.targets.get(id)?.name ?? id };

    const services: Service[] = targets.map((t) => {
      const days: Service['days'] = [];
      let rounds = 0, failed = 0;
      for (let k = 0; k < DAYS; k++) {
        const key = vnDate(day0 + k * DAY);
        const a = (k === DAYS - 1 ? todays : past).get(t.id)?.get(key);
        days.push({ date: key, pct: a ? pct(a.rounds, a.failed) : null });
        rounds += a?.rounds ?? 0;
        failed += a?.failed ?? 0;
      }
      const incident = openIncidents.find((i) => i.subject === t.id);
      // the rounds decide (a service that answers again shows so at once); an open incident names how bad it is
      const live = stateOf(t.id, d, serviceWide);
      let state: Service['state'] = incident && (live === 'down' || live === 'degraded') ? incident.severity : live;
      if (state !== 'up' && windows.some((w) => w.from <= at && at < w.to && w.services.includes(t.id))) state = 'maintenance';
      return { id: t.id, name: t.name, group: PUBLIC_GROUP[t.kind] ?? 'service', state, todayPct: days[DAYS - 1]!.pct, ninetyDayPct: pct(rounds, failed), days };
    });
    return {
      updatedAt: at,
      cacheSec: CACHE_SEC,
      services,
      incidents: openIncidents.map((i) => ({ id: i.id, service: i.subject, text: causeText(i, names, 'vi'), severity: i.severity, since: i.openedAt })),
      maintenance: windows,
    };
  }

  return new Hono().get('/status', async (c) => {
    const at = now();
    if (!answer || at - answer.at >= CACHE_SEC * 1000) {
      answer = { at, body: compute(at) };
      answer.body.catch(() => (answer = null));
    }
    const body = await answer.body;
    c.header('cache-control', `public, max-age=${CACHE_SEC}`);
    return c.json(body);
  });
}
