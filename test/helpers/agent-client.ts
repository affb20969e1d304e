// A real WebSocket agent client for tests: speaks wire.ts exactly, exposes every frame it receives.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, serverMessageSchema, type Ack, type Plan, type ProbeResult, type ServerMessage, type WireError } from '../../config/wire.ts';

export interface TestAgentClient {
  ws: WebSocket;
  received: ServerMessage[];
  /** resolves with the plan answering our hello */
  hello(): Promise<Plan>;
  /** send a batch; resolves with the ack or error frame for that seq (rejects after timeoutMs) */
  batch(results: ProbeResult[], seq?: number, timeoutMs?: number): Promise<Ack | WireError>;
  sendRaw(data: string | Buffer): void;
  /** next frame matching pred */
  next<T extends ServerMessage['type']>(type: T, timeoutMs?: number): Promise<Extract<ServerMessage, { type: T }>>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function connectAgent(baseUrl: string, id: string, token: string): Promise<TestAgentClient> {
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/ws/agent', { headers: { authorization: `Bearer ${token}`, 'x-agent-id': id } });
  const received: ServerMessage[] = [];
  const waiters: { type: string; seq?: number; resolve: (m: ServerMessage) => void }[] = [];
  let seqCounter = 0;
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  ws.on('message', (d) => {
    const m = serverMessageSchema.parse(JSON.parse(String(d)));
    received.push(m);
    const i = waiters.findIndex((w) => w.type === m.type || (w.type === 'ack|error' && (m.type === 'ack' || m.type === 'error') && (m as { seq?: number }).seq === w.seq));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
  });
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('unexpected-response', (_req, resp) => rej(new Error(`upgrade refused: HTTP ${resp.statusCode}`)));
    ws.once('error', rej);
  });
  const wait = (type: string, timeoutMs = 10_000, seq?: number) =>
    new Promise<ServerMessage>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${type} frame within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ type, seq, resolve: (m) => { clearTimeout(t); resolve(m); } });
    });
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  return {
    ws, received, closed,
    async hello() {
      const p = wait('plan');
      send({ type: 'hello', v: PROTOCOL_VERSION, agentId: id, version: 'test', clock: Date.now() });
      return (await p) as Plan;
    },
    async batch(results, seq = ++seqCounter, timeoutMs = 10_000) {
      const p = wait('ack|error', timeoutMs, seq);
      send({ type: 'batch', v: PROTOCOL_VERSION, seq, results });
      return (await p) as Ack | WireError;
    },
    sendRaw: (d) => ws.send(d),
    next: (type, timeoutMs) => wait(type, timeoutMs) as never,
    close: () => ws.close(),
  };
}

/** A good ICMP round for tests. */
export function icmpOk(target: string, ts: number, rtt = 12, uplink = 'wan1'): ProbeResult {
  return { kind: 'icmp', target, ts, uplink, sent: 10, received: 10, loss: 0, rtt_min: rtt, rtt_median: rtt, rtt_avg: rtt, rtt_max: rtt, jitter: 0 };
}
/** A round where every echo was lost. */
export function icmpLost(target: string, ts: number, uplink = 'wan1'): ProbeResult {
  return { kind: 'icmp', target, ts, uplink, sent: 10, received: 0, loss: 100, rtt_min: null, rtt_median: null, rtt_avg: null, rtt_max: null, jitter: null };
}
