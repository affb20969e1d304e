// The outage scenarios' world (test/e2e/incidents*.netns.test.ts): six communes of two carriers, each a network
// namespace running a real agent process, a real server with incident detection, a portal on the province's core,
// and nft faults. Each scenario file picks its own core address so the files run side by side.
//
// Topology: the core (the server and the portal) listens on `core`, an address added to the loopback interface and
// removed at the end (this kernel has no dummy interfaces); each commune namespace has a veth whose root-side
// address is its gateway and a default route through it. Traffic never leaves the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigInput } from '../../config/schema.ts';
import type { Incident, IncidentEvent } from '../../server/incidents/types.ts';
import { AgentProc, cleanupDirs, tmpDir } from '../agent/loss-harness.ts';
import { startInfluxd, type Influxd } from './influxd.ts';
import { createHost, destroyAllHosts, type NetnsHost } from './netns.ts';
import { startTestServer, type TestServer } from './server.ts';

export const COMMUNES = [
  { code: '21025', carrier: 'vnpt' }, // Phường Cẩm Thành
  { code: '21484', carrier: 'vnpt' }, // Xã Ba Tơ
  { code: '21548', carrier: 'vnpt' }, // Đặc khu Lý Sơn
  { code: '21034', carrier: 'viettel' }, // Xã An Phú
  { code: '21040', carrier: 'viettel' }, // Xã Bình Sơn
  { code: '21061', carrier: 'viettel' }, // Xã Vạn Tường
];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export async function until(cond: () => boolean, ms: number, what: string, debug?: () => string, everyMs = 200) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}${debug ? `\n${debug()}` : ''}`);
    await sleep(everyMs);
  }
}

function sh(cmd: string, ...args: string[]) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface ScenarioWorld {
  s: TestServer;
  hosts: NetnsHost[];
  agents: AgentProc[];
  events: { at: number; e: IncidentEvent }[];
  /** what the portal answers from now on */
  setPortalStatus(status: number): void;
  /** incidents opened since `t0` */
  openedSince(t0: number): Incident[];
  /** in the namespace: drop everything leaving except the agent's link to the server (the uplink is cut, the management path is not) */
  cutUplink(h: NetnsHost): void;
  restore(h: NetnsHost): void;
  allUp(ms?: number): Promise<void>;
  dispose(): Promise<void>;
}

export interface ScenarioOptions {
  /** the province core's address, on lo; one per scenario file */
  core: string;
  store: 'duckdb' | 'influx';
  /** the targets, given the portal's URL */
  targets: (portalUrl: string) => NonNullable<ConfigInput['targets']>;
}

export async function startScenarioWorld(o: ScenarioOptions): Promise<ScenarioWorld> {
  const { core } = o;
  let influxd: Influxd | null = null;
  let portalStatus = 200;
  const hosts: NetnsHost[] = [];
  const agents: AgentProc[] = [];
  const dirs: string[] = [];
  const events: { at: number; e: IncidentEvent }[] = [];

  spawnSync('ip', ['addr', 'del', `${core}/32`, 'dev', 'lo'], { stdio: 'ignore' });
  sh('ip', 'addr', 'add', `${core}/32`, 'dev', 'lo');
  const portal: Server = createServer((_q, res) => {
    res.statusCode = portalStatus;
    res.end(portalStatus === 200 ? 'Cổng Dịch vụ công' : 'Service Unavailable');
  });
  await new Promise<void>((r) => portal.listen(0, core, () => r()));
  const portalPort = (portal.address() as AddressInfo).port;

  for (const c of COMMUNES) {
    const h = createHost({ name: c.code });
    h.exec('ip', 'route', 'add', 'default', 'via', h.hostIp);
    hosts.push(h);
  }
  if (o.store === 'influx') influxd = await startInfluxd();
  const s = await startTestServer({
    host: '0.0.0.0',
    store: influxd ? { kind: 'influx', url: influxd.url, database: 'ioc_scenarios' } : { kind: 'duckdb' },
    agents: COMMUNES.map((c, i) => ({ id: `ag-${c.code}`, commune: c.code, uplinks: [{ name: 'wan1', carrier: c.carrier, gateway: hosts[i]!.hostIp }] })),
    targets: o.targets(`http://${core}:${portalPort}/`),
  });
  s.incidents.on((e) => events.push({ at: Date.now(), e }));
  const serverUrl = `http://${core}:${s.port}`;
  COMMUNES.forEach((c, i) => {
    const spoolDir = tmpDir('ioc-scn-spool-');
    dirs.push(spoolDir);
    const a = new AgentProc({ server: serverUrl, id: `ag-${c.code}`, token: s.tokens[`ag-${c.code}`]!, spoolDir, traceFile: `${spoolDir}/trace.jsonl`, intervalScale: 1, netns: hosts[i]!.ns });
    // the core is not this machine's loopback as the agent sees it: plain ws:// needs the agent's explicit consent
    const settings = `${spoolDir}/agent.json`;
    writeFileSync(settings, JSON.stringify({ insecure: true }));
    const before = process.env.IOC_AGENT_CONFIG;
    process.env.IOC_AGENT_CONFIG = settings; // read by the spawn below only
    try {
      a.start();
    } finally {
      if (before === undefined) delete process.env.IOC_AGENT_CONFIG;
      else process.env.IOC_AGENT_CONFIG = before;
    }
    agents.push(a);
  });

  const allUp = (ms = 60_000) => until(() => COMMUNES.every((c) => s.live.commune(c.code).status === 'up'), ms, 'all communes up', () => agents.map((a) => a.log.slice(-500)).join('\n'));
  return {
    s,
    hosts,
    agents,
    events,
    setPortalStatus: (status) => (portalStatus = status),
    openedSince: (t0) => events.filter((x) => x.at >= t0 && x.e.kind === 'opened').map((x) => x.e.incident),
    cutUplink(h) {
      h.exec('nft', 'add', 'table', 'inet', 'ioc_cut');
      h.exec('nft', 'add', 'chain', 'inet', 'ioc_cut', 'out', '{ type filter hook output priority 0; policy accept; }');
      h.exec('nft', 'add', 'rule', 'inet', 'ioc_cut', 'out', 'ip', 'daddr', core, 'tcp', 'dport', String(s.port), 'accept');
      h.exec('nft', 'add', 'rule', 'inet', 'ioc_cut', 'out', 'oifname', 'lo', 'accept');
      h.exec('nft', 'add', 'rule', 'inet', 'ioc_cut', 'out', 'drop');
    },
    restore: (h) => void spawnSync('ip', ['netns', 'exec', h.ns, 'nft', 'delete', 'table', 'inet', 'ioc_cut'], { stdio: 'ignore' }),
    allUp,
    async dispose() {
      await Promise.all(agents.map((a) => a.stop('SIGKILL')));
      await s?.stop();
      portal.close();
      await influxd?.dispose();
      destroyAllHosts();
      spawnSync('ip', ['addr', 'del', `${core}/32`, 'dev', 'lo'], { stdio: 'ignore' });
      cleanupDirs(dirs);
    },
  };
}
