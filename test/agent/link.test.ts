// The agent link + outbox against a real `ws` server on 127.0.0.1 that speaks config/wire.ts; last, the real server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CLOSE,
  PROTOCOL_VERSION,
  agentMessageSchema,
  type AgentMessage,
  type Plan,
  type ProbeResult,
  type ServerMessage,
} from '../../config/wire.ts';
import { Link, agentUrl, type LinkOptions, type LinkState } from '../../agent/link.ts';
import { MemoryOutbox } from '../../agent/spool/index.ts';
import { http as httpProbe } from '../../agent/probes/http.ts';
import { Scheduler, type Log } from '../../agent/scheduler.ts';
import { connectAgent } from '../helpers/agent-client.ts';
import { startTestServer } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const PLAN: Plan = {
  type: 'plan',
  v: PROTOCOL_VERSION,
  rev: 'r1',
  serverTime: Date.now(),
  heartbeatSec: 1,
  uplinks: [{ name: 'vnpt', carrier: 'vnpt' }],
  targets: [],
};

interface Conn {
  ws: WebSocket;
  headers: http.IncomingHttpHeaders;
  at: number;
  msgs: AgentMessage[];
}

/** A small server: validates every agent frame with wire.ts; behaviour per connection index. */
async function startServer(behave: (conn: Conn, index: number) => { onMessage?: (m: AgentMessage) => void; onOpen?: () => void } = () => ({})) {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, path: '/ws/agent' });
  const conns: Conn[] = [];
  const invalid: unknown[] = [];
  wss.on('connection', (ws, req) => {
    const conn: Conn = { ws, headers: req.headers, at: Date.now(), msgs: [] };
    const index = conns.push(conn) - 1;
    const b = behave(conn, index);
    ws.on('message', (data) => {
      const p = agentMessageSchema.safeParse(JSON.parse(data.toString()));
      if (!p.success) return void invalid.push(JSON.parse(data.toString()));
      conn.msgs.push(p.data);
      b.onMessage?.(p.data);
    });
    b.onOpen?.();
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const port = (httpServer.address() as AddressInfo).port;
  const send = (ws: WebSocket, m: ServerMessage) => ws.send(JSON.stringify(m));
  const all = () => conns.flatMap((c) => c.msgs);
  const batches = () => all().filter((m): m is Extract<AgentMessage, { type: 'batch' }> => m.type === 'batch');
  return {
    url: `http://127.0.0.1:${port}`,
    conns,
    invalid,
    send,
    all,
    batches,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      httpServer.closeAllConnections();
      await new Promise((r) => httpServer.close(r));
    },
  };
}

/** Server behaviour: plan after hello, ack every batch. */
const planAndAck = (conn: Conn, send: (ws: WebSocket, m: ServerMessage) => void, plan: Plan = PLAN) => ({
  onMessage: (m: AgentMessage) => {
    if (m.type === 'hello') send(conn.ws, plan);
    if (m.type === 'batch') send(conn.ws, { type: 'ack', v: PROTOCOL_VERSION, seq: m.seq, accepted: m.results.length });
  },
});

let tsCounter = 1_700_000_000_000;
function results(n: number, target = 'gw'): ProbeResult[] {
  return Array.from({ length: n }, () => ({
    target,
    ts: tsCounter++,
    kind: 'icmp' as const,
    sent: 10,
    received: 10,
    loss: 0,
    rtt_min: 1,
    rtt_median: 1,
    rtt_avg: 1,
    rtt_max: 1,
    jitter: 0,
  }));
}

function capture() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const mk = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, ...(msg ? { msg } : {}) });
  const log: Log = { debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error') };
  return { log, lines };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function makeLink(server: string, extra: Partial<LinkOptions> = {}) {
  const outbox = new MemoryOutbox(1000);
  const link = new Link({ server, agentId: 'qn-20500', token: 's3cret', version: '0.1.0', outbox, flushDelayMs: 20, ...extra });
  const states: LinkState[] = [];
  link.on('state', (s) => states.push(s));
  cleanup.push(() => link.stop());
  return { link, outbox, states };
}

describe('agentUrl', () => {
  it.each([
    ['http://127.0.0.1:8080', 'ws://127.0.0.1:8080/ws/agent'],
    ['https://ioc.example.org/', 'wss://ioc.example.org/ws/agent'],
    ['ws://127.0.0.1:8080/ws/agent', 'ws://127.0.0.1:8080/ws/agent'],
    ['127.0.0.1:8080', 'ws://127.0.0.1:8080/ws/agent'],
  ])('%s -> %s', (input, out) => expect(agentUrl(input)).toBe(out));
  it('rejects other schemes', () => expect(() => agentUrl('ftp://x')).toThrow(/unsupported scheme/));
});

describe('agent link', () => {
  it('sends hello with auth headers, takes the plan, batches with increasing seq, heartbeats flow', async () => {
    const srv = await startServer((conn) => planAndAck(conn, srv.send));
    cleanup.push(() => srv.close());
    const plans: Plan[] = [];
    const { link, outbox, states } = makeLink(srv.url, { onPlan: (p) => plans.push(p), batchMax: 4 });
    link.start();
    await until(() => plans.length === 1, 3000, 'plan');
    const c = srv.conns[0]!;
    expect(c.headers.authorization).toBe('Bearer s3cret');
    expect(c.headers['x-agent-id']).toBe('qn-20500');
    expect(c.msgs[0]).toMatchObject({ type: 'hello', v: 1, agentId: 'qn-20500', version: '0.1.0' });
    expect(plans[0]).toMatchObject({ rev: 'r1', heartbeatSec: 1 });
    expect(states.slice(0, 2)).toEqual(['connecting', 'open']);

    link.enqueue(results(10));
    await sleep(100);
    link.enqueue(results(3));
    await until(() => outbox.pending === 0, 3000, 'all acked');
    const seqs = srv.batches().map((b) => b.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(4); // 13 results, at most 4 per batch
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    expect(srv.batches().flatMap((b) => b.results)).toHaveLength(13);

    await sleep(2200);
    const hbs = c.msgs.filter((m) => m.type === 'heartbeat');
    expect(hbs.length).toBeGreaterThanOrEqual(2);
    expect(hbs.at(-1)).toMatchObject({ pending: 0, dropped: 0 });
    expect(srv.invalid).toEqual([]);
  });

  it('keeps at most maxInFlight unacked batches, and resends every unacked result after the server drops it', async () => {
    // Connection 0 never acks and is dropped after 1 s; connection 1 acks everything.
    const srv = await startServer((conn, i) => {
      if (i === 0)
        return {
          onMessage: (m) => {
            if (m.type === 'hello') srv.send(conn.ws, PLAN);
          },
          onOpen: () => void setTimeout(() => conn.ws.terminate(), 1000),
        };
      return planAndAck(conn, srv.send);
    });
    cleanup.push(() => srv.close());
    const acks: number[] = [];
    const { link, outbox } = makeLink(srv.url, { batchMax: 5, maxInFlight: 2, backoffInitialMs: 50, random: () => 0.5 });
    link.on('ack', (a) => acks.push(a.seq));
    link.start();
    await until(() => link.plan !== undefined, 3000, 'plan');
    const sent = results(50);
    for (let i = 0; i < 5; i++) {
      link.enqueue(sent.slice(i * 10, i * 10 + 10));
      await sleep(30);
    }
    await sleep(300);
    const first = srv.conns[0]!.msgs.filter((m) => m.type === 'batch');
    expect(first).toHaveLength(2); // 50 results queued, but only 2 unacked batches on the wire
    expect(outbox.pending).toBe(50);

    await until(() => srv.conns.length === 2 && outbox.pending === 0, 5000, 'reconnect and drain');
    // Every result arrived, exactly once per (target, ts) after dedupe; the unacked ones arrived twice.
    const key = (r: ProbeResult) => `${r.target}|${r.ts}`;
    const got = srv.batches().flatMap((b) => b.results).map(key);
    const unique = new Set(got);
    expect(unique.size).toBe(50);
    expect([...unique].sort()).toEqual(sent.map(key).sort());
    expect(got.length).toBe(60); // 2 batches of 5 resent
    // seq keeps increasing across connections (resent results get new seqs)
    const seqs = srv.batches().map((b) => b.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    expect(acks.length).toBe(srv.conns[1]!.msgs.filter((m) => m.type === 'batch').length);
  });

  it('reconnects with exponential backoff (full jitter pinned to its cap here)', async () => {
    // The server accepts and closes at once, never sending a plan: the backoff keeps growing.
    const srv = await startServer((conn) => ({ onOpen: () => conn.ws.close(1011, 'go away') }));
    cleanup.push(() => srv.close());
    const { link } = makeLink(srv.url, { backoffInitialMs: 100, backoffMaxMs: 400, random: () => 1 });
    link.start();
    await until(() => srv.conns.length >= 5, 5000, '5 connections');
    const gaps = srv.conns.slice(1).map((c, i) => c.at - srv.conns[i]!.at);
    // expected delays 100, 200, 400, 400 (capped) plus connection overhead
    [100, 200, 400, 400].forEach((d, i) => {
      expect(gaps[i]!).toBeGreaterThanOrEqual(d - 5);
      expect(gaps[i]!).toBeLessThan(d + 300); // loose: 2 shared cores
    });
  });

  it('on 4401 logs a clear message and retries slowly', async () => {
    const srv = await startServer((conn) => ({ onOpen: () => conn.ws.close(CLOSE.unauthorized, 'unauthorized') }));
    cleanup.push(() => srv.close());
    const { log, lines } = capture();
    const closes: number[] = [];
    const { link, states } = makeLink(srv.url, { backoffInitialMs: 20, slowRetryMs: 600, random: () => 0, log });
    link.on('close', (code) => closes.push(code));
    link.start();
    await until(() => srv.conns.length >= 2, 3000, 'second attempt');
    expect(srv.conns[1]!.at - srv.conns[0]!.at).toBeGreaterThanOrEqual(590);
    expect(closes[0]).toBe(4401);
    expect(states).toContain('closed');
    const msg = lines.find((l) => l.level === 'error')?.msg ?? '';
    expect(msg).toMatch(/4401 unauthorized/);
    expect(msg).toMatch(/--token/);
  });

  it('ignores an invalid plan, takes the next valid one, and resends a batch the server could not store', async () => {
    let refused = false;
    const srv = await startServer((conn) => ({
      onMessage: (m) => {
        if (m.type === 'hello') {
          conn.ws.send(JSON.stringify({ type: 'plan', v: 1, rev: 'bad' })); // missing fields
          conn.ws.send('not json');
          srv.send(conn.ws, { ...PLAN, rev: 'good' });
        }
        if (m.type === 'batch') {
          if (!refused) {
            refused = true;
            srv.send(conn.ws, { type: 'error', v: 1, code: 'store_unavailable', message: 'db down', seq: m.seq });
          } else srv.send(conn.ws, { type: 'ack', v: 1, seq: m.seq, accepted: m.results.length });
        }
      },
    }));
    cleanup.push(() => srv.close());
    const { log, lines } = capture();
    const plans: Plan[] = [];
    const { link, outbox } = makeLink(srv.url, { onPlan: (p) => plans.push(p), log, storeRetryMs: 300 });
    link.start();
    await until(() => plans.length === 1, 3000, 'plan');
    expect(plans.map((p) => p.rev)).toEqual(['good']);
    expect(lines.some((l) => l.level === 'warn' && /invalid frame/.test(l.msg ?? ''))).toBe(true);

    const t0 = Date.now();
    link.enqueue(results(3));
    await until(() => outbox.pending === 0, 3000, 'acked after retry');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const b = srv.batches();
    expect(b).toHaveLength(2);
    expect(b[1]!.results).toEqual(b[0]!.results);
    expect(b[1]!.seq).toBeGreaterThan(b[0]!.seq);
  });

  it('drops invalid results before they can poison a batch, and counts overflow as dropped', async () => {
    const srv = await startServer((conn) => planAndAck(conn, srv.send));
    cleanup.push(() => srv.close());
    const { log, lines } = capture();
    const outbox = new MemoryOutbox(5);
    const { link } = makeLink(srv.url, { outbox, log });
    const bad = { ...results(1)[0]!, loss: 250 } as ProbeResult;
    link.enqueue([bad]);
    expect(outbox.pending).toBe(0);
    expect(lines.some((l) => l.level === 'error' && /invalid result/.test(l.msg ?? ''))).toBe(true);
    link.enqueue(results(8)); // not started: held, 3 oldest dropped
    expect(outbox.pending).toBe(5);
    expect(outbox.dropped).toBe(3);
    link.start();
    await until(() => srv.conns[0]?.msgs.some((m) => m.type === 'heartbeat') ?? false, 3000, 'heartbeat');
    expect(srv.conns[0]!.msgs.find((m) => m.type === 'heartbeat')).toMatchObject({ dropped: 3 });
  });
});

describe('agent end to end: scheduler + real http probe + link', () => {
  it('runs the plan it receives and delivers labelled results', async () => {
    const portal = http.createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => portal.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => portal.close(() => r())));
    const url = `http://127.0.0.1:${(portal.address() as AddressInfo).port}/`;
    const plan: Plan = {
      ...PLAN,
      targets: [
        { id: 'portal', kind: 'http', url, intervalSec: 1, timeoutMs: 800 },
        { id: 'dns1', kind: 'dns', intervalSec: 1, timeoutMs: 800, resolver: '127.0.0.1', query: 'x.test', recordType: 'A' },
      ],
    };
    const srv = await startServer((conn) => planAndAck(conn, srv.send, plan));
    cleanup.push(() => srv.close());
    let link: Link | undefined;
    // An agent build without the dns probe (as an older agent would be) next to a plan that has one.
    const scheduler = new Scheduler({ probes: { http: httpProbe }, onResult: (r) => link!.enqueue([r]), random: () => 0 });
    cleanup.push(() => scheduler.stop());
    ({ link } = makeLink(srv.url, { onPlan: (p) => scheduler.setPlan(p) }));
    link.start();
    await until(() => srv.batches().flatMap((b) => b.results).length >= 2, 4000, 'two rounds');
    const rs = srv.batches().flatMap((b) => b.results);
    expect(rs.every((r) => r.target === 'portal' && r.kind === 'http' && r.ok && r.uplink === 'vnpt')).toBe(true);
    expect(scheduler.unsupportedKinds).toEqual(['dns']);
  });
});

describe('probe request: the real server, the link and the scheduler', () => {
  it("another site's failed portal round: the server's probe frame reaches onProbe and the portal is probed at once, nothing else", async () => {
    const hits: Record<string, number> = {};
    const portal = http.createServer((q, r) => {
      hits[q.url ?? ''] = (hits[q.url ?? ''] ?? 0) + 1;
      r.end('ok');
    });
    await new Promise<void>((r) => portal.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => portal.close(() => r())));
    const base = `http://127.0.0.1:${(portal.address() as AddressInfo).port}`;
    const A = { id: 'agent-a', commune: '21025' };
    const B = { id: 'agent-b', commune: '21548' };
    const s = await startTestServer({
      agents: [A, B],
      targets: [
        { id: 'portal', name: 'Cổng Dịch vụ công (test)', kind: 'http', url: `${base}/portal`, intervalSec: 60 },
        { id: 'other', name: 'Dịch vụ khác (test)', kind: 'http', url: `${base}/other`, intervalSec: 60 },
      ],
    });
    cleanup.push(() => s.stop());

    // site B: a real agent wired as agent/cli/run.ts wires it (default confirmation, the real http probe)
    const asked: string[][] = [];
    let link: Link | undefined;
    const scheduler = new Scheduler({ probes: { http: httpProbe }, onResult: (r) => link!.enqueue([r]), random: () => 0 });
    cleanup.push(() => scheduler.stop());
    ({ link } = makeLink(s.url, {
      agentId: B.id,
      token: s.tokens[B.id]!,
      onPlan: (p) => scheduler.setPlan(p),
      onProbe: (targets) => {
        asked.push(targets);
        scheduler.probeNow(targets);
      },
    }));
    link.start();
    // its first regular round of each target (phase 0), delivered: the next ones are a minute away
    await until(() => hits['/portal'] === 1 && hits['/other'] === 1, 5000, "site B's first rounds");
    await until(() => s.live.commune(B.commune).targets.length === 2, 5000, "site B's rounds on the server");

    // site A: its portal round fails after a good one
    const a = await connectAgent(s.url, A.id, s.tokens[A.id]!);
    cleanup.push(() => a.close());
    await a.hello();
    expect((await a.batch([{ kind: 'http', target: 'portal', ts: Date.now() - 1000, uplink: 'wan1', ok: true, status: 200, total_ms: 40 }])).type).toBe('ack');
    const t0 = Date.now();
    expect((await a.batch([{ kind: 'http', target: 'portal', ts: Date.now(), uplink: 'wan1', ok: false, status: null, total_ms: null, error: 'timeout' }])).type).toBe('ack');
    await until(() => hits['/portal'] === 2, 2000, 'the portal probed by site B');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(asked).toEqual([['portal']]);
    await sleep(300);
    expect(hits).toEqual({ '/portal': 2, '/other': 1 }); // its round answered: no confirmation rounds, no other target
  }, 20_000);
});
