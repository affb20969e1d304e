// `ioc-agent install`: enrol (when given a code), copy this program to its place, write the config file and register
// a service that starts at boot and restarts on failure. Run as root / Administrator. With --prefix DIR every file
// goes under DIR and no system command runs; the commands that would have run are printed.
import { execFileSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { layout, SERVICE_NAME, SERVICE_USER, type Layout } from '../service/layout.ts';
import { Commands, copyInto, isElevated, isRoot, selfImage } from '../service/system.ts';
import { systemdUnit } from '../service/systemd.ts';
import { scheduledTaskXml, schtasks, utf16le, winArg } from '../service/windows.ts';
import { type Lang, type Settings } from '../settings.ts';
import { chooseLang, clearTextCheck, CliError, displayUrl, EXIT, httpBase, out, parseFlags } from './common.ts';
import { enrolledSettings, printEnrolment, readSettingsOrFail, requestEnrolment, writeSettingsOrFail } from './enroll.ts';
import { USAGE } from './help.ts';

const T = {
  vi: {
    done: `Đã cài ioc-agent ${pkg.version}:`,
    program: 'Chương trình',
    command: 'lệnh',
    config: 'Cấu hình',
    data: 'Dữ liệu',
    service: 'Dịch vụ',
    serviceLinux: 'khởi động cùng máy, tự chạy lại khi lỗi',
    serviceWin: 'tác vụ "ioc-agent" chạy khi khởi động máy với quyền SYSTEM, tự chạy lại khi lỗi',
    reuse: (f: string) => `Dùng lại đăng ký đã có trong ${f}.`,
    dry: 'Với --prefix, không lệnh hệ thống nào được chạy. Các lệnh lẽ ra đã chạy:',
    check: 'Kiểm tra:',
    server: (url: string, id: string) => `Máy chủ: ${url}, mã trạm ${id}`,
  },
  en: {
    done: `Installed ioc-agent ${pkg.version}:`,
    program: 'Program',
    command: 'command',
    config: 'Config',
    data: 'Data',
    service: 'Service',
    serviceLinux: 'starts at boot, restarted on failure',
    serviceWin: 'task "ioc-agent" started at boot as SYSTEM, restarted on failure',
    reuse: (f: string) => `Using the enrolment already in ${f}.`,
    dry: 'With --prefix no system command was run. These would have run:',
    check: 'Check:',
    server: (url: string, id: string) => `Server: ${url}, agent id ${id}`,
  },
} satisfies Record<Lang, unknown>;

const FLAGS = {
  server: { type: 'string' },
  code: { type: 'string' },
  id: { type: 'string' },
  token: { type: 'string' },
  prefix: { type: 'string' },
  lang: { type: 'string' },
  insecure: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** a command line to show to a person */
export function shown(cmd: string[]): string {
  return cmd.map((w) => (/^[\w@%+=:,./\\-]+$/.test(w) ? w : process.platform === 'win32' ? winArg(w) : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function uidOf(user: string): { uid: number; gid: number } {
  return { uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()) };
}

function installLinux(L: Layout, selfPath: string, settings: Settings, lang: Lang, cmds: Commands): void {
  if (!cmds.dryRun && !cmds.test(['id', '-u', SERVICE_USER])) {
    cmds.run(['useradd', '--system', '--user-group', '--home-dir', '/var/lib/ioc-agent', '--no-create-home', '--shell', '/usr/sbin/nologin', SERVICE_USER]);
  } else if (cmds.dryRun) {
    cmds.skipped.push(['useradd', '--system', '--user-group', '--home-dir', '/var/lib/ioc-agent', '--no-create-home', '--shell', '/usr/sbin/nologin', SERVICE_USER]);
  }
  copyInto(selfPath, L.binary);
  mkdirSync(dirname(L.link!), { recursive: true });
  try {
    if (lstatSync(L.link!).isSymbolicLink() || statSync(L.link!).isFile()) rmSync(L.link!, { force: true });
  } catch {
    /* no link yet */
  }
  symlinkSync(L.binary, L.link!);
  writeSettingsOrFail(L.configFile, settings, lang);
  if (cmds.dryRun) mkdirSync(L.stateDir, { recursive: true });
  else {
    // The service user reads its token and may replace its own binary (self-update); nobody else can read the token.
    const { uid, gid } = uidOf(SERVICE_USER);
    chownSync(L.configFile, uid, gid);
    for (const f of [L.binDir, ...readdirSync(L.binDir).map((n) => join(L.binDir, n))]) chownSync(f, uid, gid);
  }
  mkdirSync(dirname(L.unitFile!), { recursive: true });
  writeFileSync(L.unitFile!, systemdUnit(L), { mode: 0o644 });
  cmds.run(['systemctl', 'daemon-reload']);
  cmds.run(['systemctl', 'enable', SERVICE_NAME]);
  // restart, not start: a reinstall must pick up the new binary and config
  cmds.run(['systemctl', 'restart', SERVICE_NAME]);
}

function installWindows(L: Layout, selfPath: string, settings: Settings, lang: Lang, cmds: Commands): void {
  // a running agent holds its exe open: stop the old task before replacing the program
  if (!cmds.dryRun) cmds.run(schtasks.end(), { allowFail: true });
  copyInto(selfPath, L.binary);
  writeSettingsOrFail(L.configFile, settings, lang);
  // ProgramData is readable by every local user by default: the token is for SYSTEM and Administrators only
  cmds.run(['icacls', L.configFile, '/inheritance:r', '/grant:r', '*S-1-5-18:F', '*S-1-5-32-544:F']);
  mkdirSync(L.stateDir, { recursive: true });
  writeFileSync(L.taskXml!, utf16le(scheduledTaskXml(L)));
  cmds.run(schtasks.create(L.taskXml!));
  cmds.run(schtasks.run());
}

export async function install(argv: string[]): Promise<number> {
  const f = parseFlags('install', argv, FLAGS);
  if (f.help) {
    out(`Usage: ${USAGE.install}\n\nEnrols with the one-time code (or uses --id and --token, or the enrolment already in the config file), copies this\nprogram to /opt/ioc-agent (Linux) or %ProgramFiles%\\ioc-agent (Windows), writes the config file and registers the\nservice: a hardened systemd unit, or a Task Scheduler task started at boot as SYSTEM. Run as root / Administrator.\n--prefix DIR puts every file under DIR and runs no system command.`);
    return EXIT.ok;
  }
  const self = selfImage();
  if (!self) throw new CliError('install: run the built agent (ioc-agent-linux-x64, ioc-agent-win-x64.exe or ioc-agent.mjs from npm run build:agent), not the sources');
  const prefix = f.prefix ? resolve(f.prefix) : undefined;
  let L: Layout;
  try {
    L = layout({ platform: process.platform, self, prefix });
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  const prev = readSettingsOrFail(L.configFile);
  const lang = chooseLang(f.lang, prev?.lang);
  if (!prefix) {
    if (L.platform === 'linux' && !isRoot()) throw new CliError('install: run as root (sudo ioc-agent install ...), or use --prefix DIR', EXIT.failed);
    if (L.platform === 'win32' && !isElevated()) throw new CliError('install: run from an Administrator command prompt, or use --prefix DIR', EXIT.failed);
  }

  // The credentials first: a wrong code must leave nothing behind.
  const server = f.server ?? process.env.IOC_SERVER;
  const token = f.token ?? process.env.IOC_AGENT_TOKEN;
  const insecure = f.insecure ?? prev?.insecure;
  let creds: Settings;
  if (f.code) {
    if (!server) throw new CliError(`install: --code needs --server\nUsage: ${USAGE.install}`);
    const answer = await requestEnrolment(server, f.code, lang, insecure);
    printEnrolment(answer, lang);
    creds = enrolledSettings(prev, server, answer);
  } else if (f.id || f.token) {
    if (!server || !f.id || !token) throw new CliError(`install: --id needs --server and --token (or IOC_AGENT_TOKEN)\nUsage: ${USAGE.install}`);
    creds = { ...prev, server: httpBase(server), id: f.id, token };
  } else if (prev?.server && prev.id && prev.token) {
    out(T[lang].reuse(L.configFile));
    creds = { ...prev, ...(server ? { server: httpBase(server) } : {}) };
  } else {
    throw new CliError(`install: --server and --code are required (or --server, --id and --token)\nUsage: ${USAGE.install}`);
  }
  // Refused now rather than by the service at every boot: the token would travel in clear.
  const warning = clearTextCheck(httpBase(creds.server!), insecure, lang);
  if (warning && !f.code) process.stderr.write(`${warning}\n`);
  if (insecure) creds = { ...creds, insecure };
  const settings: Settings = { ...creds, stateDir: L.stateDir, ...(L.logFile ? { logFile: L.logFile } : {}), ...(f.lang ? { lang } : {}) };

  const cmds = new Commands(Boolean(prefix));
  try {
    if (L.platform === 'linux') installLinux(L, self.path, settings, lang, cmds);
    else installWindows(L, self.path, settings, lang, cmds);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`install: ${e instanceof Error ? e.message : String(e)}`, EXIT.failed);
  }

  const t = T[lang];
  const rows: [string, string][] = [
    [t.program, L.link ? `${L.binary} (${t.command}: ${L.link})` : L.binary],
    [t.config, L.configFile],
    [t.data, L.stateDir],
    [t.service, L.platform === 'linux' ? `${L.unitFile} (${t.serviceLinux})` : t.serviceWin],
  ];
  const w = Math.max(...rows.map(([k]) => k.length)) + 2;
  out(t.done);
  for (const [k, v] of rows) out(`  ${`${k}:`.padEnd(w)}${v}`);
  out(`  ${t.server(displayUrl(settings.server!), settings.id!)}`);
  if (cmds.skipped.length > 0) {
    out(t.dry);
    for (const c of cmds.skipped) out(`  $ ${shown(c)}`);
  }
  out(`${t.check} ${shown([L.link ?? L.binary, 'status', ...(prefix ? ['--config', L.configFile] : [])])}`);
  return EXIT.ok;
}
