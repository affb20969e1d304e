// A short, seeded fuzz of every REST route and of the agent link: malformed JSON, wrong types, huge numbers, deep
// nesting, long strings, odd parameters. The server must stay up, answer every request with a status below 500,
// keep the agent link usable, and log nothing at error level.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, splitRoute, type ApiRoute } from '../../config/api.ts';
import { mulberry32 } from '../../agent/simulator/model.ts';
import { connectAgent, icmpOk } from '../helpers/agent-client.ts';
import { AGENT, PW, startLogged, type LoggedServer } from './server.ts';

let s: LoggedServer;
let admin = '';
const rnd = mulberry32(10);
const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

beforeAll(async () => {
  s = await startLogged({ security: { maxFailuresPerAddress: 10_000, maxFailuresPerAccount: 10_000 } });
  const r = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'quantri', password: PW }) });
  admin = r.headers.get('set-cookie')!.split(';')[0]!;
});
afterAll(async () => s?.stop());

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const SCALARS: unknown[] = [
  null, true, 0, -1, 1e308, -1e308, 2 ** 63, Number.MAX_SAFE_INTEGER + 2, 0.1, '', 'x'.repeat(100_000), 'Xã Ba Tơ 😀 \u0000 \u202e',
  '../../etc/passwd', '<script>alert(1)</script>', "' OR 1=1 --", '${7*7}', [], {}, { __proto__: { admin: true } },
];
function value(depth = 0): unknown {
  if (depth > 3 || rnd() < 0.5) return pick(SCALARS);
  if (rnd() < 0.5) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [pick(['id', 'kind', 'text', 'commune', 'period', 'from', 'to', 'username', 'password', 'uplinks', 'x']), value(depth + 1)]));
}
function body(): string {
  switch (Math.floor(rnd() * 6)) {
    case 0: return '{"unterminated": ';
    case 1: return deep(5000 + Math.floor(rnd() * 5000));
    case 2: return JSON.stringify({ text: 'ư'.repeat(300_000) });
    case 3: return '\u0000\u0001garbage';
    default: return JSON.stringify(value());
  }
}
function param(): string {
  return encodeURIComponent(String(pick(['', '%', '..', 'x'.repeat(3000), '99999999999999999999', 'Xã', '1e400', '-1', 'null'])) || 'x');
}
const QUERIES = ['', '?limit=-5', '?limit=1e9', '?from=abc&to=-1', `?commune=${'9'.repeat(400)}`, '?open=maybe', '?bucket=0', '?x=1&x=2', `?action=${'a'.repeat(100)}`];

describe('REST', () => {
  it('every route, malformed in many ways, as admin and anonymous: always a status below 500', async () => {
    const seen: string[] = [];
    for (let round = 0; round < 6; round++) {
      for (const key of Object.keys(API) as ApiRoute[]) {
        const [method, path] = splitRoute(key);
        const url = `${s.url}${path.replace(/:[a-z]+/g, () => param())}${pick(QUERIES)}`;
        const cookie = rnd() < 0.8 ? admin : undefined;
        const init: RequestInit = { method, headers: { ...(cookie ? { cookie } : {}), 'content-type': 'application/json' } };
        if (method !== 'GET') init.body = body();
        // a socket the server closed after refusing an unread body may be reused once by the client: retry on a new one
        const r = await fetch(url, init).catch(() => fetch(url, init)).catch((e: unknown) => e as Error);
        if (r instanceof Error) throw new Error(`${key} ${url.slice(0, 120)}: ${r.message} ${String((r as { cause?: unknown }).cause)}`);
        await r.arrayBuffer();
        if (r.status >= 500) seen.push(`${key} -> ${r.status}`);
      }
    }
    expect(seen).toEqual([]);
    expect((await fetch(`${s.url}/api/health`)).status).toBe(200);
  }, 120_000);
});

describe('agent link', () => {
  it('malformed frames get error frames; the link and the server stay up', async () => {
    const c = await connectAgent(s.url, AGENT.id, s.token);
    await c.hello();
    const frames = [
      '{', deep(20_000), '"just a string"', '12', 'null', JSON.stringify({ type: 'batch', v: 1, seq: -1, results: 'x' }),
      JSON.stringify({ type: 'batch', v: 1, seq: 2 ** 60, results: [{ kind: 'icmp', target: 'dc', ts: 1e300 }] }),
      JSON.stringify({ type: 'heartbeat', v: 1, pending: 'many' }), JSON.stringify({ type: 'hello', v: 99, agentId: 'x'.repeat(10_000) }),
      JSON.stringify({ type: 'batch', v: 1, seq: 3, results: [{ ...icmpOk('dc', Date.now()), rtt_avg: Number.MAX_VALUE, target: 'ư'.repeat(5000) }] }),
    ];
    for (let i = 0; i < 15; i++) c.sendRaw(frames[i % frames.length]!);
    // up to the per-minute error budget the link stays; past it the server may close it, never crash
    await new Promise((r) => setTimeout(r, 500));
    const again = await connectAgent(s.url, AGENT.id, s.token);
    await again.hello();
    expect(await again.batch([icmpOk('dc', Date.now())])).toMatchObject({ type: 'ack', accepted: 1 });
    again.close();
    c.close();
    expect((await fetch(`${s.url}/api/health`)).status).toBe(200);
  });

  it('nothing was logged at error level', () => {
    const errors = s.lines.filter((l) => (l.level as number) >= 50);
    expect(errors.map((l) => `${l.msg} ${JSON.stringify(l.err ?? '')}`.slice(0, 300))).toEqual([]);
  });
});
