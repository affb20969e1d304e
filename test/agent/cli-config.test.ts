// The agent's config file and status file, and what `status` makes of them.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpBase } from '../../agent/cli/common.ts';
import { enrolledSettings } from '../../agent/cli/enroll.ts';
import { evaluate, render } from '../../agent/cli/status.ts';
import { loadSettings, saveSettings, SettingsError } from '../../agent/settings.ts';
import { liveness, readStatusFile, statusFilePath, StatusWriter, type AgentStatus } from '../../agent/status-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'ioc-cli-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config file', () => {
  it('round trips, owner-only, with relative paths taken from its folder', () => {
    const f = join(dir, 'sub', 'agent.json');
    saveSettings(f, { server: 'https://ioc.example', id: 'qn-1', token: 's3cret', spoolDir: 'spool', spoolMaxMb: 50, lang: 'en' });
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(loadSettings(f)).toEqual({ server: 'https://ioc.example', id: 'qn-1', token: 's3cret', spoolDir: join(dir, 'sub', 'spool'), spoolMaxMb: 50, lang: 'en' });
  });

  it.each([
    ['{"server": "https://x", "concurrency": 0}', 'concurrency: '],
    ['{"logLevel": "loud"}', 'logLevel: '],
    ['{"server": "gopher://x"}', 'server: expected an http(s):// or ws(s):// URL'],
    ['{"site": {"name": 1}}', 'site.name: '],
    ['{"tokn": "x"}', 'tokn: unknown field'],
    ['{"server": ', 'not valid JSON'],
    ['[]', '(root): '],
  ])('%s -> names the file and "%s"', (text, detail) => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, text);
    try {
      loadSettings(f);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SettingsError);
      expect((e as Error).message.startsWith(`${f}: `)).toBe(true);
      expect((e as Error).message).toContain(detail);
    }
  });

  it('a missing file says so', () => {
    expect(() => loadSettings(join(dir, 'nope.json'))).toThrow(/nope\.json: no such file/);
  });

  it('enrolment replaces the credentials and keeps the other settings', () => {
    const prev = { server: 'https://old', id: 'old', token: 'old', commune: '00001', site: { name: 'x', kind: 'y' }, spoolMaxMb: 20, lang: 'en' as const };
    expect(enrolledSettings(prev, 'wss://ioc.example/ws/agent', { id: 'qn-2', token: 't2', commune: '21025' })).toEqual({
      server: 'https://ioc.example', id: 'qn-2', token: 't2', commune: '21025', spoolMaxMb: 20, lang: 'en',
    });
  });

  it.each([
    ['https://ioc.example/', 'https://ioc.example'],
    ['ioc.example', 'https://ioc.example'],
    ['ws://127.0.0.1:8080/ws/agent', 'http://127.0.0.1:8080'],
    ['https://ioc.example/monitor/', 'https://ioc.example/monitor'],
  ])('server %s -> %s', (raw, base) => {
    expect(httpBase(raw)).toBe(base);
  });
});

const base: AgentStatus = {
  v: 1, id: 'qn-1', version: '0.1.0', pid: process.pid, server: 'https://ioc.example', startedAt: 1_000, updatedAt: 100_000,
  intervalMs: 5_000, connected: true, connectedSince: 2_000, lastAckAt: 99_000, planRev: 'r1', pending: 12, dropped: 3,
};

describe('status file', () => {
  it('is found in the state folder, else beside the spool', () => {
    expect(statusFilePath({ stateDir: '/var/lib/ioc-agent', spoolDir: '/elsewhere' })).toBe('/var/lib/ioc-agent/status.json');
    expect(statusFilePath({ spoolDir: '/srv/spool/qn-1' })).toBe('/srv/spool/qn-1.status.json');
    expect(statusFilePath({ spoolDir: 'none' })).toBeUndefined();
    expect(statusFilePath({ statusFile: '/x.json', stateDir: '/y' })).toBe('/x.json');
  });

  it.each([
    ['fresh, pid alive', base, 100_500, true, 'running'],
    ['written at a clean exit', { ...base, stoppedAt: 100_000 }, 100_500, true, 'stopped'],
    ['pid gone', base, 100_500, false, 'gone'],
    ['not rewritten for a minute', base, 160_000, true, 'stale'],
  ] as const)('%s -> %s', (_, s, now, alive, expected) => {
    expect(liveness(s, now, () => alive)).toBe(expected);
  });

  it('StatusWriter writes 0644 with no token, and a final stopped record', () => {
    const f = join(dir, 'state', 'status.json');
    const { v: _v, updatedAt: _u, intervalMs: _i, ...snap } = base;
    const w = new StatusWriter(f, () => snap);
    w.write();
    expect(statSync(f).mode & 0o777).toBe(0o644);
    expect(readStatusFile(f)).toMatchObject({ id: 'qn-1', pending: 12, connected: true });
    w.stop();
    const last = readStatusFile(f) as AgentStatus;
    expect(last.stoppedAt).toBeGreaterThan(0);
    expect(last.connected).toBe(false);
    expect(readFileSync(f, 'utf8')).not.toMatch(/token/);
  });

  it('an unreadable file is an error, a missing one is undefined', () => {
    const f = join(dir, 'garbage.json');
    writeFileSync(f, 'nope');
    expect(readStatusFile(f)).toBeInstanceOf(Error);
    expect(readStatusFile(join(dir, 'none.json'))).toBeUndefined();
  });
});

describe('status report', () => {
  const settings = { server: 'https://ioc.example', id: 'qn-1', token: 't', commune: '21025' };
  const now = base.updatedAt + 1_000;

  it.each([
    ['running and connected', base, 0, true],
    ['running, link down', { ...base, connected: false }, 3, false],
    ['stopped', { ...base, stoppedAt: base.updatedAt }, 1, false],
  ] as const)('%s: exit %i', (_, st, code, connected) => {
    const r = evaluate(settings, '/s.json', st, now);
    expect(r.exitCode).toBe(code);
    expect(r.connected).toBe(connected);
  });

  it('no status file and no enrolment: not enrolled, not running', () => {
    const r = evaluate(undefined, undefined, undefined, now);
    expect(r).toMatchObject({ enrolled: false, running: false, exitCode: 1 });
    expect(render(r, undefined, 'vi', now)).toContain('chưa đăng ký');
  });

  it('in Vietnamese', () => {
    const text = render(evaluate(settings, '/s.json', base, now), settings, 'vi', now);
    expect(text).toContain('đã đăng ký, mã trạm qn-1, xã/phường 21025');
    expect(text).toContain(`đang chạy (PID ${process.pid})`);
    expect(text).toContain('đã kết nối tới máy chủ (từ 99 giây trước)');
    expect(text).toMatch(/Máy chủ nhận lần cuối: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(2 giây trước\)/);
    expect(text).toMatch(/Kết quả chờ gửi: +12 kết quả/);
    expect(text).toMatch(/Kết quả bị loại bỏ: +3 kết quả/);
  });

  it('in English', () => {
    const text = render(evaluate(settings, '/s.json', { ...base, connected: false, lastAckAt: null }, now), settings, 'en', now);
    expect(text).toContain('not connected to the server');
    expect(text).toMatch(/Last ack: +never/);
    expect(text).toMatch(/Results waiting: +12 results/);
  });

  it('not running says why', () => {
    const gone = { ...base, pid: 2 ** 22 + 7 };
    expect(render(evaluate(settings, '/s.json', gone, now), settings, 'vi', now)).toContain('không chạy (tiến trình không còn)');
    expect(render(evaluate(settings, '/s.json', base, now + 60_000), settings, 'en', now + 60_000)).toContain('not running (the status file is not being updated)');
  });
});
