// The measurement schema: a public interface (Grafana users query it). Documented in README "Measurements".
// One measurement per probe kind, its fields from the kind's descriptor (server/kinds/), plus `agent` (health).
import { KIND_NAMES, KINDS } from '../kinds/index.ts';
import type { FieldType, Kind } from '../kinds/types.ts';

export type { FieldType } from '../kinds/types.ts';

export interface MeasurementDef {
  /** field name -> type; every point of the measurement carries these (null = not measured) */
  fields: Record<string, FieldType>;
}

/** `backfilled`: the round arrived late (replayed from an agent's spool); set by the server. */
const probeMeasurements = Object.fromEntries(
  KIND_NAMES.map((k): [Kind, MeasurementDef] => [k, { fields: { ...KINDS[k].fields, backfilled: 'bool' } }]),
) as Record<Kind, MeasurementDef>;

export const MEASUREMENTS = {
  ...probeMeasurements,
  agent: {
    fields: { pending: 'int', dropped: 'int', uptime_s: 'float', clock_offset_ms: 'float', rtt_ms: 'float', spool_bytes: 'int' },
  },
} satisfies Record<string, MeasurementDef>;

export type MeasurementName = keyof typeof MEASUREMENTS;
export const MEASUREMENT_NAMES = Object.keys(MEASUREMENTS) as MeasurementName[];

/** built once: validation and the stores ask for every point written */
const FIELD_DEFS = new Map(MEASUREMENT_NAMES.map((m) => [m, Object.freeze(Object.entries(MEASUREMENTS[m].fields))] as const));

/** A measurement's fields in schema order; a TypeError for a name that is not a measurement. */
export function fieldDefs(m: MeasurementName): readonly [string, FieldType][] {
  const defs = Object.hasOwn(MEASUREMENTS, m) ? FIELD_DEFS.get(m) : undefined;
  if (!defs) throw new TypeError(`unknown measurement "${m}"`);
  return defs;
}
