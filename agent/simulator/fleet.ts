// Virtual agents for every commune, driving the real agent link (agent/link.ts: hello, plan, batches, acks,
// backoff, resend) over real WebSockets, with the seeded model in place of the probes.
// Used by `npm start` (a living demo on a machine with no network) and by load benchmarks. Time is compressed:
// a round every `roundSec` instead of the plan's 30/60 s, so the map moves within seconds.
import type { Plan } from '../../config/wire.ts';
import { Link } from '../link.ts';
import { MemoryOutbox } from '../spool/index.ts';
import { CommuneSim, mulberry32, profileFor } from './model.ts';

export interface VirtualAgent {
  id: string;
  token: string;
  commune: string;
  communeType: string;
  carrier: string;
}

export interface FleetOptions {
  /** server base URL, http(s)://host:port */
  url: string;
  agents: VirtualAgent[];
  roundSec: number;
  outageChance: number;
  seed: number;
  onError?: (agentId: string, err: string) => void;
}

export interface Fleet {
  stop(): Promise<void>;
  stats: { batches: number; acked: number; results: number };
}

export function startFleet(o: FleetOptions): Fleet {
  const stats = { batches: 0, acked: 0, results: 0 };
  const stops = o.agents.map((a, i) => runAgent(a, o, o.seed * 1000 + i, stats));
  return { stop: async () => void (await Promise.all(stops.map((s) => s()))), stats };
}

function runAgent(a: VirtualAgent, o: FleetOptions, seed: number, stats: Fleet['stats']): () => Promise<void> {
  const rnd = mulberry32(seed);
  const sim = new CommuneSim({ ...profileFor(a.commune, a.communeType, [a.carrier], rnd), carrier: a.carrier }, seed, o.outageChance);
  let plan: Plan | null = null;
  const timers: NodeJS.Timeout[] = [];

  const round = () => {
    if (!plan) return;
    sim.tick();
    const ts = Date.now();
    const uplink = plan.uplinks[0]?.name;
    link.enqueue(plan.targets.map((t) => sim.result(t, ts, t.uplink ?? uplink)));
  };

  const link = new Link({
    server: o.url,
    agentId: a.id,
    token: a.token,
    version: 'sim-1',
    outbox: new MemoryOutbox(10_000),
    onPlan: (p) => {
      const first = !plan;
      plan = p;
      if (!first) return;
      // First round within a second (the map lights up at once), later rounds spread over the round so the
      // server sees a steady stream, not a thundering herd.
      timers.push(setTimeout(() => {
        round();
        timers.push(setTimeout(() => { round(); timers.push(setInterval(round, o.roundSec * 1000)); }, rnd() * o.roundSec * 1000));
      }, rnd() * Math.min(1, o.roundSec) * 1000));
    },
  });
  link.on('batch', () => stats.batches++);
  link.on('ack', (ack) => { stats.acked++; stats.results += ack.accepted; });
  link.on('serverError', (e) => o.onError?.(a.id, `${e.code}: ${e.message}`));
  link.start();
  return async () => {
    timers.forEach((t) => { clearTimeout(t); clearInterval(t); });
    await link.stop();
  };
}
