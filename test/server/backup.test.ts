// Backup while agents write, restore into another data directory, same history served; an upgrade from a data
// directory made by 0.1.0 (the DuckDB tables as server/stores/duckdb.ts created them at commit b6a25d0, no version
// file) keeps every result, incident and rollup; a directory of a newer format is refused with a clear message.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { incidentOutSchema, seriesSchema } from '../../config/api.ts';
import { DATA_VERSION, VERSION_FILE } from '../../server/data-dir.ts';
import { roundClassifier } from '../../server/reports/data/rollups.ts';
import { runRollup } from '../../server/reports/data/rollups.ts';
import { connectAgent, icmpOk } from '../helpers/agent-client.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const HOUR = 3_600_000;
const PW = 'mat-khau-sao-luu-1';
const tmp = mkdtempSync(join(tmpdir(), 'ioc-backup-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** the CLI in its own process, as an operator runs it (asynchronously: the server under test shares this process) */
function ioc(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server/cli/index.ts'), ...args], { cwd: ROOT, timeout: 60_000 });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (out += String(d)));
    p.on('close', (code) => resolve({ code, out }));
  });
}
/** a YAML config for the CLI naming the same port and data directory as a test server */
function configFile(name: string, port: number, dataDir: string): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, stringify({ province: { code: '51' }, server: { host: '127.0.0.1', port, dataDir }, carriers: [{ id: 'vnpt', name: 'VNPT' }] }));
  return file;
}

async function history(s: TestServer, cookie: string, from: number, to: number) {
  const get = async (path: string) => (await fetch(`${s.url}${path}`, { headers: { cookie } })).json();
  const series = seriesSchema.parse(await get(`/api/series?commune=21025&target=dc&from=${from}&to=${to}&bucket=600000`));
  const incidents = incidentOutSchema.array().parse(await get(`/api/incidents?from=${from}&to=${Date.now()}`)).map(({ durationMs: _, ...i }) => i);
  const raw = await s.store.queryRaw({ measurement: 'icmp', from, to });
  const rollups = await s.store.queryRollups({ measurement: 'icmp', from, to, groupBy: ['target'] });
  return { series: series.points, incidents, raw, rollups, coverage: await s.store.rollupCoverage(from, to) };
}

describe('backup and restore', () => {
  it('a backup taken while an agent writes restores to a server that serves the same history', async () => {
    const users = [{ username: 'quantri', password: PW, role: 'admin' as const }];
    const a = await startTestServer({ agents: [{ id: 'a1', commune: '21025', carrier: 'vnpt' }], users, dataDir: join(tmp, 'a') });
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
    // three closed hours of history, rolled up, and an incident
    const agentTags = { province: '51', commune: '21025', carrier: 'vnpt', agent: 'a1', uplink: 'wan1' };
    const points = [];
    for (let t = t0; t < t0 + 3 * HOUR; t += 60_000) {
      for (const target of ['gw', 'dc']) points.push({ measurement: 'icmp' as const, ts: t, tags: { ...agentTags, target }, fields: { sent: 10, received: 10, loss: 0, rtt_min: 9, rtt_median: 10, rtt_avg: 10, rtt_max: 12, jitter: 1, backfilled: false } });
    }
    await a.store.write(points);
    await runRollup(a.store, roundClassifier(a.dir), { from: t0, to: t0 + 3 * HOUR, now: Date.now() });
    const inc = { id: `local_link:21025:${t0 + HOUR}`, cause: 'local_link' as const, subject: '21025', openedAt: t0 + HOUR, resolvedAt: t0 + HOUR + 600_000, communes: ['21025'], targets: ['dc', 'gw'], carrier: 'vnpt', severity: 'down' as const, evidence: { summary: 'Mất kết nối', figures: {} }, acknowledgedBy: null, acknowledgedAt: null, notes: [], maintenance: false };
    await a.store.writeIncident(inc as never);

    // the agent keeps sending while the backup is taken
    const agent = await connectAgent(a.url, 'a1', a.tokens.a1!);
    await agent.hello();
    let writing = true;
    let acked = 0;
    const loop = (async () => {
      while (writing) {
        const r = await agent.batch([icmpOk('dc', Date.now()), icmpOk('gw', Date.now())]);
        if (r.type === 'ack') acked++;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const cfgA = configFile('a', a.port, a.dataDir);
    const dest = join(tmp, 'backup-1');
    const b = await ioc('backup', dest, '--config', cfgA);
    expect(b.out).toMatch(/taken by the running server/);
    expect(b.code).toBe(0);
    writing = false;
    await loop;
    expect(acked).toBeGreaterThan(3);
    const manifest = JSON.parse(readFileSync(join(dest, 'manifest.json'), 'utf8')) as { files: string[]; store: { file: string } };
    expect(manifest.store.file).toBe('ioc.duckdb');
    expect(manifest.files).toContain(VERSION_FILE);
    expect(manifest.files).not.toContain('.control-token');
    expect(readdirSync(a.dataDir).filter((n) => n.startsWith('.backup-'))).toEqual([]); // staging moved away

    const cookieA = await login(a.url, 'quantri', PW);
    const before = await history(a, cookieA, t0, t0 + 3 * HOUR);
    expect(before.raw).toHaveLength(points.length);
    expect(before.coverage).toHaveLength(3);
    expect(before.incidents.map((i) => i.id)).toEqual([inc.id]);
    const liveAtEnd = (await a.store.queryRaw({ measurement: 'icmp', from: t0 + 3 * HOUR, to: Date.now() + 1000 })).length;
    agent.close();
    await a.stop();

    // restore into another data directory; the server there serves the same history
    const cfgB = configFile('b', 0, join(tmp, 'b'));
    const r = await ioc('restore', dest, '--config', cfgB);
    expect(r.out).toMatch(/restored/);
    expect(r.code).toBe(0);
    const restored = await startTestServer({ agents: [{ id: 'a1', commune: '21025', carrier: 'vnpt' }], users, dataDir: join(tmp, 'b') });
    const after = await history(restored, await login(restored.url, 'quantri', PW), t0, t0 + 3 * HOUR);
    expect(after).toEqual(before);
    // and the live results of the backup's moment: consistent, none beyond what was acked
    const liveRestored = (await restored.store.queryRaw({ measurement: 'icmp', from: t0 + 3 * HOUR, to: Date.now() + 1000 })).length;
    expect(liveRestored).toBeGreaterThan(0);
    expect(liveRestored).toBeLessThanOrEqual(liveAtEnd);
    await restored.stop();

    // restoring over a directory keeps what was there aside
    const again = await ioc('restore', dest, '--config', cfgB);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/\.before-restore-/);
  }, 120_000);

  it('refuses a restore while the server runs, and a backup into a non-empty directory', async () => {
    const s = await startTestServer({ dataDir: join(tmp, 'c') });
    const cfg = configFile('c', s.port, s.dataDir);
    const r = await ioc('restore', join(tmp, 'backup-1'), '--config', cfg);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/stop it first/); // its health check answers
    expect((await ioc('backup', tmp, '--config', cfg)).out).toMatch(/not empty/);
    await s.stop();
  }, 60_000);
});

// ---- upgrade ------------------------------------------------------------------------------------------------------

/** The tables as server/stores/duckdb.ts created them at b6a25d0 (0.1.0), with MEASUREMENTS and rollup.ts of then. */
const TAGS = ['province', 'commune', 'carrier', 'agent', 'target', 'uplink'];
const OLD_MEASUREMENTS: Record<string, Record<string, string>> = {
  icmp: { sent: 'BIGINT', received: 'BIGINT', loss: 'DOUBLE', rtt_min: 'DOUBLE', rtt_median: 'DOUBLE', rtt_avg: 'DOUBLE', rtt_max: 'DOUBLE', jitter: 'DOUBLE', error: 'VARCHAR', backfilled: 'BOOLEAN' },
  http: { ok: 'BOOLEAN', status: 'BIGINT', dns_ms: 'DOUBLE', connect_ms: 'DOUBLE', tls_ms: 'DOUBLE', ttfb_ms: 'DOUBLE', total_ms: 'DOUBLE', cert_days_left: 'DOUBLE', cert_issuer: 'VARCHAR', redirects: 'BIGINT', error: 'VARCHAR', backfilled: 'BOOLEAN' },
  dns: { ok: 'BOOLEAN', total_ms: 'DOUBLE', answers: 'BIGINT', rcode: 'VARCHAR', error: 'VARCHAR', backfilled: 'BOOLEAN' },
  tcp: { ok: 'BOOLEAN', connect_ms: 'DOUBLE', error: 'VARCHAR', backfilled: 'BOOLEAN' },
  agent: { pending: 'BIGINT', dropped: 'BIGINT', uptime_s: 'DOUBLE', clock_offset_ms: 'DOUBLE', rtt_ms: 'DOUBLE', spool_bytes: 'BIGINT' },
};
const FIGURES = ['rounds', 'failed', 'slow', 'loss_sum', 'loss_n', 'lat_sum', 'lat_n', 'lat_min', 'lat_max'];
const HIST = Array.from({ length: 48 }, (_, i) => `h${String(i).padStart(2, '0')}`);
const INT_FIG = new Set(['rounds', 'failed', 'slow', 'loss_n', 'lat_n', ...HIST]);

async function makeOldDataDir(dataDir: string, t0: number) {
  const db = await DuckDBInstance.create(join(dataDir, 'ioc.duckdb'));
  const c = await db.connect();
  for (const [m, fields] of Object.entries(OLD_MEASUREMENTS)) {
    const cols = ['ts BIGINT NOT NULL', ...TAGS.map((k) => `"${k}" VARCHAR NOT NULL`), ...Object.entries(fields).map(([f, t]) => `"${f}" ${t}`)];
    await c.run(`CREATE TABLE IF NOT EXISTS "${m}" (${cols.join(', ')}, PRIMARY KEY (agent, target, uplink, ts))`);
  }
  await c.run(
    `CREATE TABLE IF NOT EXISTS incidents (id VARCHAR PRIMARY KEY, cause VARCHAR NOT NULL, subject VARCHAR NOT NULL, ` +
      `opened_at BIGINT NOT NULL, resolved_at BIGINT, carrier VARCHAR, severity VARCHAR NOT NULL, maintenance BOOLEAN NOT NULL, ` +
      `acknowledged_by VARCHAR, acknowledged_at BIGINT, communes JSON NOT NULL, targets JSON NOT NULL, evidence JSON NOT NULL, ` +
      `notes JSON NOT NULL, extra JSON NOT NULL)`,
  );
  const figCols = [...FIGURES, ...HIST].map((f) => `"${f}" ${INT_FIG.has(f) ? 'INTEGER' : 'DOUBLE'}`);
  for (const m of ['icmp', 'http', 'dns', 'tcp']) {
    await c.run(`CREATE TABLE IF NOT EXISTS "${m}_1h" (hour BIGINT NOT NULL, ${TAGS.map((k) => `"${k}" VARCHAR NOT NULL`).join(', ')}, ${figCols.join(', ')})`);
  }
  await c.run(
    `CREATE TABLE IF NOT EXISTS link_1h (hour BIGINT NOT NULL, province VARCHAR NOT NULL, commune VARCHAR NOT NULL, carrier VARCHAR NOT NULL, ` +
      `hod INTEGER NOT NULL, down BOOLEAN NOT NULL, degraded BOOLEAN NOT NULL, ${figCols.join(', ')})`,
  );
  await c.run('CREATE TABLE IF NOT EXISTS rollup_hours (hour BIGINT PRIMARY KEY, rolled_at BIGINT NOT NULL, points BIGINT NOT NULL)');
  await c.run('CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)');

  // two hours of raw results (the first rolled up), one resolved incident as 0.1.0 stored it (evidence a sentence)
  const rows: string[] = [];
  for (let t = t0; t < t0 + 2 * HOUR; t += 60_000) rows.push(`(${t}, '51', '21025', 'vnpt', 'a1', 'dc', 'wan1', 10, 10, 0, 9, 10, 10, 12, 1, NULL, false)`);
  await c.run(`INSERT INTO icmp VALUES ${rows.join(', ')}`);
  const hist = HIST.map((h) => (h === 'h10' ? 60 : 0));
  await c.run(`INSERT INTO icmp_1h VALUES (${t0}, '51', '21025', 'vnpt', 'a1', 'dc', 'wan1', 60, 0, 0, 0, 60, 600, 60, 9, 12, ${hist.join(', ')})`);
  await c.run(`INSERT INTO link_1h VALUES (${t0}, '51', '21025', 'vnpt', ${Math.floor(((t0 + 7 * HOUR) % 86_400_000) / HOUR)}, false, false, 60, 0, 0, 0, 60, 600, 60, 9, 12, ${hist.join(', ')})`);
  await c.run(`INSERT INTO rollup_hours VALUES (${t0}, ${t0 + 2 * HOUR}, 60)`);
  const evidence = JSON.stringify({ summary: 'Xã mất kết nối: 2/2 dịch vụ không phản hồi', figures: { failing: 2, of: 2 } });
  await c.run(
    `INSERT INTO incidents VALUES ('local_link:21025:${t0 + 600_000}', 'local_link', '21025', ${t0 + 600_000}, ${t0 + 1_200_000}, 'vnpt', 'down', false, 'quantri', ${t0 + 700_000}, ` +
      `'["21025"]', '["dc"]', '${evidence}', '[{"at":${t0 + 800_000},"by":"quantri","text":"Đã gọi VNPT"}]', '{"activeCommunes":[],"mergedInto":null}')`,
  );
  c.closeSync();
  db.closeSync();
  writeFileSync(join(dataDir, 'maintenance.json'), '[]\n');
}

describe('upgrade', () => {
  it('a data directory made by 0.1.0 is migrated on start and keeps every result, incident and rollup', async () => {
    const dataDir = mkdtempSync(join(tmp, 'old-'));
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
    await makeOldDataDir(dataDir, t0);
    expect(existsSync(join(dataDir, VERSION_FILE))).toBe(false);

    const s = await startTestServer({ dataDir, users: [{ username: 'quantri', password: PW, role: 'admin' }], agents: [{ id: 'a1', commune: '21025', carrier: 'vnpt' }] });
    const v = JSON.parse(readFileSync(join(dataDir, VERSION_FILE), 'utf8')) as { version: number; migrated: Record<string, number> };
    expect(v.version).toBe(DATA_VERSION);
    expect(Object.keys(v.migrated)).toContain('1');

    expect(await s.store.queryRaw({ measurement: 'icmp', from: t0, to: t0 + 2 * HOUR })).toHaveLength(120);
    expect(await s.store.rollupCoverage(t0, t0 + 2 * HOUR)).toEqual([t0]);
    const [agg] = await s.store.queryRollups({ measurement: 'icmp', from: t0, to: t0 + HOUR, groupBy: ['target'] });
    expect(agg).toMatchObject({ rounds: 60, failed: 0 });
    const cookie = await login(s.url, 'quantri', PW);
    const incs = incidentOutSchema.array().parse(await (await fetch(`${s.url}/api/incidents?from=${t0}`, { headers: { cookie } })).json());
    expect(incs.map((i) => [i.id, i.acknowledgedBy, i.notes.map((n) => n.text)])).toEqual([[`local_link:21025:${t0 + 600_000}`, 'quantri', ['Đã gọi VNPT']]]);
    const series = seriesSchema.parse(await (await fetch(`${s.url}/api/series?commune=21025&target=dc&from=${t0}&to=${t0 + 2 * HOUR}&bucket=3600000`, { headers: { cookie } })).json());
    expect(series.points.map((p) => p.latencyMs)).toEqual([10, 10]);
    await s.close();
  }, 60_000);

  it('refuses, naming both versions, a data directory written by a newer server', async () => {
    const dataDir = mkdtempSync(join(tmp, 'new-'));
    writeFileSync(join(dataDir, VERSION_FILE), JSON.stringify({ version: DATA_VERSION + 1, writtenBy: '9.0.0' }));
    await expect(startTestServer({ dataDir })).rejects.toThrow(new RegExp(`format ${DATA_VERSION + 1}, written by version 9\\.0\\.0.*reads format ${DATA_VERSION} and older`));
  });
});
