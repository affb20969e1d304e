// "Probe now": when one site's round of a service (a target that does not describe the link: a portal, a resolver)
// fails after a good one, the other sites that measure it are asked to confirm at once, so a portal outage is seen
// fleet-wide within seconds without every site pulsing a third party's server between its rounds. At most once per
// target per gap: a dead or flapping portal costs one request to the fleet a minute, not one per failing site.
// Pure: the caller judges rounds (kind descriptors) and sends the frames.

export interface ProbeNowRound {
  agent: string;
  target: string;
  /** '' when the result named no uplink */
  uplink: string;
  /** the kind judged it a failed round (nothing answered) */
  failed: boolean;
  /** only services are confirmed this way; link targets have their own pulses */
  service: boolean;
}

export interface ProbeNowCounts {
  /** requests decided (one per target, each sent to every other site measuring it) */
  requested: number;
  /** failures after a good round not asked about, because the target's last request was within the gap */
  withinGap: number;
}

export class ProbeNow {
  /** each slot's last outcome (true = failed): a failure is news only after a good round of the same slot */
  private readonly failedBefore = new Map<string, boolean>();
  /** when each target was last asked about */
  private readonly askedAt = new Map<string, number>();
  readonly counts: ProbeNowCounts = { requested: 0, withinGap: 0 };

  constructor(private readonly minGapMs: () => number) {}

  /** The targets of these fresh rounds (in order) that the other sites should confirm now. */
  decide(rounds: readonly ProbeNowRound[], now: number): string[] {
    const ask: string[] = [];
    for (const r of rounds) {
      if (!r.service) continue;
      const key = `${r.agent}\u0000${r.target}\u0000${r.uplink}`;
      const before = this.failedBefore.get(key);
      this.failedBefore.set(key, r.failed);
      // the first round seen of a slot (a restart, a new site) is no change: its previous outcome is not known
      if (!r.failed || before !== false || ask.includes(r.target)) continue;
      const last = this.askedAt.get(r.target);
      if (last !== undefined && now - last < this.minGapMs()) {
        this.counts.withinGap++;
        continue;
      }
      this.askedAt.set(r.target, now);
      this.counts.requested++;
      ask.push(r.target);
    }
    return ask;
  }
}
