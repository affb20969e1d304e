// Probe kind descriptors (server/kinds/): every kind is complete on both sides, and a stored round is judged exactly
// like the live one it was written from.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { probes } from '../../agent/probes/index.ts';
import { mulberry32 } from '../../agent/simulator/model.ts';
import { configSchema, DEFAULT_THRESHOLDS, targetSchema, type ProvinceFile, type Thresholds } from '../../config/schema.ts';
import { planTargetSchema, resultSchema, type ProbeResult } from '../../config/wire.ts';
import { buildDirectory } from '../../server/directory.ts';
import { toPoint } from '../../server/ingest/enrich.ts';
import { classifyFields, isGatewayTarget, KIND_NAMES, KINDS, kindOf, LINK_KINDS } from '../../server/kinds/index.ts';
import { classify } from '../../server/state/status.ts';
import { MEASUREMENTS } from '../../server/stores/measurements.ts';
import { ROLLUP_MEASUREMENTS } from '../../server/stores/types.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const province = JSON.parse(readFileSync(join(ROOT, 'config/provinces/51.json'), 'utf8')) as ProvinceFile;
const commune = province.communes[0]!.code;
const HASH = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';
const cfg = configSchema.parse({
  province: { code: '51' },
  carriers: [{ id: 'vnpt', name: 'VNPT' }, { id: 'viettel', name: 'Viettel' }],
  targets: [
    { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway' },
    { id: 'dc', name: 'Trung tâm dữ liệu', kind: 'icmp', host: '203.0.113.9' },
    { id: 'portal', name: 'Cổng dịch vụ công', kind: 'http', url: 'https://dichvucong.example.vn/' },
    { id: 'resolver', name: 'DNS tỉnh', kind: 'dns', resolver: '203.0.113.53', query: 'example.vn' },
    { id: 'smtp', name: 'Thư điện tử', kind: 'tcp', host: 'mail.example.vn', port: 25 },
  ],
  agents: [
    {
      id: 'ag-1',
      commune,
      tokenHash: HASH,
      uplinks: [
        { name: 'fiber', carrier: 'vnpt', gateway: '192.0.2.1' },
        { name: '4g', carrier: 'viettel' },
      ],
    },
  ],
});
const dir = buildDirectory(cfg, province);

const stamp = { target: 't', ts: 1_750_000_000_000, uplink: undefined };
const icmp = (received: number, median: number | null, error?: string): ProbeResult => ({
  kind: 'icmp', ...stamp, sent: 10, received, loss: ((10 - received) / 10) * 100,
  rtt_min: median, rtt_median: median, rtt_avg: median, rtt_max: median, jitter: median === null ? null : 0.4, rtts: [], ...(error ? { error } : {}),
});

/** Rounds of every kind and verdict, including the edge cases of each classify. */
const ROUNDS: ProbeResult[] = [
  icmp(10, 12),
  icmp(10, 400),
  icmp(9, 12),
  icmp(1, 30),
  icmp(0, null),
  icmp(0, null, 'unreachable'),
  { kind: 'http', ...stamp, ok: true, status: 200, total_ms: 250, dns_ms: 3, connect_ms: 20, tls_ms: 40, ttfb_ms: 150, cert_days_left: 80, cert_issuer: "CN=R10, O=Let's Encrypt", redirects: 1 },
  { kind: 'http', ...stamp, ok: true, status: 200, total_ms: 4200 },
  { kind: 'http', ...stamp, ok: false, status: 503, total_ms: 90, error: 'status' },
  { kind: 'http', ...stamp, ok: false, status: null, total_ms: null, error: 'timeout' },
  { kind: 'http', ...stamp, ok: false, status: 200, total_ms: 120, error: 'keyword' },
  { kind: 'dns', ...stamp, ok: true, total_ms: 8, answers: 2, rcode: 'NOERROR' },
  { kind: 'dns', ...stamp, ok: true, total_ms: 3500, answers: 1, rcode: 'NOERROR' },
  { kind: 'dns', ...stamp, ok: false, total_ms: 12, answers: 0, rcode: 'NXDOMAIN' },
  { kind: 'dns', ...stamp, ok: false, total_ms: null, answers: 0, rcode: 'TIMEOUT', error: 'timeout' },
  { kind: 'tcp', ...stamp, ok: true, connect_ms: 15 },
  { kind: 'tcp', ...stamp, ok: true, connect_ms: 3100 },
  { kind: 'tcp', ...stamp, ok: false, connect_ms: null, error: 'refused' },
  { kind: 'tcp', ...stamp, ok: false, connect_ms: null },
  { kind: 'ocsp', ...stamp, ok: true, cert_status: 'good', total_ms: 80, next_update_s: 86_000, this_update_age_s: 400, crl_ok: true, crl_ms: 120, crl_bytes: 24_000, crl_next_update_s: 200_000 },
  { kind: 'ocsp', ...stamp, ok: true, cert_status: null, total_ms: 3500, crl_ok: true, crl_ms: 3500, crl_bytes: 2_000_000 },
  { kind: 'ocsp', ...stamp, ok: false, cert_status: 'good', total_ms: 90, next_update_s: -3600, error: 'stale: nextUpdate passed' },
  { kind: 'ocsp', ...stamp, ok: false, cert_status: null, total_ms: null, error: 'refused' },
  { kind: 'tsa', ...stamp, ok: true, total_ms: 150, tsa_status: 0, skew_ms: -400, signer: 'CN=TSA, O=CA, C=VN' },
  { kind: 'tsa', ...stamp, ok: true, total_ms: 2900, tsa_status: 0, skew_ms: 100 },
  { kind: 'tsa', ...stamp, ok: false, total_ms: 60, tsa_status: 2, error: 'rejected: rejection' },
  { kind: 'throughput', ...stamp, ok: true, down_mbps: 9.5, up_mbps: 9.4, loaded_rtt_ms: 48, idle_rtt_ms: 2, duration_ms: 21_000, bytes: 23_700_000 },
  { kind: 'throughput', ...stamp, ok: true, down_mbps: 3.8, up_mbps: 1.1, loaded_rtt_ms: 3400, duration_ms: 22_000, bytes: 6_000_000 },
  { kind: 'throughput', ...stamp, ok: false, down_mbps: null, up_mbps: null, loaded_rtt_ms: null, duration_ms: 2_100, bytes: 0, error: 'busy: 5.2 Mbit/s of other traffic' },
];

const THRESHOLDS: Thresholds[] = [DEFAULT_THRESHOLDS, { ...DEFAULT_THRESHOLDS, lossPct: 5, rttMs: 20, responseMs: 100 }];

describe('probe kinds', () => {
  it('every wire kind has a descriptor, a measurement, a rollup, an agent probe and a config target schema', () => {
    const wire = resultSchema.options.map((o) => o.shape.kind.value).sort();
    expect([...KIND_NAMES].sort()).toEqual(wire);
    expect(planTargetSchema.options.map((o) => o.shape.kind.value).sort()).toEqual(wire);
    expect(targetSchema.options.map((o) => o.shape.kind.value).sort()).toEqual(wire);
    expect(Object.keys(probes).sort()).toEqual(wire);
    expect([...ROLLUP_MEASUREMENTS].sort()).toEqual(wire);
    for (const k of KIND_NAMES) {
      const fields = MEASUREMENTS[k].fields;
      expect(fields).toEqual({ ...KINDS[k].fields, backfilled: 'bool' });
      expect(Object.keys(fields)).toContain(KINDS[k].primaryField);
      // the chart's series are numeric fields of the measurement (querySeries refuses anything else)
      for (const f of [KINDS[k].chart.latency, KINDS[k].chart.loss]) if (f !== null) expect(['float', 'int']).toContain(fields[f]);
    }
    expect(LINK_KINDS).toEqual(['icmp']);
    expect(Object.keys(MEASUREMENTS)).toContain('agent');
  });

  it.each(ROUNDS.map((r) => [r.kind, r] as const))('%s: view + classify of the stored fields = classify of the wire result', (_kind, r) => {
    expect(resultSchema.safeParse(r).success).toBe(true);
    // stored through the real ingest path (enrich.ts)
    const p = toPoint(dir, 'ag-1', { ...r, target: 'gw' });
    expect(p.measurement).toBe(r.kind);
    for (const th of THRESHOLDS) {
      const live = classify(r, th);
      expect(classifyFields(r.kind, p.fields, th)).toEqual(live);
      expect(classifyFields(r.kind, JSON.parse(JSON.stringify(p.fields)) as typeof p.fields, th)).toEqual(live);
    }
  });

  it('the verdicts of the table cover good, slow and fail for every kind', () => {
    for (const k of KIND_NAMES) {
      const verdicts = new Set(ROUNDS.filter((r) => r.kind === k).flatMap((r) => THRESHOLDS.map((th) => classify(r, th).verdict)));
      expect([...verdicts].sort()).toEqual(['fail', 'good', 'slow']);
    }
  });

  it('stored fields that cannot give a verdict are no round', () => {
    for (const k of KIND_NAMES) expect(classifyFields(k, {}, DEFAULT_THRESHOLDS)).toBeNull();
    expect(classifyFields('icmp', { received: 3, loss: null }, DEFAULT_THRESHOLDS)).toBeNull();
    expect(classifyFields('http', { ok: null, total_ms: 12 }, DEFAULT_THRESHOLDS)).toBeNull();
  });

  it('headline latency is compared with the limit each kind names', () => {
    const th = { ...DEFAULT_THRESHOLDS, rttMs: 50, responseMs: 900 };
    for (const r of ROUNDS) {
      const c = classify(r, th);
      if (c.verdict === 'good' && c.latencyMs !== null) expect(c.latencyMs).toBeLessThanOrEqual(kindOf(r.kind).latencyLimitMs(th));
    }
    expect(KINDS.icmp.latencyLimitMs(th)).toBe(50);
    for (const k of ['http', 'dns', 'tcp'] as const) expect(KINDS[k].latencyLimitMs(th)).toBe(900);
  });

  it('config targets become plan targets: a gateway ping per uplink that knows its gateway, one of everything else', () => {
    const plan = dir.planFor('ag-1', 0, 30)!;
    for (const t of plan.targets) expect(planTargetSchema.safeParse(t).success).toBe(true);
    expect(plan.targets.map((t) => [t.id, t.kind, t.uplink, t.intervalSec])).toEqual([
      ['gw', 'icmp', 'fiber', cfg.defaults.icmpIntervalSec],
      ['dc', 'icmp', undefined, cfg.defaults.icmpIntervalSec],
      ['portal', 'http', undefined, cfg.defaults.httpIntervalSec],
      ['resolver', 'dns', undefined, cfg.defaults.httpIntervalSec],
      ['smtp', 'tcp', undefined, cfg.defaults.httpIntervalSec],
    ]);
    expect(plan.targets[0]).toMatchObject({ host: '192.0.2.1', count: 10, spacingMs: 200 });
    expect(cfg.targets.filter(isGatewayTarget).map((t) => t.id)).toEqual(['gw']);
  });

  it('the simulator invents valid wire results of every kind, failed ones in an outage', () => {
    const plan = dir.planFor('ag-1', 0, 30)!;
    for (const down of [false, true]) {
      for (const t of plan.targets) {
        const ctx = { rnd: mulberry32(7), down, baseMs: 25, remoteMs: 10, baseLoss: 0 };
        const r = kindOf(t.kind).simulate(t, ctx, { target: t.id, ts: 1000, uplink: t.uplink ?? 'fiber' });
        expect(resultSchema.parse(r)).toMatchObject({ kind: t.kind, target: t.id, ts: 1000 });
        expect(classify(r, DEFAULT_THRESHOLDS).verdict === 'fail').toBe(down);
      }
    }
  });
});
