// Store registry: one factory per `store.kind` of the config. Adding a store = one file + one line here.
import { isAbsolute, resolve } from 'node:path';
import type { StoreConfig } from '../../config/schema.ts';
import { DuckDbStore } from './duckdb.ts';
import { InfluxStore } from './influx.ts';
import type { Store } from './types.ts';

export interface StoreContext {
  /** server.dataDir; relative store files live under it */
  dataDir: string;
}

type Loosen<T> = T extends unknown ? Omit<T, 'rawRetentionDays' | 'rollupPolicy'> & { rawRetentionDays?: number; rollupPolicy?: string } : never;
/** A store config as parsed, or written by hand (tests, benches) without the rollup fields that have defaults. */
export type StoreSettings = Loosen<StoreConfig>;

export type StoreFactory<K extends StoreConfig['kind'] = StoreConfig['kind']> = (
  cfg: Extract<StoreSettings, { kind: K }>,
  ctx: StoreContext,
) => Store;

export const storeFactories = {
  duckdb: (cfg, ctx) =>
    new DuckDbStore(isAbsolute(cfg.file) ? cfg.file : resolve(ctx.dataDir, cfg.file), { memoryLimit: cfg.memoryLimit, threads: cfg.threads }),
  influx: (cfg) => new InfluxStore(cfg),
} satisfies { [K in StoreConfig['kind']]: StoreFactory<K> };

/** Builds the configured store; call init() on it before use. */
export function createStore(cfg: StoreSettings, ctx: StoreContext): Store {
  const factory = storeFactories[cfg.kind] as StoreFactory;
  return factory(cfg, ctx);
}
