// The agent's token and enrolment code travel in its first request, so the real CLI refuses a ws:// or http://
// server that is not this machine before it sends anything, names the URL and the --insecure flag, and with the
// flag (or `insecure: true` in its config file) goes ahead with one warning. Loopback needs no flag.
// Traffic stays on this machine: 192.0.2.1 (TEST-NET-1) is refused before any connection is attempted, and the
// --insecure runs use 0.0.0.0, which is not loopback by the agent's rule but which Linux delivers to this host.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearTextUrl, isLoopbackHost } from '../../agent/link.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let dir = '';
const port = () => new URL(s.url).port;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-insecure-'));
  s = await startTestServer({ agents: [{ id: 'qn-ins', commune: '21025' }] });
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The agent CLI from source; stopped with SIGTERM once `until` matches its output (or after waitMs). A refusal
 * exits on its own well before that.
 */
function agent(args: string[], o: { until?: RegExp; waitMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run & { ms: number }> {
  const t0 = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, IOC_LANG: 'en', ...o.env };
  for (const k of ['IOC_AGENT_CONFIG', 'IOC_SERVER', 'IOC_AGENT_ID', 'IOC_AGENT_TOKEN', 'IOC_LOG_FILE']) delete env[k];
  const p = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts', ...args], {
    cwd: process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const check = () => o.until && o.until.test(stdout + stderr) && p.kill('SIGTERM');
  p.stdout.on('data', (d) => ((stdout += d), check()));
  p.stderr.on('data', (d) => ((stderr += d), check()));
  const timer = setTimeout(() => p.kill('SIGKILL'), o.waitMs ?? 30_000);
  return new Promise((resolve) =>
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
}

describe('what counts as this machine', () => {
  it('loopback addresses and localhost pass, everything else over ws:// or http:// is clear text', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', 'localhost', 'LOCALHOST.', '[::1]', '[::ffff:127.0.0.1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['192.0.2.1', '0.0.0.0', '10.0.0.1', 'ioc.example', 'localhost.example', '[::2]', '[::ffff:10.0.0.1]', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
    expect(clearTextUrl('ws://192.0.2.1:9/ws/agent')).toBe('ws://192.0.2.1:9');
    expect(clearTextUrl('http://ioc.example/')).toBe('http://ioc.example');
    expect(clearTextUrl('wss://192.0.2.1/ws/agent')).toBeUndefined();
    expect(clearTextUrl('https://ioc.example')).toBeUndefined();
    expect(clearTextUrl('ws://127.0.0.1:8080/ws/agent')).toBeUndefined();
  });
});

describe('ioc-agent run', () => {
  it('refuses ws:// to a non-loopback server before connecting, naming the URL and --insecure', async () => {
    const spool = join(dir, 'spool-refused');
    const r = await agent(['run', '--server', 'ws://192.0.2.1:9', '--id', 'qn-ins', '--token', 'secret-xyz', '--spool-dir', spool]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ws://192.0.2.1:9');
    expect(r.stderr).toContain('--insecure');
    expect(r.stderr).not.toContain('secret-xyz');
    // nothing was started: no logger line, no spool opened
    expect(r.stdout).not.toContain('agent starting');
    expect(existsSync(spool)).toBe(false);
  }, 60_000);

  it('refuses http:// too, and says it in Vietnamese by default', async () => {
    const r = await agent(['run', '--server', 'http://192.0.2.1:9', '--id', 'qn-ins', '--token', 't', '--spool-dir', 'none'], { env: { IOC_LANG: '' } });
    expect(r.code).toBe(2);
    // named as the agent endpoint it would have opened
    expect(r.stderr).toContain('ws://192.0.2.1:9');
    expect(r.stderr).toContain('--insecure');
    expect(r.stderr).toContain('không mã hoá');
  }, 60_000);

  it('connects to a loopback server over ws:// without the flag and without a warning', async () => {
    const r = await agent(['run', '--server', `ws://127.0.0.1:${port()}`, '--id', 'qn-ins', '--token', s.tokens['qn-ins']!, '--spool-dir', 'none'], {
      until: /plan received/,
    });
    expect(r.stdout).toContain('plan received');
    expect(r.stdout).not.toMatch(/insecure|in clear/);
  }, 60_000);

  it('with --insecure goes ahead and warns once', async () => {
    const r = await agent(['run', '--insecure', '--server', `ws://0.0.0.0:${port()}`, '--id', 'qn-ins', '--token', s.tokens['qn-ins']!, '--spool-dir', 'none'], {
      until: /plan received/,
    });
    expect(r.stdout).toContain('plan received');
    expect(r.stdout.match(/in clear/g)).toHaveLength(1);
    expect(r.stdout).toContain('ws://0.0.0.0');
  }, 60_000);

  it('`insecure: true` in the config file does the same as the flag', async () => {
    const file = join(dir, 'agent-insecure.json');
    writeFileSync(file, JSON.stringify({ server: `http://0.0.0.0:${port()}`, id: 'qn-ins', token: s.tokens['qn-ins'], spoolDir: 'none', insecure: true, lang: 'en' }));
    const r = await agent(['run', '--config', file], { until: /plan received/ });
    expect(r.stdout).toContain('plan received');
    expect(r.stdout.match(/in clear/g)).toHaveLength(1);
  }, 60_000);
});

describe('ioc-agent enroll', () => {
  it('enroll refuses http:// to a non-loopback server and writes no config file', async () => {
    const file = join(dir, 'enrolled.json');
    const r = await agent(['enroll', '--server', 'http://192.0.2.1:9', '--code', 'ABCD-EFGH', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('http://192.0.2.1:9');
    expect(r.stderr).toContain('--insecure');
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('enroll --insecure sends the code (the server answers: wrong code) after one warning', async () => {
    const file = join(dir, 'enrolled-2.json');
    const r = await agent(['enroll', '--insecure', '--server', `http://0.0.0.0:${port()}`, '--code', 'ABCD-EFGH', '--config', file]);
    expect(r.stderr.match(/in clear/g)).toHaveLength(1);
    expect(r.stderr).toContain('enrolment code is wrong');
    expect(r.code).toBe(1);
  }, 60_000);
});
