// Outage scenarios end to end, nothing simulated: six communes, each a network namespace running a real agent
// process (agent/main.ts, system ping, HTTP probe), two carriers, a real server with incident detection on each
// store. Faults are injected with nft; each scenario checks that exactly the expected incidents open, and prints
// the time from the fault to the incident (and to the map changing colour).
//
// Topology: the province's core (the server and a portal) listens on 10.213.250.1, an address this test adds to
// the loopback interface and removes (this kernel has no dummy interfaces); each commune namespace has a veth whose root-side address is its
// gateway and a default route through it. Traffic never leaves the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident, IncidentEvent } from '../../server/incidents/types.ts';
import { AgentProc, cleanupDirs, tmpDir } from '../agent/loss-harness.ts';
import { skipWithoutInfluxd, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { createHost, destroyAllHosts, skipWithoutNetns, type NetnsHost } from '../helpers/netns.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CORE = '10.213.250.1';
const COMMUNES = [
  { code: '21025', carrier: 'vnpt' }, // Phường Cẩm Thành
  { code: '21484', carrier: 'vnpt' }, // Xã Ba Tơ
  { code: '21548', carrier: 'vnpt' }, // Đặc khu Lý Sơn
  { code: '21034', carrier: 'viettel' }, // Xã An Phú
  { code: '21040', carrier: 'viettel' }, // Xã Bình Sơn
  { code: '21061', carrier: 'viettel' }, // Xã Vạn Tường
];

const skip = skipWithoutNetns('incident scenarios');
const stores = ['duckdb', ...(skipWithoutInfluxd() ? [] : ['influx'])] as const;

function sh(cmd: string, ...args: string[]) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe.skipIf(skip).each(stores)('incident scenarios with real agents (%s store)', (storeKind) => {
  let influxd: Influxd | null = null;
  let s: TestServer;
  let portal: Server;
  let portalStatus = 200;
  const hosts: NetnsHost[] = [];
  const agents: AgentProc[] = [];
  const dirs: string[] = [];
  const events: { at: number; e: IncidentEvent }[] = [];

  beforeAll(async () => {
    spawnSync('ip', ['addr', 'del', `${CORE}/32`, 'dev', 'lo'], { stdio: 'ignore' });
    sh('ip', 'addr', 'add', `${CORE}/32`, 'dev', 'lo');
    portal = createServer((_q, res) => {
      res.statusCode = portalStatus;
      res.end(portalStatus === 200 ? 'Cổng Dịch vụ công' : 'Service Unavailable');
    });
    await new Promise<void>((r) => portal.listen(0, CORE, () => r()));
    const portalPort = (portal.address() as AddressInfo).port;

    for (const c of COMMUNES) {
      const h = createHost({ name: c.code });
      h.exec('ip', 'route', 'add', 'default', 'via', h.hostIp);
      hosts.push(h);
    }
    if (storeKind === 'influx') influxd = await startInfluxd();
    s = await startTestServer({
      host: '0.0.0.0',
      store: influxd ? { kind: 'influx', url: influxd.url, database: 'ioc_scenarios' } : { kind: 'duckdb' },
      agents: COMMUNES.map((c, i) => ({ id: `ag-${c.code}`, commune: c.code, uplinks: [{ name: 'wan1', carrier: c.carrier, gateway: hosts[i]!.hostIp }] })),
      targets: [
        { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway', count: 10, spacingMs: 200, intervalSec: 5, timeoutMs: 4000 },
        { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp', host: CORE, count: 10, spacingMs: 200, intervalSec: 5, timeoutMs: 4000 },
        { id: 'dvc', name: 'Cổng Dịch vụ công', kind: 'http', url: `http://${CORE}:${portalPort}/`, intervalSec: 5, timeoutMs: 3000 },
      ],
    });
    s.incidents.on((e) => events.push({ at: Date.now(), e }));
    const serverUrl = `http://${CORE}:${s.port}`;
    COMMUNES.forEach((c, i) => {
      const spoolDir = tmpDir('ioc-scn-spool-');
      dirs.push(spoolDir);
      const a = new AgentProc({ server: serverUrl, id: `ag-${c.code}`, token: s.tokens[`ag-${c.code}`]!, spoolDir, traceFile: `${spoolDir}/trace.jsonl`, intervalScale: 1, netns: hosts[i]!.ns });
      a.start();
      agents.push(a);
    });
    await until(() => COMMUNES.every((c) => s.live.commune(c.code).status === 'up'), 60_000, 'all communes up', () => agents.map((a) => a.log.slice(-500)).join('\n'));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await s?.stop();
    portal?.close();
    await influxd?.dispose();
    destroyAllHosts();
    spawnSync('ip', ['addr', 'del', `${CORE}/32`, 'dev', 'lo'], { stdio: 'ignore' });
    cleanupDirs(dirs);
  });

  /** incidents opened since `t0` */
  const openedSince = (t0: number): Incident[] => events.filter((x) => x.at >= t0 && x.e.kind === 'opened').map((x) => x.e.incident);
  const report = (what: string, ms: number) => console.log(`[${storeKind}] ${what}: ${(ms / 1000).toFixed(1)} s`);
  /** in the namespace: drop everything leaving except the agent's link to the server (the uplink is cut, the management path is not) */
  const cutUplink = (h: NetnsHost) => {
    h.exec('nft', 'add', 'table', 'inet', 'ioc_cut');
    h.exec('nft', 'add', 'chain', 'inet', 'ioc_cut', 'out', '{ type filter hook output priority 0; policy accept; }');
    h.exec('nft', 'add', 'rule', 'inet', 'ioc_cut', 'out', 'ip', 'daddr', CORE, 'tcp', 'dport', String(s.port), 'accept');
    h.exec('nft', 'add', 'rule', 'inet', 'ioc_cut', 'out', 'oifname', 'lo', 'accept');
    h.exec('nft', 'add', 'rule', 'inet', 'ioc_cut', 'out', 'drop');
  };
  const restore = (h: NetnsHost) => spawnSync('ip', ['netns', 'exec', h.ns, 'nft', 'delete', 'table', 'inet', 'ioc_cut'], { stdio: 'ignore' });
  const allUp = () => until(() => COMMUNES.every((c) => s.live.commune(c.code).status === 'up'), 60_000, 'all communes back up');

  it('a commune whose uplink is cut: red on the map, one local-link incident', async () => {
    const h = hosts[0]!, code = COMMUNES[0]!.code;
    const t0 = Date.now();
    cutUplink(h);
    await until(() => s.live.commune(code).status === 'down', 60_000, `${code} down on the map`);
    report('uplink cut -> commune red on the map', Date.now() - t0);
    await until(() => openedSince(t0).length > 0, 90_000, 'an incident');
    report('uplink cut -> local-link incident', Date.now() - t0);
    await sleep(8000); // anything else that was going to open
    const opened = openedSince(t0);
    expect(opened.map((i) => [i.cause, i.subject, i.communes])).toEqual([['local_link', code, [code]]]);
    restore(h);
    await allUp();
  }, 240_000);

  it("a commune cut off entirely (its agent falls silent): grey, not red, and one agent incident", async () => {
    const h = hosts[2]!, code = COMMUNES[2]!.code;
    const t0 = Date.now();
    h.exec('ip', 'link', 'set', h.nsIf, 'down');
    await until(() => s.live.commune(code).status === 'unknown', 60_000, `${code} grey on the map`);
    report('link down -> commune grey on the map', Date.now() - t0);
    expect(s.live.commune(code).status).not.toBe('down');
    await until(() => openedSince(t0).length > 0, 150_000, 'an incident');
    report('link down -> agent incident', Date.now() - t0);
    await sleep(5000);
    expect(openedSince(t0).map((i) => [i.cause, i.subject, i.severity])).toEqual([['agent', code, 'degraded']]);
    h.exec('ip', 'link', 'set', h.nsIf, 'up');
    h.exec('ip', 'route', 'replace', 'default', 'via', h.hostIp);
    await allUp();
  }, 300_000);

  it('a portal failing for every commune: one service incident, not one per commune', async () => {
    const t0 = Date.now();
    portalStatus = 503;
    await until(() => openedSince(t0).length > 0, 90_000, 'an incident');
    report('portal 503 -> service incident', Date.now() - t0);
    await sleep(8000);
    const opened = openedSince(t0);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ cause: 'service', subject: 'dvc' });
    expect(opened[0]!.communes).toHaveLength(COMMUNES.length);
    // the portal's fault does not paint the communes red
    expect(COMMUNES.filter((c) => s.live.commune(c.code).status === 'down')).toEqual([]);
    portalStatus = 200;
    await allUp();
  }, 240_000);

  it("one carrier's communes failing together: one carrier incident listing them", async () => {
    const viettel = COMMUNES.map((c, i) => ({ ...c, h: hosts[i]! })).filter((c) => c.carrier === 'viettel');
    const t0 = Date.now();
    for (const c of viettel) cutUplink(c.h);
    await until(() => openedSince(t0).some((i) => i.cause === 'carrier'), 120_000, 'a carrier incident');
    report('carrier cut -> carrier incident', Date.now() - t0);
    await sleep(8000);
    const opened = openedSince(t0).filter((i) => !i.mergedInto);
    expect(opened.map((i) => [i.cause, i.subject])).toEqual([['carrier', 'viettel']]);
    expect([...opened[0]!.communes].sort()).toEqual(viettel.map((c) => c.code).sort());
    for (const c of viettel) restore(c.h);
    await allUp();
  }, 300_000);

  it('5 % random loss on a healthy link for many rounds opens no incident', async () => {
    const h = hosts[1]!;
    const t0 = Date.now();
    h.setLoss(5);
    const rounds = 24; // 2 minutes of 10-echo rounds every 5 s
    await sleep(rounds * 5000);
    h.setLoss(0);
    const pts = await s.store.queryRaw({ measurement: 'icmp', from: t0, to: Date.now(), where: { agent: `ag-${COMMUNES[1]!.code}`, target: 'dc' } });
    const lost = pts.reduce((n, p) => n + ((p.fields.sent as number) - (p.fields.received as number)), 0);
    const sent = pts.reduce((n, p) => n + (p.fields.sent as number), 0);
    console.log(`[${storeKind}] 5 % loss: ${pts.length} rounds, ${lost}/${sent} echoes lost (${((100 * lost) / sent).toFixed(1)} %), incidents opened: ${openedSince(t0).length}`);
    expect(pts.length).toBeGreaterThanOrEqual(rounds - 3);
    expect(lost).toBeGreaterThan(0); // the loss really was there
    expect(openedSince(t0)).toEqual([]);
  }, 240_000);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number, what: string, debug?: () => string) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}${debug ? `\n${debug()}` : ''}`);
    await sleep(200);
  }
}
