// The project's words, defined once: statuses, causes, severities, status reasons and report stages.
// Server, UI, notifiers and reports import them from here; their Vietnamese/English texts are rendered at the edges.
import { z } from 'zod';

// ---- statuses --------------------------------------------------------------------------------

export const STATUSES = ['up', 'degraded', 'down', 'unknown'] as const;
export const statusSchema = z.enum(STATUSES);
export type Status = z.infer<typeof statusSchema>;

/** Worse is higher: a commune shows the worst of its targets; unknown never hides a known status. */
export const STATUS_RANK: Record<Status, number> = { unknown: 0, up: 1, degraded: 2, down: 3 };

export function worstStatus(statuses: Iterable<Status>): Status {
  let worst: Status = 'unknown';
  for (const s of statuses) if (STATUS_RANK[s] > STATUS_RANK[worst]) worst = s;
  return worst;
}

// ---- incidents ------------------------------------------------------------------------------

export const CAUSES = ['local_link', 'carrier', 'service', 'agent'] as const;
export const causeSchema = z.enum(CAUSES);
export type Cause = z.infer<typeof causeSchema>;

/** Listing order: the widest cause first (a carrier outage explains the communes listed under it). */
export const CAUSE_ORDER: Record<Cause, number> = { carrier: 0, service: 1, local_link: 2, agent: 3 };

export const SEVERITIES = ['down', 'degraded'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;

// ---- why a target is not up --------------------------------------------------------------------

/**
 * A status reason as data: a code and its figures. Rendered in words by the UI, notifiers and reports.
 * `streak` is set while a target fails but is not yet down (failed rounds so far, rounds that make it down).
 */
export const reasonSchema = z.discriminatedUnion('code', [
  /** ICMP: some echoes lost, at or past the loss threshold */
  z.object({ code: z.literal('loss'), pct: z.number() }),
  /** ICMP: median RTT past the threshold */
  z.object({ code: z.literal('rtt'), ms: z.number() }),
  /** HTTP/DNS/TCP: answered, but past the response-time threshold */
  z.object({ code: z.literal('slow'), ms: z.number() }),
  /** ICMP: every echo lost */
  z.object({ code: z.literal('no_reply') }),
  /** HTTP: an unexpected status code */
  z.object({ code: z.literal('http_status'), status: z.number() }),
  /** DNS: an error rcode (SERVFAIL, NXDOMAIN, ...) */
  z.object({ code: z.literal('rcode'), rcode: z.string() }),
  /** a probe error from the agent's fixed list (timeout, refused, dns, tls, keyword, ...) */
  z.object({ code: z.literal('probe_error'), error: z.string() }),
  /** back from down, not yet enough good rounds */
  z.object({ code: z.literal('recovering'), ok: z.number(), of: z.number() }),
  /** the agent measuring it fell silent */
  z.object({ code: z.literal('agent_silent') }),
]).and(z.object({
  streak: z.object({ n: z.number(), of: z.number() }).optional(),
  /** the target fails in many communes at once (province-wide rule) */
  provinceWide: z.boolean().optional(),
}));
export type Reason = z.infer<typeof reasonSchema>;
export type ReasonCode = Reason['code'];

// ---- what proves an incident ------------------------------------------------------------------

/** Where a local link fails: its uplink and carrier (null: the agent's default route, carrier unknown). */
const pathFields = { uplink: z.string().nullable(), carrier: z.string().nullable() };

/**
 * One fact that made attribution name a cause, as data: a code plus its figures (counts, ids, a status reason).
 * Carrier, target and commune ids are rendered by name, in Vietnamese or English, by config/words.ts.
 */
export const evidenceItemSchema = z.discriminatedUnion('code', [
  /** carrier: `failing` of the carrier's `of` communes lost their link together; other carriers' communes: `otherPct` % */
  z.object({ code: z.literal('carrier_share'), carrier: z.string(), failing: z.number(), of: z.number(), otherPct: z.number() }),
  /** carrier: `failing` of `of` probes over the carrier cannot reach `target`, which the other carriers reach */
  z.object({ code: z.literal('carrier_route'), carrier: z.string(), target: z.string(), failing: z.number(), of: z.number(), otherPct: z.number() }),
  /** service: `failing` of `of` communes whose own link works cannot reach `target` (their commonest reason) */
  z.object({ code: z.literal('service_share'), target: z.string(), failing: z.number(), of: z.number(), reason: reasonSchema.nullable() }),
  /** local link: the uplink gateway does not answer (hard) or answers badly */
  z.object({ code: z.literal('gateway_failing'), ...pathFields, hard: z.boolean(), reason: reasonSchema.nullable() }),
  /** local link: the gateway answers but every target beyond it fails */
  z.object({ code: z.literal('beyond_failing'), ...pathFields, reason: reasonSchema.nullable() }),
  /** local link: the agent fell silent right after its link was failing */
  z.object({ code: z.literal('silent_after_failure'), agent: z.string() }),
  /** local link: the agent is silent while another agent of the commune reports the link failing */
  z.object({ code: z.literal('silent_sibling_failing'), agent: z.string() }),
  /** agent: silent for `silentSec` with nothing against its link; `siblingOk`: another agent there still works */
  z.object({ code: z.literal('agent_silent'), agents: z.array(z.string()), silentSec: z.number().nullable(), siblingOk: z.boolean() }),
  /** agent: `silent` of `of` agents on `carriers` carriers fell silent within one window (a shared cause) */
  z.object({ code: z.literal('mass_silence'), silent: z.number(), of: z.number(), carriers: z.number() }),
  /**
   * network (a carrier-like cause whose subject is the network, e.g. `tslcd`): `failing` of the `of` communes on it
   * lost it together; their Internet lines fail in `internetPct` % of them. `carrier`: who runs the lines (null: several)
   */
  z.object({ code: z.literal('network_share'), network: z.string(), carrier: z.string().nullable(), failing: z.number(), of: z.number(), internetPct: z.number() }),
  /** local link: the commune's line on `network` fails; `internetOk`: its Internet lines work */
  z.object({ code: z.literal('network_path'), network: z.string(), ...pathFields, internetOk: z.boolean() }),
]);
export type EvidenceItem = z.infer<typeof evidenceItemSchema>;
export type EvidenceCode = EvidenceItem['code'];

/** Machine-readable figures kept with the evidence (flat, for filters, exports and the engine's "wider" check). */
export const figuresSchema = z.record(z.string(), z.union([z.number(), z.string(), z.null()]));
export type Figures = z.infer<typeof figuresSchema>;

export const structuredEvidenceSchema = z.object({ items: z.array(evidenceItemSchema), figures: figuresSchema });
/** Incidents stored before evidence was structured carry the server's sentence; it is shown as it was written. */
export const legacyEvidenceSchema = z.object({ summary: z.string(), figures: figuresSchema });
export const evidenceSchema = z.union([structuredEvidenceSchema, legacyEvidenceSchema]);
export type Evidence = z.infer<typeof evidenceSchema>;

/**
 * Evidence as stored, read leniently: items of a code this build does not know (or malformed) are dropped rather
 * than losing the incident; an old `{summary, figures}` record stays as it was.
 */
export function parseEvidence(raw: unknown): Evidence {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const figures = figuresSchema.safeParse(o.figures ?? {}).data ?? {};
  if (Array.isArray(o.items)) {
    const items = o.items.flatMap((x) => {
      const r = evidenceItemSchema.safeParse(x);
      return r.success ? [r.data] : [];
    });
    return { items, figures };
  }
  return { summary: typeof o.summary === 'string' ? o.summary : '', figures };
}

// ---- report jobs ----------------------------------------------------------------------------

export const REPORT_STAGES = ['queued', 'data', 'render', 'archive', 'email', 'retry', 'done', 'failed'] as const;
export const reportStageSchema = z.enum(REPORT_STAGES);
export type ReportStage = z.infer<typeof reportStageSchema>;

/** A short language-neutral label of a reason (`loss 30%`, `http 503`), for logs and machine-readable figures. */
export function reasonLabel(r: Reason): string {
  const base = (() => {
    switch (r.code) {
      case 'loss': return `loss ${r.pct}%`;
      case 'rtt': return `rtt ${r.ms} ms`;
      case 'slow': return `slow ${r.ms} ms`;
      case 'no_reply': return 'loss 100%';
      case 'http_status': return `http ${r.status}`;
      case 'rcode': return `rcode ${r.rcode}`;
      case 'probe_error': return r.error;
      case 'recovering': return `recovering (${r.ok}/${r.of})`;
      case 'agent_silent': return 'agent silent';
    }
  })();
  return r.streak ? `${base} (${r.streak.n}/${r.streak.of})` : base;
}
