// Bench agents on the wire protocol (hello, plan, batch, ack), shared by the benches that load a server process
// from another one (test/bench/ingest.bench.ts, test/bench/soak.bench.ts).
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type ProbeResult } from '../../config/wire.ts';

/** Connects an agent and waits for its plan; `localAddress` spreads a big fleet over loopback source addresses. */
export async function openAgent(url: string, id: string, token: string, planTimeoutMs = 60_000, localAddress?: string): Promise<WebSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws/agent', {
    headers: { authorization: `Bearer ${token}`, 'x-agent-id': id },
    perMessageDeflate: false,
    ...(localAddress ? { localAddress } : {}),
  });
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('unexpected-response', (_q, r) => rej(new Error(`agent ${id}: upgrade refused, HTTP ${r.statusCode}`)));
    ws.once('error', rej);
  });
  const plan = new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`agent ${id}: no plan within ${planTimeoutMs / 1000} s`)), planTimeoutMs);
    ws.once('message', (d) => {
      clearTimeout(t);
      const m = JSON.parse(String(d)) as { type: string };
      if (m.type === 'plan') res();
      else rej(new Error(`agent ${id}: expected plan, got ${String(d).slice(0, 200)}`));
    });
  });
  ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, agentId: id, version: 'bench', clock: Date.now() }));
  await plan;
  return ws;
}

/** One agent's link: sends a batch, resolves on its ack with every result accepted; anything else rejects. */
export function agentLink(ws: WebSocket, id: string): (results: ProbeResult[]) => Promise<void> {
  let seq = 0;
  const waiting = new Map<number, { n: number; resolve: () => void; reject: (e: Error) => void }>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { type: string; seq?: number; accepted?: number; message?: string };
    if (m.type !== 'ack' && m.type !== 'error') return;
    const w = waiting.get(m.seq!);
    if (!w) return;
    waiting.delete(m.seq!);
    if (m.type === 'ack' && m.accepted === w.n) w.resolve();
    else w.reject(new Error(`agent ${id} batch ${m.seq}: ${m.type === 'ack' ? `accepted ${m.accepted} of ${w.n}` : `error ${m.message}`}`));
  });
  ws.on('close', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`agent ${id}: link closed (${code}) with batches unacked`));
    waiting.clear();
  });
  return (results) =>
    new Promise<void>((resolve, reject) => {
      const s = ++seq;
      const t = setTimeout(() => reject(new Error(`agent ${id} batch ${s}: no ack within 60 s`)), 60_000);
      waiting.set(s, { n: results.length, resolve: () => (clearTimeout(t), resolve()), reject: (e) => (clearTimeout(t), reject(e)) });
      ws.send(JSON.stringify({ type: 'batch', v: PROTOCOL_VERSION, seq: s, results }));
    });
}
