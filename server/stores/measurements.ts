// The measurement schema: a public interface (Grafana users query it). Documented in README "Measurements".
export type FieldType = 'float' | 'int' | 'bool' | 'string';

export interface MeasurementDef {
  /** field name -> type; every point of the measurement carries these (null = not measured) */
  fields: Record<string, FieldType>;
}

export const MEASUREMENTS = {
  icmp: {
    fields: {
      sent: 'int',
      received: 'int',
      loss: 'float',
      rtt_min: 'float',
      rtt_median: 'float',
      rtt_avg: 'float',
      rtt_max: 'float',
      jitter: 'float',
      error: 'string',
      backfilled: 'bool',
    },
  },
  http: {
    fields: {
      ok: 'bool',
      status: 'int',
      dns_ms: 'float',
      connect_ms: 'float',
      tls_ms: 'float',
      ttfb_ms: 'float',
      total_ms: 'float',
      cert_days_left: 'float',
      cert_issuer: 'string',
      redirects: 'int',
      error: 'string',
      backfilled: 'bool',
    },
  },
  dns: { fields: { ok: 'bool', total_ms: 'float', answers: 'int', rcode: 'string', error: 'string', backfilled: 'bool' } },
  tcp: { fields: { ok: 'bool', connect_ms: 'float', error: 'string', backfilled: 'bool' } },
  agent: {
    fields: { pending: 'int', dropped: 'int', uptime_s: 'float', clock_offset_ms: 'float', rtt_ms: 'float', spool_bytes: 'int' },
  },
} as const satisfies Record<string, MeasurementDef>;

export type MeasurementName = keyof typeof MEASUREMENTS;
export const MEASUREMENT_NAMES = Object.keys(MEASUREMENTS) as MeasurementName[];
