// GET /api/public/status against a real server fed by a real WebSocket agent: today's availability from the stored
// rounds, a service failing in one commune of three stays "up" (that commune's link is not the service's state), an
// announced maintenance window of a published service is listed, one of an unpublished target is not, and a target
// published by config (`public: true`) shows while a portal marked `public: false` does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicStatusSchema, type PublicStatus } from '../../config/api.ts';
import type { ProbeResult } from '../../config/wire.ts';
import { connectAgent, icmpOk, type TestAgentClient } from '../helpers/agent-client.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

const OPERATOR = { username: 'vanhanh', password: 'mat-khau-thu-nghiem-42', role: 'operator' as const };
const AGENTS = [
  { id: 'ag-a', commune: '21025', carrier: 'viettel' },
  { id: 'ag-b', commune: '21028', carrier: 'vnpt' },
  { id: 'ag-c', commune: '21034', carrier: 'vnpt' },
];
const TARGETS = [
  { id: 'gw', name: 'Gateway', kind: 'icmp' as const, host: 'gateway' },
  { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp' as const, host: '127.0.0.1', public: true },
  { id: 'portal', name: 'Cổng Dịch vụ công tỉnh', kind: 'http' as const, url: 'http://127.0.0.1:9/' },
  { id: 'hidden', name: 'Cổng thử nghiệm', kind: 'http' as const, url: 'http://127.0.0.1:9/x', public: false },
];
/** YYYY-MM-DDTHH:MM in Asia/Ho_Chi_Minh */
const vn = (t: number) => new Date(t + 7 * 3_600_000).toISOString().slice(0, 16);

describe('public status API', () => {
  let server: TestServer;
  const agents: TestAgentClient[] = [];
  let body: PublicStatus;

  beforeAll(async () => {
    server = await startTestServer({ agents: AGENTS, targets: TARGETS, users: [OPERATOR] });
    for (const a of AGENTS) {
      const c = await connectAgent(server.url, a.id, server.tokens[a.id]!);
      await c.hello();
      agents.push(c);
    }
    const http = (target: string, ok: boolean, ts: number): ProbeResult =>
      ok ? { kind: 'http', target, ts, ok: true, status: 200, total_ms: 100 } : { kind: 'http', target, ts, ok: false, status: null, total_ms: null, error: 'timeout' };
    // 4 rounds a few seconds apart: the portal fails every round in commune ag-a only (its link), else answers
    const t0 = Date.now() - 20_000;
    for (let k = 0; k < 4; k++) {
      const ts = t0 + k * 4000;
      for (const [i, a] of agents.entries()) expect((await a.batch([icmpOk('gw', ts, 4), icmpOk('dc', ts), http('portal', i !== 0, ts), http('hidden', true, ts)])).type).toBe('ack');
    }
    const cookie = await login(server.url, OPERATOR.username, OPERATOR.password);
    const add = (w: object) =>
      fetch(`${server.url}/api/incidents/maintenance`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', origin: server.url }, body: JSON.stringify(w) });
    const from = Date.now() + 2 * 3_600_000;
    expect((await add({ id: 'nang-cap-cong', kind: 'once', title: 'Nâng cấp Cổng Dịch vụ công', from: vn(from), to: vn(from + 3_600_000), targets: ['portal'] })).status).toBe(201);
    expect((await add({ id: 'chi-noi-bo', kind: 'once', from: vn(from), to: vn(from + 3_600_000), targets: ['hidden'] })).status).toBe(201);
    // (an ack is sent once the batch is written: the availability query reads every round above)
    const r = await fetch(`${server.url}/api/public/status`);
    expect(r.status).toBe(200);
    body = publicStatusSchema.parse(await r.json());
  });

  afterAll(async () => {
    for (const a of agents) a.close();
    await server?.stop();
  });

  it('publishes the portal and the target config publishes, not the gateway nor a target marked private', () => {
    expect(body.services.map((s) => s.id)).toEqual(['dc', 'portal']);
  });

  it("today's availability counts every stored round: 8 of the portal's 12 answered", () => {
    const portal = body.services.find((s) => s.id === 'portal')!;
    expect(portal.todayPct).toBeCloseTo((8 / 12) * 100, 1);
    expect(portal.ninetyDayPct).toBeCloseTo((8 / 12) * 100, 1);
    expect(portal.days).toHaveLength(90);
    expect(portal.days.at(-1)).toEqual({ date: vn(Date.now()).slice(0, 10), pct: portal.todayPct });
    expect(portal.days.slice(0, -1).every((d) => d.pct === null)).toBe(true);
    expect(body.services.find((s) => s.id === 'dc')!.todayPct).toBe(100);
  });

  it('one commune of three failing is that commune, not the service: the portal reads up', () => {
    expect(body.services.find((s) => s.id === 'portal')!.state).toBe('up');
    expect(body.incidents).toEqual([]);
  });

  it('announced maintenance of a published service is listed; of an unpublished one, not', () => {
    expect(body.maintenance).toEqual([
      expect.objectContaining({ id: 'nang-cap-cong', title: 'Nâng cấp Cổng Dịch vụ công', services: ['portal'] }),
    ]);
    const m = body.maintenance[0]!;
    expect(m.to - m.from).toBe(3_600_000);
    expect(m.from).toBeGreaterThan(Date.now());
  });

  it('the answer holds nothing about communes, carriers or agents', () => {
    const raw = JSON.stringify(body);
    for (const s of ['21025', '21028', 'viettel', 'vnpt', 'ag-a', 'hidden', 'Cổng thử nghiệm']) expect(raw).not.toContain(s);
  });
});
