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
  /** a round of the site's own link (a gateway, the data centre): while one fails, its service failures prove nothing */
  link?: boolean;
}

export interface ProbeNowCounts {
  /** requests decided (one per target, each sent to every other site measuring it) */
  requested: number;
  /** failures after a good round not asked about, because the target's last request was within the gap */
  withinGap: number;
  /** ... or because the reporting site's own link was failing (a cut site fails every service) */
  linkDown: number;
}

export class ProbeNow {
  /** per site, each slot's last outcome (true = failed): a failure is news only after a good round of the same slot */
  private readonly failedBefore = new Map<string, Map<string, boolean>>();
  /** when each target was last asked about */
  private readonly askedAt = new Map<string, number>();
  /** per site, its link slots whose last round failed */
  private readonly linkFailing = new Map<string, Set<string>>();
  readonly counts: ProbeNowCounts = { requested: 0, withinGap: 0, linkDown: 0 };

  constructor(private readonly minGapMs: () => number) {}

  /** The targets of these fresh rounds (in order) that the other sites should confirm now. */
  decide(rounds: readonly ProbeNowRound[], now: number): string[] {
    const ask: string[] = [];
    // the link's rounds first: a batch carrying a cut site's failed echoes and its failed portal round is one story
    for (const r of rounds) {
      if (!r.link) continue;
      let failing = this.linkFailing.get(r.agent);
      if (r.failed) {
        if (!failing) this.linkFailing.set(r.agent, (failing = new Set()));
        failing.add(`${r.target}\u0000${r.uplink}`);
      } else if (failing?.delete(`${r.target}\u0000${r.uplink}`) && failing.size === 0) this.linkFailing.delete(r.agent);
    }
    for (const r of rounds) {
      if (!r.service) continue;
      let slots = this.failedBefore.get(r.agent);
      if (!slots) this.failedBefore.set(r.agent, (slots = new Map()));
      const key = `${r.target}\u0000${r.uplink}`;
      const before = slots.get(key);
      slots.set(key, r.failed);
      // the first round seen of a slot (a restart, a new site) is no change: its previous outcome is not known
      if (!r.failed || before !== false || ask.includes(r.target)) continue;
      // a site cut off fails every service: asking the others would only spend the target's gap
      if (this.linkFailing.has(r.agent)) {
        this.counts.linkDown++;
        continue;
      }
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

  /** The sites this holds memory of. */
  agents(): string[] {
    return [...new Set([...this.failedBefore.keys(), ...this.linkFailing.keys()])];
  }

  /** A site left the fleet: its slots' memory goes with it (one that comes back starts afresh, like a restart). */
  forget(agent: string): void {
    this.failedBefore.delete(agent);
    this.linkFailing.delete(agent);
  }
}
