// GET /metrics on a live server: Prometheus's own linter accepts it, access follows metrics.allow and the token,
// and the counters move as results are stored and refused and an incident opens.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, icmpLost, icmpOk } from '../helpers/agent-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
const TOKEN = 'keo-prometheus-0123456789';

beforeAll(async () => {
  s = await startTestServer({ agents: [{ id: 'a1', commune: '21025', carrier: 'vnpt' }] });
  // the test config has no metrics section: the defaults (loopback allowed), plus a token for the refusal case
  s.config.metrics.token = TOKEN;
});
afterAll(async () => s?.stop());

async function scrape(headers: Record<string, string> = {}) {
  const r = await fetch(`${s.url}/metrics`, { headers });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return r.text();
}
/** the value of one sample, e.g. value(text, 'ioc_ingest_results_total{outcome="live"}') */
function value(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  if (!line) throw new Error(`no sample ${sample}`);
  return Number(line.slice(sample.length + 1));
}

describe('GET /metrics', () => {
  it('passes promtool check metrics', async () => {
    const text = await scrape();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error, 'promtool (Debian package prometheus) must be installed').toBeUndefined();
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
    for (const name of ['ioc_agents', 'ioc_ingest_results_total', 'ioc_store_write_duration_seconds', 'ioc_incidents_open', 'ioc_live_clients', 'ioc_report_jobs', 'ioc_notifications_total', 'ioc_rollup_runs_total', 'ioc_process_cpu_seconds_total']) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(text).not.toMatch(/commune="/); // no per-commune labels
  });

  it('moves as results are stored and refused and an incident opens', async () => {
    const before = await scrape();
    expect(value(before, 'ioc_agents{state="connected"}')).toBe(0);
    const agent = await connectAgent(s.url, 'a1', s.tokens.a1!);
    await agent.hello();
    const now = Date.now();
    expect((await agent.batch([icmpOk('gw', now), icmpOk('dc', now)])).type).toBe('ack');
    // a result a day in the future is refused (the agent's clock)
    await agent.batch([icmpOk('dc', now + 86_400_000)]);
    const mid = await scrape();
    expect(value(mid, 'ioc_agents{state="connected"}')).toBe(1);
    expect(value(mid, 'ioc_ingest_results_total{outcome="live"}') - value(before, 'ioc_ingest_results_total{outcome="live"}')).toBe(2);
    expect(value(mid, 'ioc_ingest_results_refused_total{reason="timestamp"}')).toBe(1);
    expect(value(mid, 'ioc_ingest_batches_total')).toBeGreaterThanOrEqual(1);
    expect(value(mid, 'ioc_ingest_received_bytes_total')).toBeGreaterThan(0);
    expect(value(mid, 'ioc_writer_points_total')).toBeGreaterThan(value(before, 'ioc_writer_points_total'));
    expect(value(mid, 'ioc_store_write_duration_seconds_count')).toBeGreaterThan(0);
    expect(value(mid, 'ioc_store_up{kind="duckdb"}')).toBe(1);
    // DuckDB's buffer pool holds the tables' blocks once written to
    expect(value(mid, 'ioc_store_memory_bytes{kind="duckdb"}')).toBeGreaterThan(0);

    // every ICMP target lost, round after round: the commune goes down and an incident opens
    for (let i = 1; i <= 5 && s.incidents.openIncidents().length === 0; i++) {
      await agent.batch([icmpLost('gw', Date.now()), icmpLost('dc', Date.now())]);
      await new Promise((r) => setTimeout(r, 1200));
    }
    const deadline = Date.now() + 15_000;
    while (s.incidents.openIncidents().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const open = s.incidents.openIncidents();
    expect(open.length).toBeGreaterThan(0);
    const after = await scrape();
    const cause = open[0]!.cause;
    expect(value(after, `ioc_incidents_open{cause="${cause}"}`)).toBeGreaterThanOrEqual(1);
    expect(value(after, `ioc_incidents_opened_total{cause="${cause}"}`)).toBeGreaterThanOrEqual(1);
    expect(value(after, 'ioc_communes{status="up"}') + value(after, 'ioc_communes{status="down"}') + value(after, 'ioc_communes{status="degraded"}')).toBeGreaterThan(0);
    agent.close();
    await agent.closed;
  }, 40_000);

  it('counts enrolment code exchanges that fail', async () => {
    const before = value(await scrape(), 'ioc_enrolments_total{outcome="failed"}');
    const r = await fetch(`${s.url}/api/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'QNG-AAAA-BBBB' }) });
    expect(r.status).toBe(404);
    expect(value(await scrape(), 'ioc_enrolments_total{outcome="failed"}')).toBe(before + 1);
  });

  it('refuses other addresses without the token, and takes the token from anywhere', async () => {
    s.config.metrics.allow = ['10.9.8.7'];
    const app = (await import('../../server/metrics.ts')).ServerMetrics;
    const routes = new app().routes(s.config.metrics);
    // Hono app answered directly: the connection info of a loopback client
    const env = { incoming: { socket: { remoteAddress: '127.0.0.1', remotePort: 1, remoteFamily: 'IPv4' } } };
    const refused = await routes.fetch(new Request('http://x/'), env);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/metrics\.allow/);
    expect((await routes.fetch(new Request('http://x/', { headers: { authorization: 'Bearer wrong' } }), env)).status).toBe(403);
    expect((await routes.fetch(new Request('http://x/', { headers: { authorization: `Bearer ${TOKEN}` } }), env)).status).toBe(200);
    s.config.metrics.allow = ['127.0.0.0/8'];
    expect((await new app().routes(s.config.metrics).fetch(new Request('http://x/'), env)).status).toBe(200);
  });
});
