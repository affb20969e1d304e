// Probe registry: one line per probe type. Complete: the `satisfies` below fails to compile when the
// wire contract gains a kind without a probe here. (The scheduler still tolerates a Partial registry,
// so a plan from a newer server with a kind this agent lacks is skipped with one warning.)
import type { PlanTarget } from '../../config/wire.ts';
import { dns } from './dns.ts';
import { http } from './http.ts';
import { icmp } from './icmp.ts';
import { ocsp } from './ocsp.ts';
import { tcp } from './tcp.ts';
import { throughput } from './throughput.ts';
import { tsa } from './tsa.ts';
import type { Probe } from './types.ts';

type Registry = { [K in PlanTarget['kind']]: Probe<Extract<PlanTarget, { kind: K }>> };
export type ProbeRegistry = Partial<Registry>;

export const probes = { icmp, http, dns, tcp, ocsp, tsa, throughput } satisfies Registry;
