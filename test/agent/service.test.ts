// The service definitions as tables: the systemd unit (checked by systemd-analyze verify where it exists) and the
// Windows Task Scheduler task, for both kinds of installed program, on the standard paths and under a prefix.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { layout, type SelfImage } from '../../agent/service/layout.ts';
import { execWord, systemdUnit } from '../../agent/service/systemd.ts';
import { scheduledTaskXml, schtasks, utf16le, winArg } from '../../agent/service/windows.ts';

const SEA: SelfImage = { kind: 'sea', path: '/somewhere/ioc-agent-linux-x64' };
const MJS: SelfImage = { kind: 'mjs', path: '/somewhere/ioc-agent.mjs', node: '/usr/bin/node' };
const WIN_ENV = { ProgramFiles: 'C:\\Program Files', ProgramData: 'C:\\ProgramData' };

describe('layout', () => {
  it.each([
    ['linux', SEA, undefined, { binary: '/opt/ioc-agent/ioc-agent', link: '/usr/local/bin/ioc-agent', configFile: '/etc/ioc-agent/agent.json', stateDir: '/var/lib/ioc-agent', statusFile: '/var/lib/ioc-agent/status.json', unitFile: '/etc/systemd/system/ioc-agent.service', command: ['/opt/ioc-agent/ioc-agent', 'run', '--config', '/etc/ioc-agent/agent.json'] }],
    ['linux', MJS, undefined, { binary: '/opt/ioc-agent/ioc-agent.mjs', command: ['/usr/bin/node', '/opt/ioc-agent/ioc-agent.mjs', 'run', '--config', '/etc/ioc-agent/agent.json'] }],
    ['linux', SEA, '/tmp/root', { binDir: '/tmp/root/opt/ioc-agent', configFile: '/tmp/root/etc/ioc-agent/agent.json', stateDir: '/tmp/root/var/lib/ioc-agent', link: '/tmp/root/usr/local/bin/ioc-agent' }],
    ['win32', SEA, undefined, { binary: 'C:\\Program Files\\ioc-agent\\ioc-agent.exe', configFile: 'C:\\ProgramData\\ioc-agent\\agent.json', stateDir: 'C:\\ProgramData\\ioc-agent', spoolDir: 'C:\\ProgramData\\ioc-agent\\spool', taskXml: 'C:\\ProgramData\\ioc-agent\\ioc-agent-task.xml' }],
    ['win32', SEA, 'D:\\test', { binary: 'D:\\test\\Program Files\\ioc-agent\\ioc-agent.exe', configFile: 'D:\\test\\ProgramData\\ioc-agent\\agent.json' }],
  ] as const)('%s %o prefix %s', (platform, self, prefix, expected) => {
    expect(layout({ platform, self, prefix, env: WIN_ENV })).toMatchObject(expected);
  });

  it('Windows has no PATH link and no unit file', () => {
    const L = layout({ platform: 'win32', self: SEA, env: WIN_ENV });
    expect(L.link).toBeUndefined();
    expect(L.unitFile).toBeUndefined();
  });

  it('refuses a platform without a service manager it knows', () => {
    expect(() => layout({ platform: 'darwin', self: SEA })).toThrow(/darwin is not supported/);
  });
});

describe('systemd unit', () => {
  const unit = systemdUnit(layout({ platform: 'linux', self: SEA }));
  const directives = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
  }

  it.each([
    ['User', 'ioc-agent'],
    ['ExecStart', '/opt/ioc-agent/ioc-agent run --config /etc/ioc-agent/agent.json'],
    ['Restart', 'always'],
    ['StateDirectory', 'ioc-agent'],
    ['AmbientCapabilities', 'CAP_NET_RAW'],
    ['CapabilityBoundingSet', 'CAP_NET_RAW'],
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['ProtectKernelTunables', 'yes'],
    ['ProtectKernelModules', 'yes'],
    ['ProtectKernelLogs', 'yes'],
    ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX AF_NETLINK'],
    ['ReadWritePaths', '/opt/ioc-agent'],
    ['WantedBy', 'multi-user.target'],
  ])('%s=%s', (key, value) => {
    expect(directives.get(key)).toEqual([value]);
  });

  it('leaves out MemoryDenyWriteExecute (V8 JIT)', () => {
    expect(directives.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it.each([
    ['/opt/ioc-agent/ioc-agent', '/opt/ioc-agent/ioc-agent'],
    ['/opt/my agent/x', '"/opt/my agent/x"'],
    ['100%', '100%%'],
    ['$HOME', '$$HOME'],
  ])('ExecStart word %s -> %s', (word, quoted) => {
    expect(execWord(word)).toBe(quoted);
  });

  const analyze = '/usr/bin/systemd-analyze';
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  it.skipIf(!existsSync(analyze)).each([['single executable', SEA], ['bundled .mjs', MJS]] as const)('systemd-analyze verify accepts it (%s)', (_, self) => {
    // verify checks that ExecStart's program exists: point the unit at a prefix copy
    const P = mkdtempSync(join(tmpdir(), 'ioc-unit-'));
    dirs.push(P);
    const L = layout({ platform: 'linux', self: self.kind === 'mjs' ? { ...self, node: process.execPath } : self, prefix: P });
    mkdirSync(L.binDir, { recursive: true });
    writeFileSync(L.binary, '#!/bin/sh\n', { mode: 0o755 });
    const file = join(P, 'ioc-agent.service');
    writeFileSync(file, systemdUnit(L));
    expect(execFileSync(analyze, ['verify', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
  });
});

describe('Windows scheduled task', () => {
  const L = layout({ platform: 'win32', self: { kind: 'sea', path: 'x.exe' }, env: WIN_ENV });
  const xml = scheduledTaskXml(L);
  const tag = (name: string) => [...xml.matchAll(new RegExp(`<${name}(?: [^>]*)?>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);

  it.each([
    ['UserId', 'S-1-5-18'],
    ['RunLevel', 'HighestAvailable'],
    ['MultipleInstancesPolicy', 'IgnoreNew'],
    ['ExecutionTimeLimit', 'PT0S'],
    ['Interval', 'PT1M'],
    ['Count', '999'],
    ['DisallowStartIfOnBatteries', 'false'],
    ['StopIfGoingOnBatteries', 'false'],
    ['Command', 'C:\\Program Files\\ioc-agent\\ioc-agent.exe'],
    ['Arguments', 'run --config C:\\ProgramData\\ioc-agent\\agent.json'],
    ['WorkingDirectory', 'C:\\Program Files\\ioc-agent'],
  ])('<%s>%s', (name, value) => {
    expect(tag(name)).toEqual([value]);
  });

  it('starts at boot and restarts on failure', () => {
    expect(xml).toMatch(/<Triggers>\s*<BootTrigger>\s*<Enabled>true<\/Enabled>\s*<\/BootTrigger>\s*<\/Triggers>/);
    expect(xml).toMatch(/<RestartOnFailure>\s*<Interval>PT1M<\/Interval>\s*<Count>999<\/Count>\s*<\/RestartOnFailure>/);
  });

  it('quotes arguments with spaces or quotes, and escapes XML', () => {
    const odd = scheduledTaskXml({ binDir: 'C:\\A & B', command: ['C:\\A & B\\node.exe', 'C:\\A & B\\ioc-agent.mjs', 'run', '--config', 'C:\\Data "x"\\agent.json'] });
    expect(odd).toContain('<Command>C:\\A &amp; B\\node.exe</Command>');
    expect(odd).toContain('<Arguments>&quot;C:\\A &amp; B\\ioc-agent.mjs&quot; run --config &quot;C:\\Data \\&quot;x\\&quot;\\agent.json&quot;</Arguments>');
  });

  it.each([
    ['plain', 'plain'],
    ['with space', '"with space"'],
    ['C:\\dir with space\\', '"C:\\dir with space\\\\"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['', '""'],
  ])('winArg(%j) = %j', (arg, quoted) => {
    expect(winArg(arg)).toBe(quoted);
  });

  it('is written as UTF-16 LE with a byte order mark and CRLF lines', () => {
    const b = utf16le('<a>\n</a>');
    expect([...b.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(b.subarray(2).toString('utf16le')).toBe('<a>\r\n</a>');
  });

  it('is registered, started and removed with schtasks', () => {
    expect(schtasks.create('C:\\t.xml')).toEqual(['schtasks', '/Create', '/TN', 'ioc-agent', '/XML', 'C:\\t.xml', '/F']);
    expect(schtasks.delete()).toEqual(['schtasks', '/Delete', '/TN', 'ioc-agent', '/F']);
  });
});
