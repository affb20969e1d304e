// Attribution off the ingest thread: the worker's findings are attribute()'s on the same input, a small input stays
// on the calling thread, and the engine's loop settles incidents from the worker's findings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IncidentEngine } from '../../server/incidents/engine.ts';
import { DuckDbStore } from '../../server/stores/duckdb.ts';
import { attribute, DEFAULT_ATTRIBUTION } from '../../server/state/attribution.ts';
import { AttributionThread } from '../../server/state/attribution-thread.ts';
import { code, province, WORLD_NOW } from '../helpers/attribution-world.ts';

let thread: AttributionThread | null = null;
afterEach(async () => {
  await thread?.close();
  thread = null;
});

describe('attribution off the ingest thread', () => {
  it('the worker finds what attribute() finds: a cut link, a silent agent, a service down everywhere, a carrier outage', async () => {
    const errors: unknown[] = [];
    thread = new AttributionThread(0, (err) => errors.push(err));
    const w = province();
    for (let i = 21; i <= 60; i++) w.add(`ag-${code(i)}`, code(i), ['vnpt']);
    const cases = [
      () => w.cut(`ag-${code(3)}`),
      () => w.silence(`ag-${code(5)}`),
      () => [...w.agents].forEach((a) => a.id !== `ag-${code(5)}` && w.set(a.id, 'portal', 'down')),
      () => [9, 10, 11, 12, 13, 14].forEach((i) => w.cut(`ag-${code(i)}`)),
    ];
    for (const step of cases) {
      step();
      // as the incident engine's source gives it: attribution's input and more (a function the worker cannot take)
      const input = { ...w.input(WORLD_NOW + 1000), siteOf: (id: string) => ({ name: id, kind: 'school' }) };
      const off = thread.run(input, DEFAULT_ATTRIBUTION);
      expect(off).not.toBeNull();
      const found = await off!;
      expect(found.length).toBeGreaterThan(0);
      expect(found).toEqual(attribute(input, DEFAULT_ATTRIBUTION));
    }
    expect(errors).toEqual([]);
  });

  it('an input below the threshold is left to the calling thread', () => {
    thread = new AttributionThread(10_000);
    expect(thread.run(province().input(), DEFAULT_ATTRIBUTION)).toBeNull();
  });

  it.each([
    ['its input built at once', false],
    ['its input built in slices (sourceSliced)', true],
  ])("the engine's loop opens an incident from the worker's findings, %s", async (_name, sliced) => {
    thread = new AttributionThread(0);
    const w = province().cut(`ag-${code(3)}`);
    let now = WORLD_NOW;
    const d = mkdtempSync(join(tmpdir(), 'attribution-thread-'));
    const store = new DuckDbStore(join(d, 'ioc.duckdb'));
    await store.init();
    const engine = new IncidentEngine({
      store, source: (t) => w.input(t), now: () => now,
      thresholds: { ...DEFAULT_ATTRIBUTION, confirmSec: 0 }, offThread: (input, th) => thread!.run(input, th),
      // the sliced source answers a turn of the event loop later; the plain one must then never be asked
      ...(sliced ? { sourceSliced: (t: number) => new Promise<ReturnType<typeof w.input>>((res) => setImmediate(() => res(w.input(t)))), source: () => expect.unreachable('source') } : {}),
    });
    await engine.start();
    const opened: string[] = [];
    engine.on((e) => e.kind === 'opened' && opened.push(e.incident.subject));
    engine.startLoop(50);
    for (let i = 0; i < 100 && !opened.length; i++) {
      now += 1000;
      await new Promise((r) => setTimeout(r, 50));
    }
    await engine.close();
    await store.close();
    rmSync(d, { recursive: true, force: true });
    expect(opened).toContain(code(3));
  });
});
