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
