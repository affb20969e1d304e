// Agent pass: agents silent with no evidence against their link (grey, not red): grouped into one cause when many
// fell silent together (a shared cause: the server's network, a wide power cut), else one cause per commune. Pure.
import type { SilentAgent } from './local-link.ts';
import { agentCarriers, byKey, uniqSorted, type AgentSnapshot, type AttributionThresholds, type CauseFinding } from './types.ts';

export function agentFindings(silences: SilentAgent[], agents: AgentSnapshot[], now: number, th: AttributionThresholds): CauseFinding[] {
  const out: CauseFinding[] = [];
  // the largest set of silences within one window
  const byLastSeen = [...silences].sort((x, y) => (x.agent.lastSeen ?? 0) - (y.agent.lastSeen ?? 0) || (x.agent.id < y.agent.id ? -1 : 1));
  let best: [number, number] = [0, 0]; // [start, end) in byLastSeen
  for (let i = 0, j = 0; i < byLastSeen.length; i++) {
    while (j < byLastSeen.length && (byLastSeen[j]!.agent.lastSeen ?? 0) - (byLastSeen[i]!.agent.lastSeen ?? 0) <= th.massSilenceWindowSec * 1000) j++;
    if (j - i > best[1] - best[0]) best = [i, j];
  }
  const grouped = best[1] - best[0] >= th.massSilenceMin ? byLastSeen.slice(best[0], best[1]) : [];
  const groupedIds = new Set(grouped.map((g) => g.agent.id));
  if (grouped.length) {
    const carriers = uniqSorted(grouped.flatMap((g) => agentCarriers(g.agent)));
    out.push({
      ...agentCause('*', uniqSorted(grouped.map((g) => g.agent.commune)), carriers),
      evidence: {
        items: [{ code: 'mass_silence', silent: grouped.length, of: agents.length, carriers: carriers.length }],
        figures: {
          agentsSilent: grouped.length,
          agentsTotal: agents.length,
          carriers: carriers.join(',') || null,
          firstLastSeen: grouped[0]!.agent.lastSeen,
          lastLastSeen: grouped[grouped.length - 1]!.agent.lastSeen,
        },
      },
    });
  }
  const perCommune = new Map<string, SilentAgent[]>();
  for (const g of silences) {
    if (groupedIds.has(g.agent.id)) continue;
    perCommune.set(g.agent.commune, [...(perCommune.get(g.agent.commune) ?? []), g]);
  }
  for (const [commune, list] of [...perCommune].sort(byKey)) {
    const a = list[0]!.agent;
    const carriers = uniqSorted(list.flatMap((g) => agentCarriers(g.agent)));
    const silentSec = a.lastSeen !== null ? Math.round((now - a.lastSeen) / 1000) : null;
    const why = list[0]!.why;
    out.push({
      ...agentCause(commune, [commune], carriers),
      evidence: {
        items: [{ code: 'agent_silent', agents: list.map((g) => g.agent.id), silentSec, siblingOk: why === 'sibling-ok' }],
        figures: {
          agent: list.map((g) => g.agent.id).join(','),
          lastSeen: a.lastSeen,
          silentSec,
          uplinks: a.uplinks.length,
          evidence: why,
        },
      },
    });
  }
  return out;
}

/** What every agent cause shares. Grey, not red: nothing says a link or a service is down. */
function agentCause(subject: string, communes: string[], carriers: string[]): Omit<CauseFinding, 'evidence'> {
  return { key: `agent:${subject}`, cause: 'agent', subject, communes, targets: [], carrier: carriers.length === 1 ? carriers[0]! : null, severity: 'degraded', hard: true, peers: 0 };
}
