// Maintenance windows: one-off (from/to) and weekly (days + start + duration) in Asia/Ho_Chi_Minh, scoped per commune,
// carrier and/or target. An incident opened inside a window that covers it is flagged `maintenance`: no notifications,
// counted apart in uptime.
//
// Where windows live: the config's `maintenance` list (read-only at runtime) plus windows added through the API, kept
// in `<dataDir>/maintenance.json`. A file rather than the Store because windows are configuration, not measurements:
// a handful of small records an admin may want to read or fix by hand, that must still apply when the store is down
// (a store outage at start is tolerated, and that is exactly when suppressing notifications matters), and that both
// stores would otherwise need a third method pair for. It sits next to admin.json, same precedent.
import { existsSync, readFileSync } from 'node:fs';
import { formatIssues } from '../../config/wire.ts';
import { writeAtomic } from '../atomic-file.ts';
import { DomainError } from '../errors.ts';
import { maintenanceListSchema, maintenanceWindowSchema, parseVnTime, VN_OFFSET_MS, WEEKDAYS, type MaintenanceWindow } from '../../config/schema.ts';

export type { MaintenanceWindow };

/** What an incident touches; a window covers it when every dimension the window lists covers it. */
export interface MaintenanceScope {
  communes: string[];
  carrier: string | null;
  targets: string[];
}

const DAY = 86_400_000;

/** The occurrence of `w` that contains `now`, or null. */
export function activeSpan(w: MaintenanceWindow, now: number): { from: number; to: number } | null {
  if (w.kind === 'once') {
    const from = parseVnTime(w.from);
    const to = parseVnTime(w.to);
    return from <= now && now < to ? { from, to } : null;
  }
  const [hh, mm] = w.start.split(':').map(Number) as [number, number];
  const dur = w.durationMin * 60_000;
  const localMidnight = Math.floor((now + VN_OFFSET_MS) / DAY) * DAY; // of today, in "local epoch" ms
  // A window may run past midnight (and up to 7 days): look at occurrences that started up to 7 days ago.
  for (let back = 0; back <= 7; back++) {
    const day = localMidnight - back * DAY;
    const dow = WEEKDAYS[new Date(day).getUTCDay()]!;
    if (!w.days.includes(dow)) continue;
    const from = day + (hh * 60 + mm) * 60_000 - VN_OFFSET_MS;
    if (from <= now && now < from + dur) return { from, to: from + dur };
  }
  return null;
}

export function covers(w: MaintenanceWindow, s: MaintenanceScope): boolean {
  if (w.communes && !(s.communes.length > 0 && s.communes.every((c) => w.communes!.includes(c)))) return false;
  if (w.carriers && !(s.carrier !== null && w.carriers.includes(s.carrier))) return false;
  if (w.targets && !(s.targets.length > 0 && s.targets.every((t) => w.targets!.includes(t)))) return false;
  return true;
}

/** Windows active at `now` (and covering `scope`, when given). Pure. */
export function activeWindows(windows: readonly MaintenanceWindow[], now: number, scope?: MaintenanceScope): MaintenanceWindow[] {
  return windows.filter((w) => activeSpan(w, now) !== null && (!scope || covers(w, scope)));
}

/** Refusals of the maintenance book (invalid window, duplicate id, unknown id): a domain error by kind. */
export class MaintenanceError extends DomainError {}

export interface ListedWindow {
  window: MaintenanceWindow;
  source: 'config' | 'runtime';
}

/** Config windows + runtime windows persisted in a JSON file (written atomically: temp file + rename). */
export class MaintenanceBook {
  private runtime: MaintenanceWindow[] = [];

  constructor(
    private readonly fromConfig: readonly MaintenanceWindow[],
    private readonly file: string | null,
  ) {
    if (file && existsSync(file)) {
      const parsed = maintenanceListSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!parsed.success) throw new Error(`${file}: ${formatIssues(parsed.error.issues)}`);
      this.runtime = parsed.data;
    }
  }

  all(): MaintenanceWindow[] {
    return [...this.fromConfig, ...this.runtime];
  }

  list(): ListedWindow[] {
    return [...this.fromConfig.map((w) => ({ window: w, source: 'config' as const })), ...this.runtime.map((w) => ({ window: w, source: 'runtime' as const }))];
  }

  add(input: unknown): MaintenanceWindow {
    const parsed = maintenanceWindowSchema.safeParse(input);
    if (!parsed.success) throw new MaintenanceError(formatIssues(parsed.error.issues), 'invalid');
    const w = parsed.data;
    if (this.all().some((x) => x.id === w.id)) throw new MaintenanceError(`id: a maintenance window "${w.id}" already exists`, 'conflict');
    this.save([...this.runtime, w]);
    return w;
  }

  remove(id: string): void {
    if (this.fromConfig.some((w) => w.id === id)) throw new MaintenanceError(`"${id}" comes from the config file; edit it there`, 'conflict');
    if (!this.runtime.some((w) => w.id === id)) throw new MaintenanceError(`no maintenance window "${id}"`, 'not_found');
    this.save(this.runtime.filter((w) => w.id !== id));
  }

  private save(next: MaintenanceWindow[]) {
    if (this.file) {
      writeAtomic(this.file, JSON.stringify(next, null, 2) + '\n', 0o644);
    }
    this.runtime = next;
  }
}
