// Shapes of the REST answers the UI reads (the server's routes are the source of truth).
import type { TargetKind } from '../../../config/schema.ts';

export interface TargetInfo {
  id: string;
  name: string;
  kind: TargetKind;
}

export interface CarrierInfo {
  id: string;
  name: string;
  color?: string;
}

export interface SeriesPoint {
  t: number;
  latencyMs: number | null;
  lossPct: number | null;
}

export interface SeriesResponse {
  commune: string;
  target: string;
  kind: string;
  bucketMs: number;
  points: SeriesPoint[];
}

/** GET /api/agents: server/ingest/agents.ts AgentInfo plus lastSeen. */
export interface AgentRow {
  id: string;
  commune: string;
  connected: boolean;
  remote: string | null;
  version: string | null;
  connectedAt: number | null;
  clockOffsetMs: number | null;
  pending: number;
  dropped: number;
  spoolBytes: number | null;
  oldestPendingTs: number | null;
  uptimeSec: number | null;
  linkRttMs: number | null;
  clockSkewed: boolean;
  backfilled: number;
  rejected: number;
  batches: number;
  results: number;
  badFrames: number;
  lastError: string | null;
  lastSeen: number | null;
}
