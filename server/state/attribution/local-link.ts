// Local-link pass: a commune's own link failing (its gateway, or everything beyond it), or its agent fallen silent
// while its link was failing; minus what a carrier cause already covers. Also sorts the other silent agents out
// for the agent pass. Pure.
import type { EvidenceItem } from '../../../config/vocabulary.ts';
import { earliestSince, evalPath, firstReason, firstReasonLabel, type Path, type PathEval } from './paths.ts';
import { agentCarriers, byKey, uniqSorted, type AgentSnapshot, type AttributionThresholds, type CauseFinding } from './types.ts';

export interface SilentAgent {
  agent: AgentSnapshot;
  why: 'sibling' | 'failing-before' | 'sibling-ok' | 'multi-uplink' | 'no-evidence';
}

interface LocalAcc {
  failing: PathEval[];
  ok: number;
  silent: SilentAgent[];
}

export interface LocalPassInput {
  live: AgentSnapshot[];
  silent: AgentSnapshot[];
  /** final path evaluations of live agents (service / carrier-route failures not held against them) */
  evals: Map<string, PathEval[]>;
  paths: Map<string, Path[]>;
  baseline: Set<string>;
  serviceTargets: Set<string>;
  /** the commune's failure on that carrier is part of a carrier cause */
  covered: (commune: string, carrier: string) => boolean;
  th: AttributionThresholds;
}

/** Local-link causes, plus the silent agents that say nothing against their link (for the agent pass). */
export function localLinkPass(p: LocalPassInput): { locals: CauseFinding[]; agentSilences: SilentAgent[] } {
  const { live, silent, evals, covered } = p;
  const local = new Map<string, LocalAcc>();
  const acc = (c: string) => {
    let a = local.get(c);
    if (!a) local.set(c, (a = { failing: [], ok: 0, silent: [] }));
    return a;
  };
  for (const a of live) {
    for (const e of evals.get(a.id)!) {
      if (e.health === 'ok') acc(a.commune).ok++;
      if (e.health !== 'hard' && e.health !== 'soft') continue;
      if (covered(a.commune, e.path.carrier)) continue;
      acc(a.commune).failing.push(e);
    }
  }
  const agentSilences: SilentAgent[] = [];
  for (const a of silent) {
    const cs = agentCarriers(a);
    if (cs.length && cs.every((c) => covered(a.commune, c))) continue;
    const sibEvals = live.filter((b) => b.commune === a.commune).flatMap((b) => evals.get(b.id)!);
    if (sibEvals.some((e) => (e.health === 'hard' || e.health === 'soft') && !covered(a.commune, e.path.carrier))) {
      acc(a.commune).silent.push({ agent: a, why: 'sibling' });
      continue;
    }
    if (sibEvals.some((e) => e.health === 'ok')) {
      agentSilences.push({ agent: a, why: 'sibling-ok' });
      continue;
    }
    // What the agent saw last, before it fell silent.
    const before = p.paths.get(a.id)!.map((path) => evalPath(path, p.baseline, p.serviceTargets, p.th, true));
    if (before.some((e) => e.health === 'hard')) acc(a.commune).silent.push({ agent: a, why: 'failing-before' });
    else agentSilences.push({ agent: a, why: a.uplinks.length > 1 ? 'multi-uplink' : 'no-evidence' });
  }

  const locals: CauseFinding[] = [];
  for (const [commune, l] of [...local].sort(byKey)) {
    if (!l.failing.length && !l.silent.length) continue;
    const views = l.failing.flatMap((e) => e.failing);
    const carriers = uniqSorted([...l.failing.map((e) => e.path.carrier), ...l.silent.flatMap((s) => s.agent.uplinks.map((u) => u.carrier))].filter(Boolean));
    const hard = l.failing.some((e) => e.health === 'hard') || l.silent.length > 0;
    // Down only when nothing of the commune still works and the failure is confirmed (3 failed rounds, or silence):
    // one of two uplinks failing leaves the commune online (degraded: redundancy lost).
    const confirmed = l.failing.some((e) => e.health === 'hard' && e.confirmed) || l.silent.length > 0;
    const first = l.failing[0];
    const gw = views.find((v) => p.baseline.has(v.slot.target));
    const items: EvidenceItem[] = [];
    for (const e of l.failing) {
      const where = { uplink: e.path.uplink || null, carrier: e.path.uplink ? e.path.carrier || null : null };
      const reason = firstReason(e.failing);
      items.push(e.why === 'beyond' ? { code: 'beyond_failing', ...where, reason } : { code: 'gateway_failing', ...where, hard: e.health === 'hard', reason });
    }
    for (const s of l.silent) items.push({ code: s.why === 'sibling' ? 'silent_sibling_failing' : 'silent_after_failure', agent: s.agent.id });
    locals.push({
      key: `local_link:${commune}`,
      cause: 'local_link',
      subject: commune,
      communes: [commune],
      targets: uniqSorted(views.map((v) => v.slot.target)),
      carrier: carriers.length === 1 ? carriers[0]! : null,
      severity: l.ok === 0 && confirmed ? 'down' : 'degraded',
      hard,
      peers: 0,
      evidence: {
        items,
        figures: {
          agent: first?.path.agent.id ?? l.silent[0]?.agent.id ?? null,
          uplink: first?.path.uplink || null,
          carrier: carriers.join(',') || null,
          lossPct: gw?.lossPct ?? views[0]?.lossPct ?? null,
          latencyMs: gw?.slot.latencyMs ?? null,
          reason: firstReasonLabel(views),
          pathsFailing: l.failing.length,
          pathsOk: l.ok,
          silentAgents: l.silent.map((s) => s.agent.id).join(',') || null,
          since: earliestSince(views) ?? l.silent[0]?.agent.lastSeen ?? null,
        },
      },
    });
  }
  // peers: other failing communes on the same carrier, at the same level (the engine waits for a carrier pattern)
  for (const c of locals) {
    if (!c.carrier) continue;
    c.peers = locals.filter((o) => o !== c && o.carrier === c.carrier && o.hard === c.hard).length;
  }
  return { locals, agentSilences };
}
