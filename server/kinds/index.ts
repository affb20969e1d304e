// Probe kind registry: one line per kind. Complete: the `satisfies` below fails to compile when the wire contract
// gains a kind without a descriptor here.
import type { Target, Thresholds } from '../../config/schema.ts';
import type { ProbeResult } from '../../config/wire.ts';
import { dns } from './dns.ts';
import { http } from './http.ts';
import { icmp } from './icmp.ts';
import { ocsp } from './ocsp.ts';
import { tcp } from './tcp.ts';
import { throughput } from './throughput.ts';
import { tsa } from './tsa.ts';
import type { Classified, FieldValue, Kind, KindDescriptor } from './types.ts';

export const KINDS = { icmp, http, dns, tcp, ocsp, tsa, throughput } satisfies { [K in Kind]: KindDescriptor<K> };

export const KIND_NAMES = Object.keys(KINDS) as Kind[];

/** The descriptor of a kind, typed for it (TypeScript cannot correlate `KINDS[k]` with a generic `k` by itself). */
export function kindOf<K extends Kind>(kind: K): KindDescriptor<K> {
  return KINDS[kind] as unknown as KindDescriptor<K>;
}

/** One wire result judged (status.ts). */
export function classifyResult(r: ProbeResult, th: Thresholds): Classified {
  return kindOf(r.kind).classify(r, th);
}

/** One stored round judged like the live one; null when its fields cannot give a verdict. */
export function classifyFields(kind: Kind, fields: Record<string, FieldValue>, th: Thresholds): Classified | null {
  const d = kindOf(kind);
  const figures = d.view(fields);
  return figures ? d.classify(figures, th) : null;
}

/** The target measures each uplink's own LAN gateway. */
export const isGatewayTarget = (t: Target): boolean => kindOf(t.kind).measuresGateway(t);

/** Its rounds describe the uplink itself (a commune's headline figures, carrier link rows, the default chart). */
export const describesLink = (t: { kind: Kind } | undefined): boolean => t !== undefined && KINDS[t.kind].describesLink;

/** Its rounds hold a live-status slot (false: stored and reported only, e.g. a few speed tests a day). */
export const isLiveKind = (kind: Kind): boolean => KINDS[kind].live !== false;

/** Kinds whose stored rounds are pooled into carrier link rows. */
export const LINK_KINDS = KIND_NAMES.filter((k) => KINDS[k].describesLink);

export type { Classified, FieldType, FieldValue, Kind, KindDescriptor, Verdict } from './types.ts';
