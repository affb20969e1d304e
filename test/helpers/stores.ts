// One harness per store kind for the suites that run against every store (contract, rollups, reports, the
// report bench): DuckDB in a temp directory, InfluxDB on a real influxd started for the suite. Never mocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import type { Figures } from '../../config/vocabulary.ts';
import type { Incident } from '../../server/incidents/types.ts';
import { DuckDbStore } from '../../server/stores/duckdb.ts';
import { InfluxStore } from '../../server/stores/influx.ts';
import type { Store } from '../../server/stores/types.ts';
import { skipWithoutInfluxd, startInfluxd, type Influxd } from './influxd.ts';

export type StoreKindName = 'duckdb' | 'influx';

export interface OpenOptions {
  /** InfluxDB: let the store manage retention policies (raw data kept this many days) */
  rawRetentionDays?: number;
  /** raw points a rollup folds at once (both kinds; default the stores' own) */
  rollupGroupPoints?: number;
}

export interface StoreHarness {
  name: StoreKindName;
  /** the kind cannot run here (no influxd outside CI): skip its tests */
  skip: boolean;
  /** start what the kind needs (influxd) */
  setup(): Promise<void>;
  /** close the stores open() made, stop influxd, remove the temp directories */
  teardown(): Promise<void>;
  /** a new, empty, initialised store, closed at teardown */
  open(opts?: OpenOptions): Promise<Store>;
  /** a temp directory removed at teardown */
  tmp(prefix?: string): string;
  /** the running influxd (InfluxDB only, after setup) */
  influxd(): Influxd;
  /** an InfluxDB database name not used before by this process */
  database(): string;
}

let skipInfluxOnce: boolean | undefined;
/** Decided once per test file, so the skip line is printed once. */
export function skipInflux(): boolean {
  return (skipInfluxOnce ??= skipWithoutInfluxd());
}

interface KindParts {
  skip(): boolean;
  start(): Promise<Influxd | null>;
  create(h: StoreHarness, o: OpenOptions): Store;
}

const KINDS: Record<StoreKindName, KindParts> = {
  duckdb: {
    skip: () => false,
    start: async () => null,
    create: (h, o) => new DuckDbStore(join(h.tmp(), 'ioc.duckdb'), o.rollupGroupPoints ? { rollupGroupPoints: o.rollupGroupPoints } : {}),
  },
  influx: {
    skip: skipInflux,
    start: () => startInfluxd(),
    create: (h, o) =>
      new InfluxStore(
        { url: h.influxd().url, database: h.database(), createDatabase: true, ...(o.rawRetentionDays ? { rawRetentionDays: o.rawRetentionDays } : {}) },
        o.rollupGroupPoints ? { rollupGroupPoints: o.rollupGroupPoints } : {},
      ),
  },
};

/** Harnesses of the given store kinds (default: all); `label` names their temp directories and databases. */
export function storeHarnesses(label: string, kinds: StoreKindName[] = ['duckdb', 'influx']): StoreHarness[] {
  return kinds.map((name) => storeHarness(name, label));
}

export function storeHarness(name: StoreKindName, label: string): StoreHarness {
  const parts = KINDS[name];
  const dirs: string[] = [];
  const opened: Store[] = [];
  let server: Influxd | null = null;
  let databases = 0;
  const h: StoreHarness = {
    name,
    skip: parts.skip(),
    async setup() {
      server = await parts.start();
    },
    async teardown() {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
      await server?.dispose();
      server = null;
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
    async open(o = {}) {
      const s = parts.create(h, o);
      opened.push(s);
      await s.init();
      return s;
    },
    tmp(prefix = `${label}-${name}-`) {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    influxd() {
      if (!server) throw new Error(`no influxd: ${name} harness not set up`);
      return server;
    },
    database: () => `${label}_${process.pid}_${++databases}`,
  };
  return h;
}

/**
 * The same suite against every store kind: `<title>: <kind>`, skipped where the kind cannot run, the harness set
 * up before the suite and torn down after it (after the suite's own afterAll hooks).
 */
export function describeStores(title: string, label: string, body: (h: StoreHarness) => void): void {
  describe.each(storeHarnesses(label))(`${title}: $name`, (h) => {
    describe.skipIf(h.skip)(h.name, () => {
      beforeAll(() => h.setup(), 60_000);
      afterAll(() => h.teardown(), 60_000);
      body(h);
    });
  });
}

/** An incident whose evidence is a written sentence (as older incidents were stored): a report shows it as it is. */
export type SentenceIncident = Incident & { evidence: { summary: string; figures: Figures } };

/** An incident as the report suites write it: the fields a report does not read get quiet defaults. */
export function incident(o: Omit<Partial<Incident>, 'evidence'> & Pick<Incident, 'id' | 'cause' | 'subject' | 'openedAt' | 'resolvedAt' | 'communes'>): SentenceIncident {
  return {
    targets: [],
    carrier: null,
    severity: 'down',
    evidence: { summary: `${o.cause} ${o.subject}`, figures: {} },
    acknowledgedBy: null,
    acknowledgedAt: null,
    notes: [],
    maintenance: false,
    ...o,
  };
}
