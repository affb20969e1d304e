// Shapes of the REST answers the UI reads: defined once, with their schemas, in config/api.ts.
export type { AgentRow, CarrierInfo, SeriesResponse, TargetInfo } from '../../../config/api.ts';
