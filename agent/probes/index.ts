// Probe registry: one line per probe type. dns and tcp arrive in a later issue; the scheduler reports
// an unsupported kind once instead of failing when a plan contains one.
import type { PlanTarget } from '../../config/wire.ts';
import { http } from './http.ts';
import { icmp } from './icmp.ts';
import type { Probe } from './types.ts';

export type ProbeRegistry = Partial<{ [K in PlanTarget['kind']]: Probe<Extract<PlanTarget, { kind: K }>> }>;

export const probes = { icmp, http } satisfies ProbeRegistry;
