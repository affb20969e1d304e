// Link speed test (QCVN 34): download and upload goodput of one uplink and the RTT while loaded.
import type { ThroughputResult } from '../../config/wire.ts';
import { clip, type Probe, type TargetOf } from './types.ts';

export type ThroughputTarget = TargetOf<'throughput'>;

export function createThroughputProbe(): Probe<ThroughputTarget> {
  const failure = (target: ThroughputTarget, ts: number, message: string): ThroughputResult => ({
    target: target.id,
    ts,
    kind: 'throughput',
    ok: false,
    down_mbps: null,
    up_mbps: null,
    loaded_rtt_ms: null,
    duration_ms: null,
    bytes: 0,
    error: clip(/^(timeout|aborted)/.test(message) ? message : `other: ${message}`),
  });
  return {
    kind: 'throughput',
    failure,
    // not wired to a test server yet: never due, so it measures nothing rather than something made up
    due: () => false,
    run: async (t) => failure(t, Date.now(), 'not configured'),
  };
}

export const throughput = createThroughputProbe();
