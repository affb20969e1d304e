// One contract, run unchanged against every store (DuckDB file, real influxd). Store-specific failure modes
// (influxd stopped / hung / crashed, DuckDB crash durability) follow in their own describe blocks.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { skipInflux, storeHarnesses, type StoreHarness, type StoreKindName } from '../helpers/stores.ts';
import { DuckDbStore } from '../../server/stores/duckdb.ts';
import { createStore } from '../../server/stores/index.ts';
import { InfluxStore } from '../../server/stores/influx.ts';
import { MEASUREMENTS, MEASUREMENT_NAMES, type FieldType, type MeasurementName } from '../../server/stores/measurements.ts';
import { StoreUnavailableError, TAG_KEYS, type AuditQuery, type AuditRecord, type FieldValue, type IncidentQuery, type Point, type Store, type Tags } from '../../server/stores/types.ts';
import type { Incident } from '../../server/incidents/types.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = Date.UTC(2025, 6, 1, 8, 0, 0); // fixed, so expected buckets are reproducible
const RANGE = { from: BASE - 86_400_000, to: BASE + 86_400_000 };

/** One isolated backing (a DuckDB file, an Influx database) that stores can be opened on, closed and reopened. */
interface Backend {
  open(): Store;
  /** make the backing unavailable to a store opened after this call */
  outage(): Promise<void>;
  recover(): Promise<void>;
  cleanup(): Promise<void>;
}

/** The shared store harness plus this kind's backing, which the contract can take away and give back. */
type Harness = StoreHarness & { backend(): Promise<Backend> };

// ---------- harnesses ----------

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

/** A second process that opens the DuckDB file through DuckDbStore, writes one point, says "acked", then waits. */
function duckdbChild(file: string): { proc: ChildProcess; acked: Promise<void> } {
  const dir = tmp('duck-child-');
  const script = join(dir, 'child.mts');
  writeFileSync(
    script,
    `import { DuckDbStore } from ${JSON.stringify(join(ROOT, 'server/stores/duckdb.ts'))};
const s = new DuckDbStore(${JSON.stringify(file)});
await s.init();
await s.write([{ measurement: 'tcp', ts: ${BASE}, tags: { province: '51', commune: '21484', carrier: 'vnpt', agent: 'child', target: 'crash', uplink: '' }, fields: { ok: true, connect_ms: 12.5, error: null, backfilled: null } }]);
console.log('acked');
setInterval(() => {}, 1000);
`,
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const acked = new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`duckdb child did not ack within 30 s: ${out}`)), 30_000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('acked')) {
        clearTimeout(t);
        res();
      }
    });
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    proc.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`duckdb child exited (${code}): ${out}`));
    });
  });
  return { proc, acked };
}

function killAndWait(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    p.once('exit', () => res());
    p.kill('SIGKILL');
  });
}

const BACKENDS: Record<StoreKindName, (h: StoreHarness) => Backend> = {
  duckdb(h) {
    const dataDir = h.tmp('duckstore-');
    // A nested relative path: the store must create the directories, relative to dataDir.
    const cfg = { kind: 'duckdb' as const, file: 'nested/deeper/ioc.duckdb' };
    let holder: ChildProcess | null = null;
    return {
      open: () => createStore(cfg, { dataDir }),
      async outage() {
        // Another process holding the file's lock: this process cannot open it.
        const c = duckdbChild(join(dataDir, cfg.file));
        holder = c.proc;
        await c.acked;
      },
      async recover() {
        if (holder) await killAndWait(holder);
        holder = null;
      },
      async cleanup() {
        if (holder) await killAndWait(holder);
      },
    };
  },
  influx(h) {
    const cfg = { kind: 'influx' as const, url: h.influxd().url, database: h.database(), createDatabase: true };
    return {
      open: () => createStore(cfg, { dataDir: '/nonexistent' }),
      outage: () => h.influxd().stop(),
      recover: () => h.influxd().restart(),
      async cleanup() {},
    };
  },
};
const HARNESSES: Harness[] = storeHarnesses('contract').map((h) => ({ ...h, backend: async () => BACKENDS[h.name](h) }));
const SKIP_INFLUX = skipInflux();

// ---------- test data ----------

/** Tag values that break naive escaping in SQL, InfluxQL and line protocol. */
const NASTY = [
  'Xã Ba Tơ, "Quảng Ngãi"=1',
  'Đặc khu Lý Sơn',
  "O'Brien's \\'quoted\\' uplink",
  'C:\\Program Files\\ISP\\x',
  'a\\,b c\\=d e\\ f',
  '  leading and trailing  ',
  'Phường Cẩm Thành; DROP TABLE icmp; --',
];

function tags(over: Partial<Tags> = {}): Tags {
  return { province: '51', commune: '21484', carrier: 'vnpt', agent: 'ag-21484', target: 'portal', uplink: 'wan0', ...over };
}

/** Deterministic pseudo-random numbers (LCG), so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sampleValue(type: FieldType, i: number, r: () => number): FieldValue {
  switch (type) {
    case 'int':
      return [0, 10, -3, 2 ** 40 + 7, Math.floor(r() * 1000)][i % 5]!;
    case 'float':
      return [12.345678901234567, 0.1, 1e-7, 0, 123456.789, r() * 500][i % 6]!;
    case 'bool':
      return i % 2 === 0;
    case 'string':
      return ['timeout: "connect ETIMEDOUT" \\ C:\\path\\\'x\'', '', 'Lỗi kết nối\nline 2, a=b', 'ok'][i % 4]!;
  }
}

/** Every declared field set, with one (rotating) field null per point and never all of them. */
function samplePoint(m: MeasurementName, i: number, r: () => number, tagOver: Partial<Tags> = {}): Point {
  const defs = Object.entries(MEASUREMENTS[m].fields) as [string, FieldType][];
  const fields: Record<string, FieldValue> = {};
  defs.forEach(([name, type], j) => {
    fields[name] = j === i % defs.length ? null : sampleValue(type, i + j, r);
  });
  return { measurement: m, ts: BASE + i * 30_000, tags: tags(tagOver), fields };
}

const byKey = (a: Point, b: Point) =>
  a.ts - b.ts || a.tags.agent.localeCompare(b.tags.agent) || a.tags.target.localeCompare(b.tags.target) || a.tags.uplink.localeCompare(b.tags.uplink);
const sorted = (ps: Point[]) => [...ps].sort(byKey);

async function all(store: Store, m: MeasurementName, where?: Partial<Tags>): Promise<Point[]> {
  return store.queryRaw({ measurement: m, ...RANGE, ...(where ? { where } : {}) });
}

// ---------- the contract ----------

describe.each(HARNESSES)('Store contract: $name', (h) => {
  describe.skipIf(h.skip)(h.name, () => {
    const open: Store[] = [];
    const backends: Backend[] = [];
    beforeAll(() => h.setup(), 60_000);
    afterAll(async () => {
      for (const s of open) await s.close().catch(() => undefined);
      for (const b of backends) await b.cleanup();
      await h.teardown();
      for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
    }, 60_000);

    async function fresh(): Promise<{ store: Store; backend: Backend }> {
      const backend = await h.backend();
      backends.push(backend);
      const store = backend.open();
      open.push(store);
      await store.init();
      return { store, backend };
    }

    it('health() is ok on a working store', async () => {
      const { store } = await fresh();
      const hl = await store.health();
      expect(hl.ok).toBe(true);
      expect(hl.kind).toBe(h.name);
    });

    it('round-trips every measurement, every field type and nulls', async () => {
      const { store } = await fresh();
      const r = rng(1);
      const points = MEASUREMENT_NAMES.flatMap((m) => Array.from({ length: 7 }, (_, i) => samplePoint(m, i, r)));
      await store.write(points);
      for (const m of MEASUREMENT_NAMES) {
        const got = await all(store, m);
        expect(got).toEqual(sorted(points.filter((p) => p.measurement === m)));
        // types survive: ints are integers, bools are booleans
        for (const p of got) {
          for (const [name, type] of Object.entries(MEASUREMENTS[m].fields) as [string, FieldType][]) {
            const v = p.fields[name];
            if (v === null) continue;
            if (type === 'bool') expect(typeof v).toBe('boolean');
            if (type === 'string') expect(typeof v).toBe('string');
            if (type === 'int') expect(Number.isInteger(v)).toBe(true);
          }
        }
      }
    });

    it('a field missing from Point.fields reads back as null', async () => {
      const { store } = await fresh();
      await store.write([{ measurement: 'tcp', ts: BASE, tags: tags(), fields: { ok: false } }]);
      expect((await all(store, 'tcp'))[0]?.fields).toEqual({ ok: false, connect_ms: null, error: null, backfilled: null });
    });

    it('tag values with spaces, commas, =, quotes, backslashes and Vietnamese diacritics round-trip and filter exactly', async () => {
      const { store } = await fresh();
      const r = rng(2);
      const points: Point[] = [];
      TAG_KEYS.forEach((k, ki) => {
        NASTY.forEach((v, vi) => {
          const i = ki * NASTY.length + vi;
          // a distinct agent per point keeps keys unique whichever tag carries the nasty value
          points.push(samplePoint('icmp', i, r, { agent: `ag-${i}`, [k]: v }));
        });
      });
      await store.write(points);
      expect(await all(store, 'icmp')).toEqual(sorted(points));
      for (const k of TAG_KEYS) {
        for (const v of NASTY) {
          const want = points.filter((p) => p.tags[k] === v);
          expect(want.length).toBeGreaterThan(0);
          expect(await all(store, 'icmp', { [k]: v })).toEqual(sorted(want));
        }
      }
    });

    it('empty-string tags round-trip and can be filtered on', async () => {
      const { store } = await fresh();
      const r = rng(3);
      const a = samplePoint('agent', 0, r, { target: '', uplink: '' });
      const b = samplePoint('agent', 1, r, { target: '', uplink: 'wan1' });
      await store.write([a, b]);
      expect(await all(store, 'agent')).toEqual(sorted([a, b]));
      expect(await all(store, 'agent', { uplink: '' })).toEqual([a]);
      expect(await all(store, 'agent', { uplink: 'wan1' })).toEqual([b]);
      expect(await all(store, 'agent', { target: '', uplink: '' })).toEqual([a]);
    });

    it('filters by each tag and by several tags at once', async () => {
      const { store } = await fresh();
      const r = rng(4);
      const points: Point[] = [];
      let i = 0;
      for (const commune of ['21484', '21548'])
        for (const carrier of ['vnpt', 'viettel'])
          for (const target of ['dvc', 'ioffice'])
            for (const uplink of ['wan0', 'wan1'])
              points.push(samplePoint('http', i++, r, { province: commune === '21548' ? '46' : '51', commune, carrier, agent: `ag-${commune}-${carrier}`, target, uplink }));
      await store.write(points);
      for (const k of TAG_KEYS) {
        for (const v of new Set(points.map((p) => p.tags[k]))) {
          expect(await all(store, 'http', { [k]: v })).toEqual(sorted(points.filter((p) => p.tags[k] === v)));
        }
      }
      const where = { commune: '21548', carrier: 'viettel', uplink: 'wan1' };
      expect(await all(store, 'http', where)).toEqual(
        sorted(points.filter((p) => p.tags.commune === '21548' && p.tags.carrier === 'viettel' && p.tags.uplink === 'wan1')),
      );
      expect(await all(store, 'http', { agent: 'nobody' })).toEqual([]);
      // a filter on one measurement never returns another's points
      expect(await all(store, 'icmp')).toEqual([]);
    });

    it('time range: from is inclusive, to is exclusive; limit keeps the earliest', async () => {
      const { store } = await fresh();
      const r = rng(5);
      const points = [0, 1, 2, 3, 4].map((i) => ({ ...samplePoint('dns', i, r), ts: BASE + i * 1000 }));
      await store.write(points);
      const got = await store.queryRaw({ measurement: 'dns', from: BASE + 1000, to: BASE + 3000 });
      expect(got.map((p) => p.ts)).toEqual([BASE + 1000, BASE + 2000]);
      const edge = await store.queryRaw({ measurement: 'dns', from: BASE + 3000, to: BASE + 3001 });
      expect(edge.map((p) => p.ts)).toEqual([BASE + 3000]);
      expect(await store.queryRaw({ measurement: 'dns', from: BASE + 4001, to: BASE + 9000 })).toEqual([]);
      const limited = await store.queryRaw({ measurement: 'dns', ...RANGE, limit: 2 });
      expect(limited.map((p) => p.ts)).toEqual([BASE, BASE + 1000]);
    });

    it('replaying a batch does not duplicate; a rewrite overwrites', async () => {
      const { store } = await fresh();
      const r = rng(6);
      const batch = Array.from({ length: 40 }, (_, i) => samplePoint('icmp', i, r, { agent: `ag-${i % 4}` }));
      await store.write(batch);
      await store.write(batch);
      await Promise.all([store.write(batch), store.write(batch)]);
      expect(await all(store, 'icmp')).toEqual(sorted(batch));

      // Same keys, every field changed to a different non-null value.
      const rewrite = batch.map((p, i) => ({
        ...p,
        fields: { sent: 10, received: 10 - (i % 3), loss: (i % 3) * 10, rtt_min: i + 0.5, rtt_median: i + 1.5, rtt_avg: i + 1.25, rtt_max: i + 9, jitter: 0.25, error: `retry ${i}`, backfilled: i % 2 === 0 },
      }));
      await store.write(rewrite);
      expect(await all(store, 'icmp')).toEqual(sorted(rewrite));
    });

    it('a duplicate key inside one batch keeps the last one', async () => {
      const { store } = await fresh();
      const first = { measurement: 'tcp' as const, ts: BASE, tags: tags(), fields: { ok: false, connect_ms: 1, error: 'refused', backfilled: null } };
      const second = { ...first, fields: { ok: true, connect_ms: 2, error: 'none', backfilled: null } };
      await store.write([first, second]);
      expect(await all(store, 'tcp')).toEqual([second]);
    });

    it('concurrent writes all land', async () => {
      const { store } = await fresh();
      const r = rng(7);
      const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 150 }, (_, i) => samplePoint('tcp', i, r, { agent: `ag-${b}` })));
      await Promise.all(batches.map((b) => store.write(b)));
      const got = await all(store, 'tcp');
      expect(got).toHaveLength(8 * 150);
      expect(got).toEqual(sorted(batches.flat()));
    });

    it('a bad value rejects the whole batch with a TypeError, writes nothing', async () => {
      const { store } = await fresh();
      const good = { measurement: 'tcp' as const, ts: BASE, tags: tags(), fields: { ok: true, connect_ms: 3, error: null, backfilled: null } };
      const bad = { ...good, ts: BASE + 1, fields: { ok: 'yes' as unknown as boolean, connect_ms: 3, error: null, backfilled: null } };
      const err = await store.write([good, bad]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      const intAsFloat = { ...good, measurement: 'dns' as const, fields: { ok: true, total_ms: 1, answers: 1.5, rcode: null, error: null, backfilled: null } };
      await expect(store.write([intAsFloat])).rejects.toBeInstanceOf(TypeError);
      expect(await all(store, 'tcp')).toEqual([]);
      expect(await all(store, 'dns')).toEqual([]);
    });

    it('querySeries: means per bucket aligned to multiples of bucketMs since the epoch', async () => {
      const { store } = await fresh();
      const r = rng(8);
      const bucketMs = 60_000;
      const points: Point[] = [];
      for (let i = 0; i < 80; i++) {
        const agent = i % 2 === 0 ? 'ag-a' : 'ag-b';
        const ts = BASE + 7_000 + i * 11_000; // not aligned to the bucket
        const inGap = ts >= BASE + 300_000 && ts < BASE + 420_000; // two empty buckets
        if (inGap) continue;
        const rttNull = ts >= BASE + 600_000 && ts < BASE + 660_000; // a bucket where rtt_avg is all null
        points.push({
          measurement: 'icmp',
          ts,
          tags: tags({ agent }),
          fields: {
            sent: 10,
            received: Math.floor(r() * 11),
            loss: null,
            rtt_min: null,
            rtt_median: null,
            rtt_avg: rttNull ? null : Math.round(r() * 100_000) / 1000,
            rtt_max: null,
            jitter: i % 5 === 0 ? null : r() * 3,
            error: null,
            backfilled: null,
          },
        });
      }
      await store.write(points);

      const from = BASE + 30_000; // mid-bucket: the first bucket is partial but still labelled at its aligned start
      const to = BASE + 800_000;
      const expected = (agent?: string) => {
        const groups = new Map<number, Point[]>();
        for (const p of points) {
          if (p.ts < from || p.ts >= to || (agent && p.tags.agent !== agent)) continue;
          const t = Math.floor(p.ts / bucketMs) * bucketMs;
          groups.set(t, [...(groups.get(t) ?? []), p]);
        }
        const mean = (ps: Point[], f: string) => {
          const vs = ps.map((p) => p.fields[f]).filter((v): v is number => typeof v === 'number');
          return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
        };
        return [...groups.keys()]
          .sort((a, b) => a - b)
          .map((t) => ({ t, values: { rtt_avg: mean(groups.get(t)!, 'rtt_avg'), received: mean(groups.get(t)!, 'received'), jitter: mean(groups.get(t)!, 'jitter') } }));
      };
      const check = async (agent?: string) => {
        const got = await store.querySeries({
          measurement: 'icmp',
          fields: ['rtt_avg', 'received', 'jitter'],
          from,
          to,
          bucketMs,
          ...(agent ? { where: { agent } } : {}),
        });
        const want = expected(agent);
        expect(want.some((w) => w.values.rtt_avg === null)).toBe(true); // the all-null bucket is really there
        expect(got.map((g) => g.t)).toEqual(want.map((w) => w.t));
        got.forEach((g, i) => {
          for (const f of ['rtt_avg', 'received', 'jitter'] as const) {
            const w = want[i]!.values[f];
            if (w === null) expect(g.values[f]).toBeNull();
            else expect(g.values[f]).toBeCloseTo(w, 9);
          }
        });
        for (const g of got) expect(g.t % bucketMs).toBe(0);
      };
      await check();
      await check('ag-b');

      // A bucket whose requested fields are all null is not returned.
      const onlyLoss = await store.querySeries({ measurement: 'icmp', fields: ['loss'], from, to, bucketMs });
      expect(onlyLoss).toEqual([]);
      // Non-numeric fields are refused.
      await expect(store.querySeries({ measurement: 'icmp', fields: ['error'], from, to, bucketMs })).rejects.toThrow(/numeric/);
    });

    it('survives close() and reopen with a new store object', async () => {
      const backend = await h.backend();
      backends.push(backend);
      const r = rng(9);
      const points = MEASUREMENT_NAMES.map((m, i) => samplePoint(m, i, r, { commune: NASTY[0]! }));
      const a = backend.open();
      await a.init();
      await a.write(points);
      await a.close();
      await expect(a.write(points)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect((await a.health()).ok).toBe(false);

      const b = backend.open();
      open.push(b);
      await b.init();
      for (const m of MEASUREMENT_NAMES) expect(await all(b, m)).toEqual(points.filter((p) => p.measurement === m));
    });

    it('backend unavailable: init/write throw StoreUnavailableError promptly, health not ok; works once it is back', async () => {
      const backend = await h.backend();
      backends.push(backend);
      const r = rng(10);
      const batch = [samplePoint('http', 0, r), samplePoint('http', 1, r)];
      await backend.outage();
      try {
        const s = backend.open();
        open.push(s);
        let t0 = Date.now();
        await expect(s.init()).rejects.toBeInstanceOf(StoreUnavailableError);
        t0 = Date.now();
        await expect(s.write(batch)).rejects.toBeInstanceOf(StoreUnavailableError);
        expect(Date.now() - t0).toBeLessThan(8000);
        expect((await s.health()).ok).toBe(false);
      } finally {
        await backend.recover();
      }
      const s = backend.open();
      open.push(s);
      await s.init();
      await s.write(batch);
      expect(await all(s, 'http')).toEqual(sorted(batch));
      expect((await s.health()).ok).toBe(true);
    }, 60_000);

    describe('audit', () => {
      const entry = (seq: number, over: Partial<AuditRecord> = {}): AuditRecord => ({
        seq, ts: seq, who: 'quantri', action: 'auth.login', subject: 'quantri', source: '127.0.0.1', ...over,
      });

      it('round-trips entries with details (diacritics, quotes, nesting), newest first', async () => {
        const { store } = await fresh();
        const details = { before: { title: 'Bảo trì "cũ", \\ tuyến' }, after: { title: 'Bảo trì mới', days: ['sun'] }, n: 3 };
        const e = [entry(BASE), entry(BASE + 1, { who: 'vận-hành', action: 'maintenance.add', subject: 'bảo trì', source: null, details }), entry(BASE + 2)];
        await store.writeAudit(e);
        expect(await store.queryAudit({ limit: 10 })).toEqual([...e].reverse());
      });

      it('filters combine: time range (from inclusive, to exclusive), who, subject, action and action family; limit keeps the newest', async () => {
        const { store } = await fresh();
        const e = [
          entry(BASE, { action: 'auth.login.failed', who: 'x' }),
          entry(BASE + 10, { action: 'auth.login' }),
          entry(BASE + 20, { action: 'incident.ack', subject: 'local_link:21484:1' }),
          entry(BASE + 30, { action: 'auth.logout' }),
        ];
        await store.writeAudit(e);
        const seqs = async (q: Omit<AuditQuery, 'limit'>, limit = 100) => (await store.queryAudit({ ...q, limit })).map((x) => x.seq);
        expect(await seqs({ from: BASE + 10, to: BASE + 30 })).toEqual([BASE + 20, BASE + 10]);
        expect(await seqs({ who: 'x' })).toEqual([BASE]);
        expect(await seqs({ subject: 'local_link:21484:1' })).toEqual([BASE + 20]);
        expect(await seqs({ action: 'auth.login' })).toEqual([BASE + 10]);
        expect(await seqs({ action: 'auth.' })).toEqual([BASE + 30, BASE + 10, BASE]);
        expect(await seqs({ action: 'auth.', who: 'quantri' })).toEqual([BASE + 30, BASE + 10]);
        expect(await seqs({}, 2)).toEqual([BASE + 30, BASE + 20]);
      });

      it('entries written twice stay one; they survive a reopen', async () => {
        const { store, backend } = await fresh();
        await store.writeAudit([entry(BASE + 5)]);
        await store.writeAudit([entry(BASE + 5)]);
        await store.close();
        const again = backend.open();
        open.push(again);
        await again.init();
        expect(await again.queryAudit({ limit: 10 })).toEqual([entry(BASE + 5)]);
      });

      it('bad entries and queries are refused with a TypeError', async () => {
        const { store } = await fresh();
        await expect(store.writeAudit([entry(1.5)])).rejects.toBeInstanceOf(TypeError);
        await expect(store.writeAudit([{ ...entry(BASE), who: 3 as unknown as string }])).rejects.toBeInstanceOf(TypeError);
        await expect(store.queryAudit({ limit: -1 })).rejects.toBeInstanceOf(TypeError);
        expect(await store.queryAudit({ limit: 10 })).toEqual([]);
      });
    });

    describe('incidents', () => {
      const H = 3_600_000;
      function incident(over: Partial<Incident> = {}): Incident {
        return {
          id: `local_link:21484:${over.openedAt ?? BASE}`,
          cause: 'local_link',
          subject: '21484',
          openedAt: BASE,
          resolvedAt: null,
          communes: ['21484'],
          targets: ['gateway'],
          carrier: 'vnpt',
          severity: 'down',
          evidence: { summary: 'wan1 (vnpt): gateway không phản hồi (loss 100%)', figures: { lossPct: 100, agent: 'ag-21484', latencyMs: null } },
          acknowledgedBy: null,
          acknowledgedAt: null,
          notes: [],
          maintenance: false,
          ...over,
        };
      }
      const q = (store: Store, over: Partial<IncidentQuery> = {}) => store.queryIncidents({ ...RANGE, ...over });

      it('upsert by id: a rewrite replaces, never duplicates; survives reopening; optional fields round-trip', async () => {
        const backend = await h.backend();
        backends.push(backend);
        const a = backend.open();
        await a.init();
        const first = incident({ activeCommunes: ['21484'], mergedInto: null });
        await a.writeIncident(first);
        expect(await q(a)).toEqual([first]);
        const resolved: Incident = {
          ...first,
          resolvedAt: BASE + 600_000,
          severity: 'degraded',
          acknowledgedBy: 'trực ban',
          acknowledgedAt: BASE + 60_000,
          notes: [{ at: BASE + 120_000, by: 'nguyễn.văn.a', text: 'Đã gọi kỹ thuật VNPT Quảng Ngãi, đứt cáp quang tại xã Ba Tơ "km 12", chờ xử lý' }],
          activeCommunes: [],
          mergedInto: 'carrier:vnpt:123',
        };
        await a.writeIncident(resolved);
        await a.writeIncident(resolved);
        expect(await q(a)).toEqual([resolved]);
        await a.close();
        const b = backend.open();
        open.push(b);
        await b.init();
        expect(await q(b)).toEqual([resolved]);
      });

      it('Vietnamese and awkward text in notes and evidence round-trips exactly', async () => {
        const { store } = await fresh();
        const notes = NASTY.map((text, i) => ({ at: BASE + i, by: i % 2 ? 'Trần Thị Bích' : "o'brien", text: `${text}\nDòng 2: "trích dẫn" \\ ✓` }));
        const inc = incident({ notes, evidence: { summary: NASTY.join(' | '), figures: { 'tỷ lệ': 62.5, ghi_chú: 'Đặc khu Lý Sơn', x: null } } });
        await store.writeIncident(inc);
        expect(await q(store)).toEqual([inc]);
      });

      it('overlap: opened before `to` and not resolved by `from`; newest first', async () => {
        const { store } = await fresh();
        const before = incident({ id: 'before', openedAt: BASE - 3 * H, resolvedAt: BASE - 2 * H });
        const endsAtFrom = incident({ id: 'ends-at-from', openedAt: BASE - 2 * H, resolvedAt: BASE - H });
        const straddles = incident({ id: 'straddles', openedAt: BASE - 2 * H, resolvedAt: BASE - H + 1 });
        const stillOpen = incident({ id: 'still-open', openedAt: BASE - 5 * H, resolvedAt: null });
        const inside = incident({ id: 'inside', openedAt: BASE, resolvedAt: BASE + 60_000 });
        const startsAtTo = incident({ id: 'starts-at-to', openedAt: BASE + H, resolvedAt: null });
        const after = incident({ id: 'after', openedAt: BASE + 2 * H, resolvedAt: BASE + 3 * H });
        for (const i of [before, endsAtFrom, straddles, stillOpen, inside, startsAtTo, after]) await store.writeIncident(i);
        const got = await store.queryIncidents({ from: BASE - H, to: BASE + H });
        expect(got.map((i) => i.id)).toEqual(['inside', 'straddles', 'still-open']);
        expect((await store.queryIncidents({ from: BASE - H, to: BASE + H, openOnly: true })).map((i) => i.id)).toEqual(['still-open']);
        expect((await store.queryIncidents({ from: 0, to: BASE + 10 * H, openOnly: true })).map((i) => i.id)).toEqual(['starts-at-to', 'still-open']);
        // ties on openedAt: id descending, the same in both stores
        expect((await store.queryIncidents({ from: BASE - 2 * H - 1, to: BASE - 2 * H + 1 })).map((i) => i.id)).toEqual(['straddles', 'ends-at-from', 'before', 'still-open']);
        // later ranges: only what is still open
        expect((await store.queryIncidents({ from: BASE + 4 * H, to: BASE + 5 * H })).map((i) => i.id)).toEqual(['starts-at-to', 'still-open']);
        expect(await store.queryIncidents({ from: BASE - 10 * H, to: BASE - 9 * H })).toEqual([]);
      });

      it('filters: cause, commune, carrier, target, id, limit, and combinations', async () => {
        const { store } = await fresh();
        const carrierInc = incident({ id: 'carrier:viettel:1', cause: 'carrier', subject: 'viettel', carrier: 'viettel', communes: ['21484', '21500', '21520'], targets: ['gateway', 'dc'], openedAt: BASE + 3000 });
        const service = incident({ id: 'service:dvc:1', cause: 'service', subject: 'dvc', carrier: null, communes: ['21500', '21520'], targets: ['dvc'], openedAt: BASE + 2000 });
        const local = incident({ id: 'local_link:21484:1', openedAt: BASE + 1000 });
        const agent = incident({ id: 'agent:21600:1', cause: 'agent', subject: '21600', carrier: 'fpt', communes: ['21600'], targets: [], openedAt: BASE, resolvedAt: BASE + 5000 });
        for (const i of [agent, local, service, carrierInc]) await store.writeIncident(i);
        const ids = async (over: Partial<IncidentQuery>) => (await q(store, over)).map((i) => i.id);
        expect(await ids({})).toEqual([carrierInc.id, service.id, local.id, agent.id]);
        expect(await ids({ cause: 'service' })).toEqual([service.id]);
        expect(await ids({ commune: '21484' })).toEqual([carrierInc.id, local.id]);
        expect(await ids({ commune: '2148' })).toEqual([]); // whole codes, not substrings
        expect(await ids({ carrier: 'vnpt' })).toEqual([local.id]);
        expect(await ids({ target: 'gateway' })).toEqual([carrierInc.id, local.id]);
        expect(await ids({ target: 'dvc', commune: '21520' })).toEqual([service.id]);
        expect(await ids({ cause: 'carrier', commune: '21600' })).toEqual([]);
        expect(await ids({ id: agent.id })).toEqual([agent.id]);
        expect(await ids({ openOnly: true, commune: '21600' })).toEqual([]);
        expect(await ids({ limit: 2 })).toEqual([carrierInc.id, service.id]);
        expect(await ids({ commune: '21500', limit: 1 })).toEqual([carrierInc.id]);
      });
    });
  });
});

// ---------- store-specific failure modes ----------

describe.skipIf(SKIP_INFLUX)('InfluxStore against a real influxd: down, hung, crashed', () => {
  let ifx: Influxd;
  let n = 0;
  const cfg = () => ({ url: ifx.url, database: `down_${process.pid}_${++n}`, createDatabase: true });
  beforeAll(async () => {
    ifx = await startInfluxd();
  }, 60_000);
  afterAll(async () => {
    await ifx?.dispose();
  }, 30_000);

  it('a URL on a closed loopback port: init, write fail fast with StoreUnavailableError; health not ok', async () => {
    const port = await freePort(); // bound then released: nothing listens there
    const s = new InfluxStore({ url: `http://127.0.0.1:${port}`, database: 'x', createDatabase: true });
    const t0 = Date.now();
    await expect(s.init()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(s.write([{ measurement: 'tcp', ts: BASE, tags: tags(), fields: { ok: true, connect_ms: 1, error: null, backfilled: null } }])).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect((await s.health()).ok).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5000);
    const noCreate = new InfluxStore({ url: `http://127.0.0.1:${port}`, database: 'x', createDatabase: false });
    await expect(noCreate.init()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('influxd stopped under an initialised store: writes fail, then succeed on the same object after restart', async () => {
    const s = new InfluxStore(cfg());
    await s.init();
    const p = (i: number): Point => ({ measurement: 'tcp', ts: BASE + i, tags: tags(), fields: { ok: true, connect_ms: i, error: null, backfilled: null } });
    await s.write([p(1)]);
    await ifx.stop();
    const t0 = Date.now();
    await expect(s.write([p(2)])).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect(s.queryRaw({ measurement: 'tcp', ...RANGE })).rejects.toBeInstanceOf(StoreUnavailableError);
    expect((await s.health()).ok).toBe(false);
    await ifx.restart();
    await s.write([p(2)]);
    expect((await s.queryRaw({ measurement: 'tcp', ...RANGE })).map((x) => x.ts)).toEqual([BASE + 1, BASE + 2]);
    expect((await s.health()).ok).toBe(true);
  }, 60_000);

  it('a hung influxd (SIGSTOP): write gives up after the request timeout instead of hanging', async () => {
    const s = new InfluxStore(cfg(), { timeoutMs: 1500 });
    await s.init();
    ifx.pause();
    try {
      const t0 = Date.now();
      await expect(s.write([{ measurement: 'tcp', ts: BASE, tags: tags(), fields: { ok: true, connect_ms: 1, error: null, backfilled: null } }])).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      const dt = Date.now() - t0;
      expect(dt).toBeGreaterThanOrEqual(1400);
      expect(dt).toBeLessThan(5000);
      expect((await s.health()).ok).toBe(false);
    } finally {
      ifx.resume();
    }
    await s.write([{ measurement: 'tcp', ts: BASE + 5, tags: tags(), fields: { ok: true, connect_ms: 1, error: null, backfilled: null } }]);
    expect((await s.queryRaw({ measurement: 'tcp', ...RANGE })).map((x) => x.ts)).toContain(BASE + 5);
  }, 30_000);

  it('an acknowledged write survives SIGKILL of influxd', async () => {
    const s = new InfluxStore(cfg());
    await s.init();
    const r = rng(11);
    const batch = Array.from({ length: 50 }, (_, i) => samplePoint('icmp', i, r));
    await s.write(batch);
    await ifx.kill();
    await ifx.restart();
    expect(await s.queryRaw({ measurement: 'icmp', ...RANGE })).toEqual(sorted(batch));
  }, 60_000);

  it('a dropped database is recreated on the next write (createDatabase: true)', async () => {
    const c = cfg();
    const s = new InfluxStore(c);
    await s.init();
    const res = await fetch(`${ifx.url}/query?q=${encodeURIComponent(`DROP DATABASE "${c.database}"`)}`, { method: 'POST' });
    expect(res.status).toBe(200);
    const pt: Point = { measurement: 'tcp', ts: BASE, tags: tags(), fields: { ok: true, connect_ms: 1, error: null, backfilled: null } };
    await s.write([pt]);
    expect(await s.queryRaw({ measurement: 'tcp', ...RANGE })).toEqual([pt]);
  });

  it('refuses tag values line protocol cannot carry, with a TypeError', async () => {
    const s = new InfluxStore(cfg());
    await s.init();
    const pt = (agent: string): Point => ({ measurement: 'tcp', ts: BASE, tags: tags({ agent }), fields: { ok: true, connect_ms: 1, error: null, backfilled: null } });
    await expect(s.write([pt('ends with \\')])).rejects.toBeInstanceOf(TypeError);
    await expect(s.write([pt('two\nlines')])).rejects.toBeInstanceOf(TypeError);
  });
});

describe('DuckDbStore: durability', () => {
  it('a write acknowledged by a process that is then SIGKILLed is in the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duck-crash-'));
    try {
      const file = join(dir, 'a', 'b', 'ioc.duckdb');
      const c = duckdbChild(file);
      await c.acked;
      await killAndWait(c.proc);
      expect(existsSync(file)).toBe(true);
      const s = new DuckDbStore(file);
      await s.init();
      const got = await s.queryRaw({ measurement: 'tcp', ...RANGE });
      await s.close();
      expect(got).toEqual([
        { measurement: 'tcp', ts: BASE, tags: { province: '51', commune: '21484', carrier: 'vnpt', agent: 'child', target: 'crash', uplink: '' }, fields: { ok: true, connect_ms: 12.5, error: null, backfilled: null } },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('keeps a tag value ending with a backslash (InfluxDB refuses it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duck-bs-'));
    const s = new DuckDbStore(join(dir, 'x.duckdb'));
    try {
      await s.init();
      const pt: Point = { measurement: 'tcp', ts: BASE, tags: tags({ agent: 'ends with \\' }), fields: { ok: true, connect_ms: 1, error: null, backfilled: null } };
      await s.write([pt]);
      expect(await s.queryRaw({ measurement: 'tcp', ...RANGE })).toEqual([pt]);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
