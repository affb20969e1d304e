// What the server knows about a probe kind, in one descriptor per kind (server/kinds/<kind>.ts).
// Everything that differs between kinds (stored fields, how a round is judged, plan targets, chart series, the
// demo's simulated results) is read from the registry (index.ts), never switched on elsewhere.
import type { AgentConfig, Config, Target, Thresholds } from '../../config/schema.ts';
import type { PlanTarget, ProbeResult } from '../../config/wire.ts';
import type { Reason } from '../../config/vocabulary.ts';

export type Kind = ProbeResult['kind'];
export type ResultOf<K extends Kind> = Extract<ProbeResult, { kind: K }>;
export type TargetOf<K extends Kind> = Extract<Target, { kind: K }>;
export type PlanTargetOf<K extends Kind> = Extract<PlanTarget, { kind: K }>;

export type FieldType = 'float' | 'int' | 'bool' | 'string';
export type FieldValue = number | string | boolean | null;

export type Verdict = 'good' | 'slow' | 'fail';

/** One round judged: the verdict and the figures the live map and the rollups keep. */
export interface Classified {
  verdict: Verdict;
  /** the kind's headline latency (ICMP median RTT, HTTP/DNS total time, TCP connect time), ms */
  latencyMs: number | null;
  /** ICMP loss %, or 0/100 for checks that pass/fail */
  lossPct: number | null;
  /** why a verdict is not good */
  reason: Reason | null;
}

/** What the simulator knows of a commune when it invents a round (agent/simulator/model.ts). */
export interface SimContext {
  rnd: () => number;
  /** the commune is in a simulated outage */
  down: boolean;
  /** carrier base RTT plus the commune's remoteness, ms */
  baseMs: number;
  /** extra RTT for remote communes, ms */
  remoteMs: number;
  /** background loss %, high in weak-signal communes */
  baseLoss: number;
}

/** `In`: the figures of a round that `classify` reads, a subset of both the wire result and the stored fields. */
export interface KindDescriptor<K extends Kind, In extends Partial<ResultOf<K>> = Partial<ResultOf<K>>> {
  /**
   * Stored fields and their types: the measurement schema, a public interface (Grafana users query it; README
   * "Measurements"). A wire result's field of the same name is stored as is; `backfilled` is set by the server.
   */
  fields: Record<string, FieldType>;
  /** the field every stored round carries (what counts a measurement's raw points) */
  primaryField: string;
  /**
   * Stored fields -> the typed figures `classify` reads, or null when they cannot give a verdict. A wire result is
   * such a view already (same names), so live rounds and stored rounds are judged by the same function.
   */
  view(fields: Record<string, FieldValue>): In | null;
  /** one round: good, slow (answered past a threshold) or fail (nothing answered) */
  classify(r: In, th: Thresholds): Classified;
  /** the threshold `latencyMs` is compared with */
  latencyLimitMs(th: Thresholds): number;
  /**
   * Its rounds describe the uplink itself (ICMP): a commune's headline latency/loss, the carrier reports' link rows,
   * the default chart.
   */
  describesLink: boolean;
  /**
   * false: its rounds are stored and reported but hold no live-status slot (a test a few times a day would turn a
   * commune unknown between tests, or red for one slow test). Absent = true.
   */
  live?: boolean;
  /** the target measures each uplink's own LAN gateway (not a service beyond it) */
  measuresGateway(t: TargetOf<K>): boolean;
  /** stored fields behind the chart's latency and loss series */
  chart: { latency: string; loss: string | null };
  /** default round interval from the config's defaults, s */
  defaultIntervalSec(d: Config['defaults']): number;
  /** a config target -> what one agent is asked to probe (none, one, or one per uplink) */
  plan(t: TargetOf<K>, agent: AgentConfig, base: PlanBase): PlanTargetOf<K>[];
  /** the demo's invented round for a plan target (agent/simulator/model.ts) */
  simulate(t: PlanTargetOf<K>, ctx: SimContext, stamp: Stamp): ResultOf<K>;
}

/** What every wire result carries besides its kind's figures. */
export interface Stamp {
  target: string;
  ts: number;
  uplink: string | undefined;
}

export interface PlanBase {
  id: string;
  intervalSec: number;
  timeoutMs: number;
}

// ---- helpers for descriptors ----

export const num = (v: FieldValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const str = (v: FieldValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
export const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * A pass/fail check (HTTP, DNS, TCP): `fail` when not ok, `slow` past `responseMs`, else `good`; loss is 0 or 100.
 * `failedMs`: the latency a failed check still reports (HTTP/DNS time to the failing answer; TCP none).
 */
export function judgeCheck(ok: boolean, ms: number | null, th: Thresholds, failure: () => Reason, failedMs: number | null = ms): Classified {
  if (!ok) return { verdict: 'fail', latencyMs: failedMs, lossPct: 100, reason: failure() };
  if (ms !== null && ms > th.responseMs) return { verdict: 'slow', latencyMs: ms, lossPct: 0, reason: { code: 'slow', ms: Math.round(ms) } };
  return { verdict: 'good', latencyMs: ms, lossPct: 0, reason: null };
}
