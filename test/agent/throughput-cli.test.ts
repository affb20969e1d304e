// The real agent process (agent/main.ts run) runs a due speed test through its own server: the CLI points the
// throughput probe at the server with the agent's token and keeps the byte budget in its state dir. Without that
// wiring a throughput target is never due and this test sees no row.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOK_FILE } from '../../agent/probes/throughput.ts';
import { parseBook } from '../../agent/throughput-schedule.ts';
import { ROOT, until } from './loss-harness.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let dir: string;
beforeAll(async () => {
  s = await startTestServer({
    agents: [{ id: 'ag-cli', commune: '21025', uplinks: [{ name: 'wan1', carrier: 'vnpt' }] }],
    // the whole day allowed, a small test: loopback reaches the byte cap long before the 2 s per direction
    targets: [{ id: 'speed', name: 'Tốc độ đường truyền', kind: 'throughput', hours: ['00:00-00:00'], maxMbPerTest: 2, durationSec: 2 }],
  });
  dir = mkdtempSync(join(tmpdir(), 'ioc-speed-cli-'));
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('speed tests from the agent process', () => {
  it('a due test runs through the server with the agent token, is stored, and is booked in the state dir', async () => {
    // the uplink's first test is due now (a fresh book would draw it hours away)
    writeFileSync(join(dir, BOOK_FILE), JSON.stringify({ v: 1, spent: [], next: { 'speed\u0000wan1': Date.now() - 1000 } }));
    const from = Date.now() - 5000;
    let log = '';
    const p = spawn(
      process.execPath,
      // intervals x 0.01: the 300 s check of the throughput target comes every 3 s
      ['--import', 'tsx', 'agent/main.ts', '--server', s.url, '--id', 'ag-cli', '--state-dir', dir, '--interval-scale', '0.01', '--log-level', 'info'],
      { cwd: ROOT, env: { ...process.env, IOC_AGENT_TOKEN: s.tokens['ag-cli']! }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    p.stdout.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-50_000)));
    p.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-50_000)));
    try {
      const rows = async () => s.store.queryRaw({ measurement: 'throughput', from, to: Date.now() + 60_000 });
      await until(async () => (await rows()).length > 0, 60_000, `a stored speed test (agent log: ${log.slice(-2000)})`, 500);
      const [row] = await rows();
      expect(row!.tags).toMatchObject({ agent: 'ag-cli', commune: '21025', carrier: 'vnpt', target: 'speed', uplink: 'wan1' });
      // Loopback moves a 2 MB test faster than the 1 s warm-up, so no rate is read here (the namespace test with tc
      // tbf reads rates); what this proves is the wiring: both directions moved their whole half through the server's
      // test routes, which refuse a missing or wrong agent token.
      expect(row!.fields, JSON.stringify(row!.fields)).toMatchObject({ bytes: 2_000_000 });
      expect(String(row!.fields.error ?? '')).not.toMatch(/^(http|refused|timeout|budget|busy)/);
      // settled in the book the agent keeps in its state dir, the next test hours away
      expect(existsSync(join(dir, BOOK_FILE))).toBe(true);
      const book = parseBook(readFileSync(join(dir, BOOK_FILE), 'utf8'));
      expect(book.spent).toHaveLength(1);
      expect(book.next['speed\u0000wan1']).toBeGreaterThan(Date.now() + 60_000);
    } finally {
      p.kill('SIGTERM');
      await new Promise((ok) => (p.exitCode !== null ? ok(null) : p.once('exit', ok)));
    }
  }, 90_000);
});
