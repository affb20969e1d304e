// The whole chain with nothing simulated: a real agent process (agent/main.ts) probing loopback with the system
// ping and a local HTTP server, a real server, a real influxd. Results must be readable with InfluxQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutInfluxd, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ROOT = join(import.meta.dirname, '../..');
const AGENT = { id: 'qn-21025-a', commune: '21025', carrier: 'vnpt' };

describe.skipIf(skipWithoutInfluxd())('real agent -> server -> influxd', () => {
  let influxd: Influxd;
  let s: TestServer;
  let portal: Server;
  let agent: ChildProcess;
  let agentLog = '';
  let spoolDir = '';

  beforeAll(async () => {
    influxd = await startInfluxd();
    portal = createServer((_req, res) => res.end('Cổng Dịch vụ công (test)'));
    await new Promise<void>((r) => portal.listen(0, '127.0.0.1', () => r()));
    const port = (portal.address() as AddressInfo).port;
    s = await startTestServer({
      agents: [AGENT],
      store: { kind: 'influx', url: influxd.url, database: 'ioc_e2e' },
      targets: [
        { id: 'dc', name: 'Loopback', kind: 'icmp', host: '127.0.0.1', count: 3, intervalSec: 5 },
        { id: 'portal', name: 'Portal (test)', kind: 'http', url: `http://127.0.0.1:${port}/`, keyword: 'Dịch vụ công', intervalSec: 5 },
      ],
    });
    spoolDir = mkdtempSync(join(tmpdir(), 'ioc-e2e-spool-'));
    agent = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts', '--server', s.url, '--id', AGENT.id, '--spool-dir', spoolDir, '--log-level', 'warn'], {
      cwd: ROOT, env: { ...process.env, IOC_AGENT_TOKEN: s.tokens[AGENT.id] }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (d) => (agentLog += d));
    agent.stderr!.on('data', (d) => (agentLog += d));
  });
  afterAll(async () => {
    agent?.kill('SIGTERM');
    await s?.stop();
    portal?.close();
    await influxd?.dispose();
    if (spoolDir) {
      rmSync(spoolDir, { recursive: true, force: true });
      rmSync(`${spoolDir}.status.json`, { force: true }); // the agent's status file, beside its spool
    }
  });

  it('ICMP and HTTP results show up in InfluxDB, tagged with the commune', async () => {
    const db = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: 'ioc_e2e' });
    const t0 = Date.now();
    type IcmpRow = { received: number; loss: number; rtt_median: number; commune: string; carrier: string };
    type HttpRow = { ok: boolean; status: number; total_ms: number };
    let icmp: IcmpRow[] = [];
    let http: HttpRow[] = [];
    while (Date.now() - t0 < 30_000 && (icmp.length === 0 || http.length === 0)) {
      await new Promise((r) => setTimeout(r, 500));
      icmp = await db.query<IcmpRow>(`SELECT received, loss, rtt_median, commune, carrier FROM icmp WHERE agent = '${AGENT.id}'`).catch(() => [] as never[]);
      http = await db.query<HttpRow>(`SELECT ok, status, total_ms FROM http WHERE agent = '${AGENT.id}'`).catch(() => [] as never[]);
    }
    expect(icmp.length, `agent output:\n${agentLog}`).toBeGreaterThan(0);
    expect(icmp[0]).toMatchObject({ received: 3, loss: 0, commune: '21025', carrier: 'vnpt' });
    expect(icmp[0]!.rtt_median).toBeGreaterThan(0);
    expect(icmp[0]!.rtt_median).toBeLessThan(50); // loopback
    expect(http[0]).toMatchObject({ ok: true, status: 200 });
    expect(s.live.commune('21025').status).toBe('up');
    console.log(`real agent: first ICMP and HTTP points in InfluxDB ${Date.now() - t0} ms after the agent started`);
  });
});
