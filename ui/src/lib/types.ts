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
