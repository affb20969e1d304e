// Attribution's inputs, outputs and thresholds, shared by its passes.
import type { AttributionConfig, TargetKind, UplinkNetwork } from '../../../config/schema.ts';
import type { Cause, EvidenceItem, Figures, Reason, Severity, Status } from '../../../config/vocabulary.ts';
import { DEFAULT_PROVINCE_WIDE } from '../province-wide.ts';

/** Defaults for config `attribution`; each value is justified where it is used. */
export const DEFAULT_ATTRIBUTION = {
  // Carrier: half of a carrier's communes failing at once is far beyond chance for independent local faults
  // (a few % of communes are cut at any time in the field), and 3 is the smallest count that is a pattern, not
  // a coincidence of two neighbours. "Others fine" below 10 %: the background rate of local cuts stays under it,
  // while a province-wide problem (power, the server's own network) pushes every carrier over it.
  carrierShare: 0.5,
  carrierMinCommunes: 3,
  otherCarriersMaxShare: 0.1,
  // Service: the province-wide rule (province-wide.ts), shared with the live map.
  serviceShare: DEFAULT_PROVINCE_WIDE.share,
  serviceMinCommunes: DEFAULT_PROVINCE_WIDE.minCommunes,
  // Five PCs dying independently within two minutes does not happen: that is one shared cause (the server's own
  // network, a regional power cut) and gets one grouped incident instead of five.
  massSilenceMin: 5,
  massSilenceWindowSec: 120,
  // A round losing >= 80 % of its echoes leaves TCP sessions stalled: users see an outage even though ICMP still
  // gets a reply, so it counts like a round with no reply at all. 5 % random loss never gets near it.
  hardLossPct: 80,
  // The map turns yellow at one lost echo in ten (status.ts), and 5 % random loss does that in ~40 % of rounds. For
  // attribution a round losing < 20 % with its latency fine is noise: two or more lost echoes happen in only ~9 % of
  // rounds at 5 % loss, but in ~85 % at a real 30 % loss, so the sustain rule below separates the two cleanly.
  softLossPct: 20,
  // Engine timing (server/incidents/engine.ts). Goal: an incident within the heartbeat timeout (20 s) + one round
  // (30 s) of a fault. A failed round arrives at most one round after the fault; 5 s (two 2-s evaluations) only
  // makes sure the evidence is not a half-applied batch.
  confirmSec: 5,
  // When other communes of the same carrier are failing too, a local link waits up to one ICMP round: by then every
  // agent has run a round since the fault and a carrier pattern, if there is one, is visible (one incident, not 30).
  groupWaitSec: 30,
  // A silent agent is grey, not red, and a PC reboot or an agent upgrade takes under a minute: wait 60 s beyond the
  // 20 s heartbeat timeout before calling it an incident.
  agentConfirmSec: 60,
  // Soft causes (slow, lossy, not dead) must persist: with 5 % random loss one echo in ten is lost in ~40 % of
  // rounds, so a lossy round alone means nothing. Present >= 80 % of 5 minutes (10 ICMP rounds) is a real, lasting
  // degradation (30 % loss: ~97 % of rounds), while 5 % noise (~40 %) never qualifies.
  degradedSustainSec: 300,
  degradedPresence: 0.8,
  // Resolve after the cause has been absent for two ICMP rounds: the status machine already needs 2 good rounds to
  // leave `down`; this also covers `degraded` causes and service/carrier shares hovering around their threshold.
  resolveSec: 60,
  // After a restart every slot is unknown until agents reconnect and run a round (backoff <= 30 s + one round):
  // reloaded incidents are not resolved before that.
  startupGraceSec: 120,
} satisfies Required<Omit<AttributionConfig, 'baselineTargets' | 'serviceMinAgents'>>;

export type AttributionThresholds = typeof DEFAULT_ATTRIBUTION;

export function attributionThresholds(cfg: AttributionConfig | undefined): AttributionThresholds {
  const out: AttributionThresholds = { ...DEFAULT_ATTRIBUTION };
  for (const k of Object.keys(out) as (keyof AttributionThresholds)[]) {
    const v = cfg?.[k];
    if (typeof v === 'number') out[k] = v;
  }
  // the old name, for configs written before the rule was counted per commune
  if (cfg?.serviceMinCommunes === undefined && cfg?.serviceMinAgents !== undefined) out.serviceMinCommunes = cfg.serviceMinAgents;
  return out;
}

/** One live (commune, agent, target, uplink) slot. */
export interface SlotSnapshot {
  commune: string;
  agent: string;
  target: string;
  kind: TargetKind;
  /** '' when the probe is not bound to an uplink */
  uplink: string;
  /** '' when unknown */
  carrier: string;
  status: Status;
  latencyMs: number | null;
  lossPct: number | null;
  reason: Reason | null;
  /** epoch ms since when the slot has had this status (null: unknown) */
  since: number | null;
  /** the latency is past the slot's threshold (a `degraded` that is not about loss); absent = no */
  latencyOver?: boolean;
  /** the slot's state before it went `unknown` (what the agent saw last before falling silent) */
  lastKnown?: { status: Status; lossPct: number | null; reason: Reason | null; latencyOver?: boolean } | null;
}

export interface AgentSnapshot {
  id: string;
  commune: string;
  /** `network` absent: the public Internet (config uplinks[].network) */
  uplinks: { name: string; carrier: string; network?: UplinkNetwork }[];
  /** silent past the heartbeat timeout */
  silent: boolean;
  /** last time it was heard (or when the server started, if never since): epoch ms */
  lastSeen: number | null;
}

export interface AttributionInput {
  now: number;
  agents: AgentSnapshot[];
  slots: SlotSnapshot[];
  /** target ids that test the commune's own link (the uplink gateway) */
  baselineTargets: string[];
}

export interface CauseFinding {
  /** `${cause}:${subject}`: one incident per key */
  key: string;
  cause: Cause;
  subject: string;
  communes: string[];
  targets: string[];
  carrier: string | null;
  severity: Severity;
  /** complete failure (nothing answered, or silence) rather than slow/lossy: opens fast instead of after sustaining */
  hard: boolean;
  /** local links: other communes of the same carrier failing now, at the same level (the engine may wait for a carrier pattern) */
  peers: number;
  /**
   * The cause may still grow into its final shape: a service failing in most but not all reporting communes, a
   * carrier's route failing while the other carriers still reach the target. The others may simply not have probed
   * since the fault began, so the engine waits up to groupWaitSec for them: the incident then opens naming every
   * commune, and as the right cause (a portal going down looks like one carrier's route for a few seconds).
   */
  growing?: boolean;
  /** what proves it, as data (words: config/words.ts), and flat machine-readable figures */
  evidence: { items: EvidenceItem[]; figures: Figures };
}

export const uniqSorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
export const agentCarriers = (a: AgentSnapshot) => uniqSorted(a.uplinks.map((u) => u.carrier).filter(Boolean));
export const round1 = (x: number) => Math.round(x * 10) / 10;
export const byKey = <T>(x: [string, T], y: [string, T]) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);
