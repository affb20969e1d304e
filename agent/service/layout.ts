// Where an installed agent's files go on each platform, optionally all under a --prefix (tests, packaging).
//   Linux:   /opt/ioc-agent/<binary>, /usr/local/bin/ioc-agent -> it, /etc/ioc-agent/agent.json,
//            /var/lib/ioc-agent/{spool,status.json} (systemd's StateDirectory), /etc/systemd/system/ioc-agent.service
//   Windows: %ProgramFiles%\ioc-agent\ioc-agent.exe, %ProgramData%\ioc-agent\{agent.json,spool,status.json}
import { posix, win32 } from 'node:path';

export const SERVICE_NAME = 'ioc-agent';
export const SERVICE_USER = 'ioc-agent';

/** What this process is: a single executable (copy process.execPath) or the bundled .mjs run by node. */
export type SelfImage = { kind: 'sea'; path: string } | { kind: 'mjs'; path: string; node: string };

export interface Layout {
  platform: 'linux' | 'win32';
  prefix: string | undefined;
  /** the install folder; writable by the service so a self-update can replace the binary */
  binDir: string;
  /** the installed program */
  binary: string;
  /** what the service starts: [program, ...args] */
  command: string[];
  /** Linux: the symlink on PATH */
  link?: string;
  configFile: string;
  stateDir: string;
  spoolDir: string;
  statusFile: string;
  /** Linux: the systemd unit */
  unitFile?: string;
  /** Windows: the Task Scheduler definition handed to schtasks */
  taskXml?: string;
  /** Windows: a task has no console, so the agent logs to a file (systemd's journal keeps stdout on Linux) */
  logFile?: string;
}

function under(prefix: string | undefined, p: string, path: typeof posix | typeof win32): string {
  if (!prefix) return p;
  // C:\ProgramData\x under D:\root -> D:\root\ProgramData\x
  const rest = path === win32 ? p.replace(/^[a-zA-Z]:/, '') : p;
  return path.join(prefix, rest);
}

export function layout(o: { platform: NodeJS.Platform; self: SelfImage; prefix?: string | undefined; env?: NodeJS.ProcessEnv }): Layout {
  const env = o.env ?? process.env;
  /** what the service runs: the executable, or Node with the bundle */
  const command = (binary: string, configFile: string) => [...(o.self.kind === 'mjs' ? [o.self.node] : []), binary, 'run', '--config', configFile];
  if (o.platform === 'win32') {
    const p = win32;
    const binDir = under(o.prefix, p.join(env.ProgramFiles ?? 'C:\\Program Files', SERVICE_NAME), p);
    const dataDir = under(o.prefix, p.join(env.ProgramData ?? 'C:\\ProgramData', SERVICE_NAME), p);
    const binary = p.join(binDir, o.self.kind === 'sea' ? 'ioc-agent.exe' : 'ioc-agent.mjs');
    const configFile = p.join(dataDir, 'agent.json');
    return {
      platform: 'win32',
      prefix: o.prefix,
      binDir,
      binary,
      command: command(binary, configFile),
      configFile,
      stateDir: dataDir,
      spoolDir: p.join(dataDir, 'spool'),
      statusFile: p.join(dataDir, 'status.json'),
      taskXml: p.join(dataDir, 'ioc-agent-task.xml'),
      logFile: p.join(dataDir, 'agent.log'),
    };
  }
  if (o.platform !== 'linux') throw new Error(`install: ${o.platform} is not supported (Linux with systemd, or Windows)`);
  const p = posix;
  const binDir = under(o.prefix, '/opt/ioc-agent', p);
  const binary = p.join(binDir, o.self.kind === 'sea' ? 'ioc-agent' : 'ioc-agent.mjs');
  const stateDir = under(o.prefix, '/var/lib/ioc-agent', p);
  const configFile = under(o.prefix, '/etc/ioc-agent/agent.json', p);
  return {
    platform: 'linux',
    prefix: o.prefix,
    binDir,
    binary,
    command: command(binary, configFile),
    link: under(o.prefix, '/usr/local/bin/ioc-agent', p),
    configFile,
    stateDir,
    spoolDir: p.join(stateDir, 'spool'),
    statusFile: p.join(stateDir, 'status.json'),
    unitFile: under(o.prefix, `/etc/systemd/system/${SERVICE_NAME}.service`, p),
  };
}
