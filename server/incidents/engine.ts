// The incident engine: turns attribution's causes over time into incidents.
//   - opens when a cause has been present long enough (hard: confirmSec, or groupWaitSec for a local link while
//     other communes of its carrier fail too, or agentConfirmSec for a silent agent; soft: present >= degradedPresence
//     of degradedSustainSec);
//   - updates when its affected communes/targets or severity change ('updated');
//   - resolves when the cause has been absent for resolveSec (resolvedAt = when it disappeared), or at once when a
//     wider open incident (its carrier's, the grouped silence) has taken over all its communes (`mergedInto`);
//   - acknowledge / note; every change is written through the Store (upsert by id), failed writes are retried on the
//     next evaluation and never block the caller; on start, open incidents are reloaded and kept while agents
//     reconnect (startupGraceSec), then resolved unless their cause is seen again.
// Defaults and their justification: DEFAULT_ATTRIBUTION in server/state/attribution.ts.
import { DomainError } from '../errors.ts';
import type { Store, IncidentQuery } from '../stores/types.ts';
import { attribute, DEFAULT_ATTRIBUTION, type AttributionInput, type AttributionThresholds, type CauseFinding } from '../state/attribution.ts';
import { activeWindows, type MaintenanceWindow } from './maintenance.ts';
import { isWide, mergeSites, SiteIndex, type IncidentSource } from './sites.ts';
import type { Incident, IncidentEvent, IncidentEventKind } from './types.ts';

/** Largest incident document: InfluxDB string fields hold 64 KiB; leave room for escaping. */
export const INCIDENT_MAX_BYTES = 60_000;
export const NOTE_MAX_CHARS = 2000;
/** "until the end of time" for store queries (InfluxDB's nanosecond clock ends in 2262) */
const FAR_FUTURE = Date.UTC(2200, 0, 1);

/** A refused incident operation: no such incident, a bad note, or no room for another note. */
/** Refusals of the engine's operations (ack, note): a domain error whose kind says which. */
export class IncidentError extends DomainError {}

export interface IncidentEngineOptions {
  store: Pick<Store, 'writeIncident' | 'queryIncidents'>;
  /** attribution input at `now` (with each agent's site, to name sites): SnapshotBuilder.build in the server, synthetic in tests */
  source: (now: number) => AttributionInput | IncidentSource;
  thresholds?: AttributionThresholds;
  /** maintenance windows in force (MaintenanceBook.all) */
  maintenance?: () => readonly MaintenanceWindow[];
  now?: () => number;
  onError?: (err: unknown, what: string) => void;
  /** the loop's attribution pass elsewhere (a worker thread, for a large fleet), or null: run it here */
  offThread?: (input: AttributionInput, th: AttributionThresholds) => Promise<CauseFinding[]> | null;
  /** the loop's input built in slices between other work (SnapshotBuilder.buildSliced, a large fleet), or null: `source` */
  sourceSliced?: (now: number) => Promise<AttributionInput | IncidentSource> | null;
}

interface Candidate {
  finding: CauseFinding;
  /** first presence still remembered (dropped after degradedSustainSec of absence) */
  created: number;
  lastPresent: number;
  /** start of the current uninterrupted hard presence */
  hardSince: number | null;
  hardEvals: number;
  /** presence per evaluation over the last degradedSustainSec (soft causes) */
  samples: { t: number; present: boolean }[];
}

interface Tracked {
  incident: Incident;
  absentSince: number | null;
  /** reloaded from the store at start: kept through the startup grace */
  reloaded: boolean;
}

const SEV: Record<Incident['severity'], number> = { degraded: 1, down: 2 };
const keyOf = (i: Pick<Incident, 'cause' | 'subject'>) => `${i.cause}:${i.subject}`;
const union = (a: string[], b: string[]) => [...new Set([...a, ...b])].sort();
const sameList = (a: string[] | undefined, b: string[]) => !!a && a.length === b.length && a.every((x, i) => x === b[i]);

/** The store's query semantics, for incidents held in memory. */
export function matchesQuery(i: Incident, q: IncidentQuery): boolean {
  if (!(i.openedAt < q.to && (i.resolvedAt === null || i.resolvedAt > q.from))) return false;
  if (q.openOnly && i.resolvedAt !== null) return false;
  if (q.id !== undefined && i.id !== q.id) return false;
  if (q.cause !== undefined && i.cause !== q.cause) return false;
  if (q.carrier !== undefined && i.carrier !== q.carrier) return false;
  if (q.commune !== undefined && !i.communes.includes(q.commune)) return false;
  if (q.target !== undefined && !i.targets.includes(q.target)) return false;
  return true;
}

export class IncidentEngine {
  private readonly th: AttributionThresholds;
  private readonly now: () => number;
  private readonly candidates = new Map<string, Candidate>();
  /** open incidents by cause key */
  private readonly tracked = new Map<string, Tracked>();
  private readonly listeners = new Set<(e: IncidentEvent) => void>();
  private readonly dirty = new Map<string, Incident>();
  private draining: Promise<void> | null = null;
  private retryAt = 0;
  private reloaded = false;
  private reloading: Promise<void> | null = null;
  private startedAt: number;
  private timer: NodeJS.Timeout | null = null;
  /** an off-thread pass is under way: the loop does not start another */
  private passing = false;

  constructor(private readonly o: IncidentEngineOptions) {
    this.th = o.thresholds ?? DEFAULT_ATTRIBUTION;
    this.now = o.now ?? Date.now;
    this.startedAt = this.now();
  }

  on(fn: (e: IncidentEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reload open incidents from the store. A store that is down is retried on later evaluations. */
  async start(): Promise<void> {
    this.startedAt = this.now();
    await this.reload();
  }

  /** Evaluate every `intervalMs` (2 s is plenty: statuses change once per round or per sweep). */
  startLoop(intervalMs = 2000): void {
    this.stopLoop();
    this.timer = setInterval(() => {
      if (this.passing) return;
      try {
        const now = this.now();
        const sliced = this.o.sourceSliced?.(now);
        const pass = sliced ? sliced.then((input) => this.loopPass(input, now)) : this.loopPass(this.o.source(now), now);
        if (!pass) return;
        // a pass that waits (sliced input, a worker) holds the loop until it settles
        this.passing = true;
        pass.catch((err: unknown) => this.o.onError?.(err, 'evaluate')).finally(() => (this.passing = false));
      } catch (err) {
        this.o.onError?.(err, 'evaluate');
      }
    }, intervalMs);
    this.timer.unref();
  }

  /** attribution on `input` (here or off thread), then settle; resolves when settled */
  private loopPass(input: AttributionInput | IncidentSource, now: number): Promise<void> | undefined {
    const off = this.o.offThread?.(input, this.th);
    if (!off) {
      this.settle(input, attribute(input, this.th), now);
      return undefined;
    }
    return off.then((findings) => void this.settle(input, findings, now));
  }

  stopLoop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stop the loop and write what is pending. */
  async close(): Promise<void> {
    this.stopLoop();
    await this.flush();
  }

  /** Open incidents, newest first. */
  openIncidents(): Incident[] {
    return [...this.tracked.values()].map((t) => structuredClone(t.incident)).sort((a, b) => b.openedAt - a.openedAt || (a.id < b.id ? 1 : -1));
  }

  /** One evaluation: attribution at `now`, then open / update / resolve. Returns the events it emitted. */
  evaluate(now = this.now()): IncidentEvent[] {
    const input = this.o.source(now);
    return this.settle(input, attribute(input, this.th), now);
  }

  /** Open / update / resolve from attribution's findings on `input` at `now`. */
  private settle(input: AttributionInput, findings: CauseFinding[], now: number): IncidentEvent[] {
    if (!this.reloaded && !this.reloading && now >= this.retryAt) void this.reload();
    const sites = new SiteIndex(input, this.th);
    const present = new Map(findings.map((f) => [f.key, f]));
    const events: IncidentEvent[] = [];
    const sustainMs = this.th.degradedSustainSec * 1000;

    // 1. remember presence
    for (const f of findings) {
      let c = this.candidates.get(f.key);
      if (!c) this.candidates.set(f.key, (c = { finding: f, created: now, lastPresent: now, hardSince: null, hardEvals: 0, samples: [] }));
      c.finding = f;
      c.lastPresent = now;
      if (f.hard) {
        c.hardSince ??= now;
        c.hardEvals++;
      } else {
        c.hardSince = null;
        c.hardEvals = 0;
      }
      c.samples.push({ t: now, present: true });
    }
    for (const [key, c] of this.candidates) {
      if (present.has(key)) {
        pruneSamples(c, now - sustainMs);
        continue;
      }
      c.hardSince = null;
      c.hardEvals = 0;
      c.samples.push({ t: now, present: false });
      pruneSamples(c, now - sustainMs);
      if (now - c.lastPresent > sustainMs) this.candidates.delete(key);
    }

    // 2. open incidents: update or resolve
    for (const [key, t] of [...this.tracked].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const f = present.get(key);
      if (f) {
        t.absentSince = null;
        if (this.update(t.incident, f, sites)) events.push(this.emit('updated', t.incident, now));
        continue;
      }
      t.absentSince ??= now;
      const taker = this.takenOverBy(t.incident, present);
      const graceOver = !t.reloaded || now >= this.startedAt + this.th.startupGraceSec * 1000;
      if (taker) events.push(this.resolve(key, t, now, now, taker));
      else if (graceOver && now - t.absentSince >= this.th.resolveSec * 1000) events.push(this.resolve(key, t, t.absentSince, now, null));
    }

    // 3. open what has been present long enough
    for (const f of findings) {
      if (this.tracked.has(f.key)) continue;
      const c = this.candidates.get(f.key)!;
      const openedAt = this.due(c, now);
      if (openedAt === null) continue;
      events.push(this.open(f, openedAt, now, sites));
    }

    if (this.dirty.size && !this.draining && now >= this.retryAt) this.kick();
    return events;
  }

  /** When the candidate should open (its start time), or null. */
  private due(c: Candidate, now: number): number | null {
    const f = c.finding;
    if (f.hard && c.hardSince !== null) {
      // a forming carrier pattern, or a cause still growing (communes that may not have probed since the fault began)
      const wait = this.forming(c, now) || f.growing === true;
      const waitSec = f.cause === 'agent' ? this.th.agentConfirmSec : wait ? Math.max(this.th.confirmSec, this.th.groupWaitSec) : this.th.confirmSec;
      if (c.hardEvals >= 2 && now - c.hardSince >= waitSec * 1000) return c.hardSince;
    }
    const sustainMs = this.th.degradedSustainSec * 1000;
    if (now - c.created >= sustainMs && presence(c, now, sustainMs) >= this.th.degradedPresence) {
      const first = c.samples.find((s) => s.present);
      return first ? Math.max(first.t, now - sustainMs) : now;
    }
    return null;
  }

  /**
   * A carrier pattern may be forming: another commune of the same carrier started failing hard around the same time
   * (within groupWaitSec). A long-standing cut elsewhere on the carrier does not count, so it never delays this one.
   */
  private forming(c: Candidate, now: number): boolean {
    const f = c.finding;
    if (f.cause !== 'local_link' || f.peers === 0 || !f.carrier || c.hardSince === null) return false;
    const since = c.hardSince - this.th.groupWaitSec * 1000;
    for (const o of this.candidates.values())
      if (o !== c && o.lastPresent === now && o.finding.cause === 'local_link' && o.finding.carrier === f.carrier && o.hardSince !== null && o.hardSince >= since) return true;
    return false;
  }

  /** A wider open incident present now that covers every commune this local/agent incident still had. */
  private takenOverBy(i: Incident, present: Map<string, CauseFinding>): string | null {
    if (i.cause !== 'local_link' && i.cause !== 'agent') return null;
    const mine = i.activeCommunes?.length ? i.activeCommunes : i.communes;
    for (const [key, t] of this.tracked) {
      if (t.incident === i) continue;
      // a carrier takes over local links and silent agents; the grouped silence takes over silent agents
      if (t.incident.cause !== 'carrier' && !(key === 'agent:*' && i.cause === 'agent')) continue;
      const f = present.get(key);
      if (f && mine.every((c) => f.communes.includes(c))) return t.incident.id;
    }
    return null;
  }

  private open(f: CauseFinding, openedAt: number, now: number, index: SiteIndex): IncidentEvent {
    const windows = this.o.maintenance?.() ?? [];
    const scope = { communes: f.communes, carrier: f.carrier, targets: f.targets };
    const inc: Incident = {
      id: `${f.key}:${openedAt}`,
      cause: f.cause,
      subject: f.subject,
      openedAt,
      resolvedAt: null,
      communes: [...f.communes],
      targets: [...f.targets],
      carrier: f.carrier,
      severity: f.severity,
      evidence: withCount(f),
      acknowledgedBy: null,
      acknowledgedAt: null,
      notes: [],
      // "opened inside a window": when the fault started or when it was confirmed
      maintenance: activeWindows(windows, openedAt, scope).length > 0 || activeWindows(windows, now, scope).length > 0,
      activeCommunes: [...f.communes],
      mergedInto: null,
    };
    const { sites } = index.sitesOf(f);
    if (sites.length) inc.sites = sites;
    this.tracked.set(f.key, { incident: inc, absentSince: null, reloaded: false });
    return this.emit('opened', inc, now);
  }

  /** Apply the current finding; true when something an operator would care about changed. */
  private update(i: Incident, f: CauseFinding, index: SiteIndex): boolean {
    let changed = false;
    const now = index.sitesOf(f);
    const sites = mergeSites(i.sites, now.sites, now.whole, isWide(i));
    if (sites.length !== (i.sites?.length ?? 0) || sites.some((s, k) => s.agent !== i.sites![k]!.agent)) {
      changed = true;
      if (sites.length) i.sites = sites;
      else delete i.sites;
    }
    if (!sameList(i.activeCommunes, f.communes)) {
      i.activeCommunes = [...f.communes];
      changed = true;
    }
    const communes = union(i.communes, f.communes);
    const targets = union(i.targets, f.targets);
    if (communes.length !== i.communes.length || targets.length !== i.targets.length) changed = true;
    i.communes = communes;
    i.targets = targets;
    if (i.carrier === null && f.carrier !== null) {
      i.carrier = f.carrier;
      changed = true;
    }
    const worse = SEV[f.severity] > SEV[i.severity];
    const wider = f.communes.length > Number(i.evidence.figures.affectedCommunes ?? 0);
    if (worse) i.severity = f.severity;
    // Evidence "at its worst": replaced when the cause got more severe or wider, kept when it shrinks.
    if (worse || (wider && SEV[f.severity] >= SEV[i.severity])) i.evidence = withCount(f);
    if (worse) changed = true;
    return changed;
  }

  private resolve(key: string, t: Tracked, at: number, now: number, mergedInto: string | null): IncidentEvent {
    const i = t.incident;
    i.resolvedAt = Math.max(at, i.openedAt);
    i.activeCommunes = [];
    i.mergedInto = mergedInto;
    if (t.reloaded && !mergedInto)
      i.notes = [...i.notes, { at: now, by: 'system', text: 'Đóng sau khi máy chủ khởi động lại: nguyên nhân không còn (closed after a server restart: cause no longer seen)' }];
    this.tracked.delete(key);
    return this.emit('resolved', i, now);
  }

  private emit(kind: IncidentEventKind, incident: Incident, at: number): IncidentEvent {
    this.persist(incident);
    const e: IncidentEvent = { kind, at, incident: structuredClone(incident) };
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.o.onError?.(err, `listener (${kind})`);
      }
    }
    return e;
  }

  // ---- operator actions -------------------------------------------------------------------------------------

  /** Idempotent: acknowledging twice keeps the first acknowledgement and emits nothing. */
  async acknowledge(id: string, user: string): Promise<Incident> {
    const { inc, live } = await this.find(id);
    if (inc.acknowledgedBy === null) {
      inc.acknowledgedBy = user;
      inc.acknowledgedAt = this.now();
      this.emit('acknowledged', inc, inc.acknowledgedAt);
      if (!live) await this.flush();
    }
    return structuredClone(inc);
  }

  async addNote(id: string, user: string, text: string): Promise<Incident> {
    const clean = text.trim();
    if (!clean) throw new IncidentError('text: empty note', 'invalid');
    if (clean.length > NOTE_MAX_CHARS) throw new IncidentError(`text: longer than ${NOTE_MAX_CHARS} characters`, 'invalid');
    const { inc, live } = await this.find(id);
    const next = [...inc.notes, { at: this.now(), by: user, text: clean }];
    if (Buffer.byteLength(JSON.stringify({ ...inc, notes: next })) > INCIDENT_MAX_BYTES)
      throw new IncidentError('this incident has too many notes to store another one', 'too_large');
    inc.notes = next;
    this.emit('noted', inc, this.now());
    if (!live) await this.flush();
    return structuredClone(inc);
  }

  /** An incident by id: the live copy when open, else the store's. */
  async get(id: string): Promise<Incident | null> {
    for (const t of this.tracked.values()) if (t.incident.id === id) return structuredClone(t.incident);
    const pending = this.dirty.get(id);
    if (pending) return structuredClone(pending);
    const [found] = await this.o.store.queryIncidents({ from: 0, to: FAR_FUTURE, id });
    return found ?? null;
  }

  /**
   * Store query with the engine's newer in-memory copies laid over it. When the store is down, what is in memory
   * (open incidents, unwritten changes) with `partial: true`.
   */
  async query(q: IncidentQuery): Promise<{ incidents: Incident[]; partial: boolean }> {
    const mem = new Map<string, Incident>();
    for (const i of this.dirty.values()) mem.set(i.id, i);
    for (const t of this.tracked.values()) mem.set(t.incident.id, t.incident);
    let stored: Incident[] = [];
    let partial = false;
    try {
      stored = await this.o.store.queryIncidents(q);
    } catch (err) {
      this.o.onError?.(err, 'query incidents');
      partial = true;
    }
    const byId = new Map(stored.map((i) => [i.id, i]));
    for (const [id, i] of mem) {
      if (matchesQuery(i, q)) byId.set(id, i);
      else byId.delete(id);
    }
    const all = [...byId.values()].map((i) => structuredClone(i)).sort((a, b) => b.openedAt - a.openedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return { incidents: q.limit === undefined ? all : all.slice(0, q.limit), partial };
  }

  private async find(id: string): Promise<{ inc: Incident; live: boolean }> {
    for (const t of this.tracked.values()) if (t.incident.id === id) return { inc: t.incident, live: true };
    const pending = this.dirty.get(id);
    if (pending) return { inc: pending, live: false };
    const [found] = await this.o.store.queryIncidents({ from: 0, to: FAR_FUTURE, id });
    if (!found) throw new IncidentError(`no incident "${id}"`, 'not_found');
    return { inc: found, live: false };
  }

  // ---- persistence ------------------------------------------------------------------------------------------

  private persist(i: Incident) {
    this.dirty.set(i.id, structuredClone(i));
    if (!this.draining) this.kick();
  }

  private kick() {
    this.draining = this.drain().finally(() => {
      this.draining = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.dirty.size) {
      const [id, inc] = this.dirty.entries().next().value as [string, Incident];
      try {
        await this.o.store.writeIncident(inc);
      } catch (err) {
        this.o.onError?.(err, 'write incident');
        this.retryAt = this.now() + 5000;
        return;
      }
      if (this.dirty.get(id) === inc) this.dirty.delete(id);
    }
  }

  /** Wait until every change so far is written; false when the store refused (they stay queued for retry). */
  async flush(): Promise<boolean> {
    if (this.draining) await this.draining;
    if (this.dirty.size) {
      this.kick();
      await this.draining;
    }
    return this.dirty.size === 0;
  }

  private reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const open = await this.o.store.queryIncidents({ from: 0, to: FAR_FUTURE, openOnly: true });
        // oldest first, so a duplicate key keeps the oldest open incident
        for (const inc of open.sort((a, b) => a.openedAt - b.openedAt)) {
          const key = keyOf(inc);
          const cur = this.tracked.get(key);
          if (cur?.incident.id === inc.id) continue; // already held (start() called again)
          if (cur) {
            // The store was down at start and the cause opened again meanwhile: one incident per cause.
            inc.resolvedAt = Math.max(inc.openedAt, Math.min(cur.incident.openedAt, this.now()));
            inc.mergedInto = cur.incident.id;
            inc.activeCommunes = [];
            this.persist(inc);
            continue;
          }
          this.tracked.set(key, { incident: inc, absentSince: null, reloaded: true });
        }
        this.reloaded = true;
      } catch (err) {
        this.o.onError?.(err, 'reload open incidents');
        this.retryAt = this.now() + 5000;
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }
}

function withCount(f: CauseFinding): Incident['evidence'] {
  return { items: f.evidence.items, figures: { ...f.evidence.figures, affectedCommunes: f.communes.length } };
}

/** Keep samples inside the window plus the last one before it (it says what held at the window's start). */
function pruneSamples(c: Candidate, windowStart: number) {
  let i = 0;
  while (i + 1 < c.samples.length && c.samples[i + 1]!.t <= windowStart) i++;
  if (i > 0) c.samples.splice(0, i);
}

/** Share of the last `windowMs` during which the cause was present (each sample holds until the next one). */
function presence(c: Candidate, now: number, windowMs: number): number {
  const start = now - windowMs;
  let on = 0;
  let total = 0;
  for (let i = 0; i < c.samples.length; i++) {
    const s = c.samples[i]!;
    const from = Math.max(s.t, start);
    const to = i + 1 < c.samples.length ? c.samples[i + 1]!.t : now;
    if (to <= from) continue;
    total += to - from;
    if (s.present) on += to - from;
  }
  if (windowMs === 0) return c.samples.at(-1)?.present ? 1 : 0;
  return total ? on / Math.max(total, windowMs) : 0;
}
