// The TSLCD line end to end: a real server, real WebSocket agents in three communes, each with a TSLCD line (VNPT) and
// an Internet line (Viettel). Network-scoped targets are planned on their network's lines only; a TSLCD cut in one
// commune while its Internet works opens one incident whose evidence names TSLCD, and the map shows that commune
// degraded, not down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceLines } from '../../config/words.ts';
import type { Plan, ProbeResult } from '../../config/wire.ts';
import { connectAgent, icmpLost, icmpOk, type TestAgentClient } from '../helpers/agent-client.ts';
import { login, startTestServer, type TestAgent, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const OPERATOR = { username: 'vanhanh', password: 'mat-khau-thu-nghiem-42', role: 'operator' as const };
const COMMUNES = ['21025', '21028', '21034'];
const tslcd = { name: 'tslcd', carrier: 'vnpt', gateway: '127.0.0.1', network: 'tslcd' as const };
const ftth = { name: 'ftth', carrier: 'viettel', gateway: '127.0.0.1' };
const AGENTS: TestAgent[] = COMMUNES.map((commune, i) => ({ id: `ag-${i}`, commune, uplinks: [tslcd, ftth] }));
const TARGETS = [
  { id: 'gw', name: 'Gateway', kind: 'icmp' as const, host: 'gateway' },
  { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp' as const, host: '127.0.0.1' },
  { id: 'ioffice', name: 'iOffice tỉnh', kind: 'http' as const, url: 'http://127.0.0.1:9/ioffice', network: 'tslcd' as const },
  { id: 'hop-truc-tuyen', name: 'Hội nghị truyền hình trực tuyến', kind: 'tcp' as const, host: '127.0.0.1', port: 9, network: 'tslcd' as const },
  { id: 'dvc-quoc-gia', name: 'Cổng Dịch vụ công quốc gia', kind: 'http' as const, url: 'http://127.0.0.1:9/dvc', network: 'internet' as const },
];

const httpRound = (target: string, ok: boolean, ts: number, uplink: string): ProbeResult =>
  ok ? { kind: 'http', target, ts, uplink, ok: true, status: 200, total_ms: 80 } : { kind: 'http', target, ts, uplink, ok: false, status: null, total_ms: null, error: 'timeout' };
const tcpRound = (target: string, ok: boolean, ts: number, uplink: string): ProbeResult =>
  ok ? { kind: 'tcp', target, ts, uplink, ok: true, connect_ms: 9 } : { kind: 'tcp', target, ts, uplink, ok: false, connect_ms: null, error: 'timeout' };
/** one round of an agent: the TSLCD line answers or not, the Internet line always does */
const round = (ts: number, tslcdOk: boolean): ProbeResult[] => [
  tslcdOk ? icmpOk('gw', ts, 3, 'tslcd') : icmpLost('gw', ts, 'tslcd'),
  icmpOk('gw', ts, 2, 'ftth'),
  tslcdOk ? icmpOk('dc', ts, 9, 'tslcd') : icmpLost('dc', ts, 'tslcd'),
  icmpOk('dc', ts, 14, 'ftth'),
  httpRound('ioffice', tslcdOk, ts, 'tslcd'),
  tcpRound('hop-truc-tuyen', tslcdOk, ts, 'tslcd'),
  httpRound('dvc-quoc-gia', true, ts, 'ftth'),
];

describe('TSLCD line beside the Internet, through a real server', () => {
  let server: TestServer;
  let cookie: string;
  const agents: TestAgentClient[] = [];
  const plans: Plan[] = [];
  const get = async (path: string) => {
    const r = await fetch(`${server.url}${path}`, { headers: { cookie } });
    expect(r.status).toBe(200);
    return r.json();
  };

  beforeAll(async () => {
    server = await startTestServer({ agents: AGENTS, targets: TARGETS, users: [OPERATOR] });
    for (const a of AGENTS) {
      const c = await connectAgent(server.url, a.id, server.tokens[a.id]!);
      plans.push(await c.hello());
      agents.push(c);
    }
    cookie = await login(server.url, OPERATOR.username, OPERATOR.password);
  });

  afterAll(async () => {
    for (const a of agents) a.close();
    await server?.stop();
  });

  it('plans network-scoped targets on their network\'s line only, the others on every line', () => {
    const lines = (id: string) => plans[0]!.targets.filter((t) => t.id === id).map((t) => t.uplink ?? '*');
    expect(lines('ioffice')).toEqual(['tslcd']);
    expect(lines('hop-truc-tuyen')).toEqual(['tslcd']);
    expect(lines('dvc-quoc-gia')).toEqual(['ftth']);
    expect(lines('gw')).toEqual(['tslcd', 'ftth']);
    expect(lines('dc')).toEqual(['*']);
  });

  it('a TSLCD cut in one commune: one incident naming TSLCD, the commune degraded (its Internet works)', async () => {
    const t0 = Date.now() - 20_000;
    for (let k = 0; k < 4; k++) {
      const ts = t0 + k * 4000;
      for (const [i, a] of agents.entries()) expect((await a.batch(round(ts, i !== 0))).type).toBe('ack');
    }
    const cut = COMMUNES[0]!;
    type Inc = { cause: string; subject: string; severity: string; carrier: string | null; communes: string[]; evidence: { items: { code: string }[]; figures: Record<string, unknown> } };
    const open = await until('an open incident', async () => {
      const list = (await get('/api/incidents?open=true')) as Inc[];
      return list.length ? list : undefined;
    });
    expect(open.map((i) => [i.cause, i.subject, i.severity, i.carrier])).toEqual([['local_link', cut, 'degraded', 'vnpt']]);
    const ev = open[0]!.evidence;
    expect(ev.items[0]).toEqual({ code: 'network_path', network: 'tslcd', uplink: 'tslcd', carrier: 'vnpt', internetOk: true });
    expect(ev.figures).toMatchObject({ network: 'tslcd', internetOk: 1 });
    expect(evidenceLines(ev as never, 'vi')[0]).toBe('Đường truyền số liệu chuyên dùng (TSLCD) mất kết nối (tslcd (vnpt)), Internet vẫn hoạt động');

    // the map: degraded, not down; the TSLCD slots themselves still show down; the other communes are up
    const c = (await get(`/api/communes/${cut}`)) as { status: string; targets: { id: string; uplink?: string; status: string }[] };
    expect(c.status).toBe('degraded');
    expect(c.targets.filter((t) => t.uplink === 'tslcd').map((t) => t.status)).toEqual(['down', 'down', 'down', 'down']);
    expect(c.targets.filter((t) => t.uplink === 'ftth').every((t) => t.status === 'up')).toBe(true);
    for (const other of COMMUNES.slice(1)) expect(((await get(`/api/communes/${other}`)) as { status: string }).status).toBe('up');
  }, 60_000);

  it('TSLCD then cut in all three communes, their Internet fine: one incident for the TSLCD network, run by VNPT', async () => {
    const t0 = Date.now() - 12_000;
    for (let k = 0; k < 4; k++) {
      const ts = t0 + k * 3000;
      for (const a of agents) expect((await a.batch(round(ts, false))).type).toBe('ack');
    }
    type Inc = { cause: string; subject: string; carrier: string | null; communes: string[]; evidence: { items: { code: string }[] } };
    const net = await until('the TSLCD network incident', async () => ((await get('/api/incidents?open=true')) as Inc[]).find((i) => i.subject === 'tslcd'));
    expect([net.cause, net.carrier, [...net.communes].sort()]).toEqual(['carrier', 'vnpt', [...COMMUNES].sort()]);
    expect(net.evidence.items).toEqual([{ code: 'network_share', network: 'tslcd', carrier: 'vnpt', failing: 3, of: 3, internetPct: 0 }]);
    // the network's incident covers the first commune's local link (taken over, not a second incident for it)
    await until('one open incident', async () => ((await get('/api/incidents?open=true')) as Inc[]).length === 1);
    // the map: the TSLCD targets fail in every commune, so the province-wide rule leaves them to the network's incident
    // (as a portal down everywhere): no commune is painted for it, and each TSLCD slot says it fails province-wide
    for (const c of COMMUNES) {
      const v = (await get(`/api/communes/${c}`)) as { status: string; targets: { uplink?: string; status: string; reason: { provinceWide?: boolean } | null }[] };
      expect(v.status).toBe('up');
      expect(v.targets.filter((t) => t.uplink === 'tslcd').every((t) => t.status === 'down' && t.reason?.provinceWide === true)).toBe(true);
    }
  }, 60_000);
});
