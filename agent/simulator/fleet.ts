// Virtual agents for every commune, speaking the real agent protocol over real WebSockets to the server.
// Used by `npm start` (demo on a machine with no network) and by load benchmarks. Time is compressed: a round
// every `roundSec` instead of the plan's 30/60 s, so the map lives within seconds.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, serverMessageSchema, type Plan, type ProbeResult } from '../../config/wire.ts';
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
  stop(): void;
  stats: { batches: number; acked: number; results: number };
}

export function startFleet(o: FleetOptions): Fleet {
  const stats = { batches: 0, acked: 0, results: 0 };
  const stops = o.agents.map((a, i) => runAgent(a, o, o.seed * 1000 + i, stats));
  return { stop: () => stops.forEach((s) => s()), stats };
}

function runAgent(a: VirtualAgent, o: FleetOptions, seed: number, stats: Fleet['stats']): () => void {
  const rnd = mulberry32(seed);
  const sim = new CommuneSim({ ...profileFor(a.commune, a.communeType, [a.carrier], rnd), carrier: a.carrier }, seed, o.outageChance);
  let ws: WebSocket | null = null;
  let plan: Plan | null = null;
  let seq = 0;
  let stopped = false;
  const unacked = new Map<number, ProbeResult[]>();
  const timers: NodeJS.Timeout[] = [];
  const started = Date.now();
  const wsUrl = o.url.replace(/^http/, 'ws') + '/ws/agent';
  let backoff = 500;

  const send = (m: unknown) => ws?.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
  const sendBatch = (results: ProbeResult[]) => {
    const s = ++seq;
    unacked.set(s, results);
    stats.batches++;
    send({ type: 'batch', v: PROTOCOL_VERSION, seq: s, results });
  };

  const round = () => {
    if (!plan) return;
    sim.tick();
    const ts = Date.now();
    const uplink = plan.uplinks[0]?.name;
    sendBatch(plan.targets.map((t) => sim.result(t, ts, t.uplink ?? uplink)));
  };

  const connect = () => {
    if (stopped) return;
    ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${a.token}`, 'x-agent-id': a.id } });
    ws.on('open', () => {
      backoff = 500;
      send({ type: 'hello', v: PROTOCOL_VERSION, agentId: a.id, version: 'sim-1', clock: Date.now() });
    });
    ws.on('message', (data) => {
      const m = serverMessageSchema.safeParse(JSON.parse(String(data)));
      if (!m.success) return o.onError?.(a.id, `bad server frame: ${m.error.message}`);
      const msg = m.data;
      if (msg.type === 'plan') {
        const first = !plan;
        plan = msg;
        // replay what was never acked (results stay until the server says they are stored)
        for (const [s, results] of [...unacked]) {
          unacked.delete(s);
          sendBatch(results);
        }
        if (first) {
          // First round within a second (the map lights up at once), later rounds spread over the round
          // so the server sees a steady stream, not a thundering herd.
          timers.push(setTimeout(() => {
            round();
            timers.push(setTimeout(() => { round(); timers.push(setInterval(round, o.roundSec * 1000)); }, rnd() * o.roundSec * 1000));
          }, rnd() * Math.min(1, o.roundSec) * 1000));
          timers.push(setInterval(() => send({ type: 'heartbeat', v: PROTOCOL_VERSION, clock: Date.now(), pending: unacked.size, dropped: 0, uptimeSec: (Date.now() - started) / 1000 }), msg.heartbeatSec * 1000));
        }
      } else if (msg.type === 'ack') {
        const r = unacked.get(msg.seq);
        if (r) { stats.acked++; stats.results += r.length; unacked.delete(msg.seq); }
      } else if (msg.type === 'error') o.onError?.(a.id, `${msg.code}: ${msg.message}`);
    });
    ws.on('close', () => {
      if (stopped) return;
      const delay = Math.random() * backoff;
      backoff = Math.min(backoff * 2, 30_000);
      timers.push(setTimeout(connect, delay));
    });
    ws.on('error', (e) => o.onError?.(a.id, e.message));
  };
  connect();
  return () => {
    stopped = true;
    timers.forEach((t) => { clearTimeout(t); clearInterval(t); });
    ws?.close(1001, 'simulator stopped');
  };
}
