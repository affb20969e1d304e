// `ioc-agent status`: what the status file written by `run` says, in Vietnamese (default) or English.
// Exit code: 0 running and connected, 1 not running (or never ran), 3 running but not connected to the server.
import { join } from 'node:path';
import { defaultConfigPath, defaultStateDir, loadSettingsIfPresent, SettingsError, type Lang, type Settings } from '../settings.ts';
import { liveness, readStatusFile, statusFilePath, type AgentStatus, type Liveness } from '../status-file.ts';
import { chooseLang, CliError, displayUrl, out, parseFlags } from './common.ts';
import { USAGE } from './help.ts';

export const STATUS_EXIT = { connected: 0, notRunning: 1, disconnected: 3 } as const;

const T = {
  vi: {
    title: 'Trạm đo ioc-agent',
    enrolled: 'Đăng ký',
    yes: (id: string, commune?: string) => `đã đăng ký, mã trạm ${id}${commune ? `, xã/phường ${commune}` : ''}`,
    no: 'chưa đăng ký (chạy: ioc-agent enroll --server URL --code MÃ)',
    server: 'Máy chủ',
    process: 'Tiến trình',
    running: (pid: number) => `đang chạy (PID ${pid})`,
    notRunning: 'không chạy',
    why: { stopped: 'đã dừng', gone: 'tiến trình không còn', stale: 'tệp trạng thái không được cập nhật', none: 'chưa có tệp trạng thái' },
    link: 'Kết nối',
    connected: 'đã kết nối tới máy chủ',
    disconnected: 'mất kết nối tới máy chủ',
    lastAck: 'Máy chủ nhận lần cuối',
    never: 'chưa lần nào',
    pending: 'Kết quả chờ gửi',
    dropped: 'Kết quả bị loại bỏ',
    results: (n: number) => `${n} kết quả`,
    version: 'Phiên bản',
    file: 'Tệp trạng thái',
    updated: 'cập nhật',
    ago: (s: string) => `${s} trước`,
    since: (ago: string) => `từ ${ago}`,
    units: { s: 'giây', m: 'phút', h: 'giờ', d: 'ngày' },
  },
  en: {
    title: 'ioc-agent',
    enrolled: 'Enrolled',
    yes: (id: string, commune?: string) => `yes, agent id ${id}${commune ? `, commune ${commune}` : ''}`,
    no: 'no (run: ioc-agent enroll --server URL --code CODE)',
    server: 'Server',
    process: 'Process',
    running: (pid: number) => `running (pid ${pid})`,
    notRunning: 'not running',
    why: { stopped: 'stopped', gone: 'the process is gone', stale: 'the status file is not being updated', none: 'no status file yet' },
    link: 'Connection',
    connected: 'connected to the server',
    disconnected: 'not connected to the server',
    lastAck: 'Last ack',
    never: 'never',
    pending: 'Results waiting',
    dropped: 'Results dropped',
    results: (n: number) => `${n} result${n === 1 ? '' : 's'}`,
    version: 'Version',
    file: 'Status file',
    updated: 'updated',
    ago: (s: string) => `${s} ago`,
    since: (ago: string) => `since ${ago}`,
    units: { s: 's', m: 'min', h: 'h', d: 'd' },
  },
} satisfies Record<Lang, unknown>;

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** local time without Intl (a single executable may carry a small ICU) */
export function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function ago(ms: number, lang: Lang): string {
  const u = T[lang].units;
  const s = Math.max(0, Math.round(ms / 1000));
  const text = s < 120 ? `${s} ${u.s}` : s < 7200 ? `${Math.round(s / 60)} ${u.m}` : s < 172_800 ? `${Math.round(s / 3600)} ${u.h}` : `${Math.round(s / 86_400)} ${u.d}`;
  return T[lang].ago(text);
}

export interface StatusReport {
  enrolled: boolean;
  id?: string | undefined;
  running: boolean;
  liveness: Liveness | 'none';
  connected: boolean;
  file?: string | undefined;
  status?: AgentStatus | undefined;
  exitCode: number;
}

/** The verdict from the config (may be absent) and the status file (may be absent). */
export function evaluate(settings: Settings | undefined, file: string | undefined, st: AgentStatus | undefined, now = Date.now()): StatusReport {
  const live = st ? liveness(st, now) : 'none';
  const running = live === 'running';
  const connected = running && st!.connected;
  return {
    enrolled: Boolean((settings?.id && settings.token) || st?.id),
    id: settings?.id ?? st?.id,
    running,
    liveness: live,
    connected,
    file,
    status: st,
    exitCode: !running ? STATUS_EXIT.notRunning : connected ? STATUS_EXIT.connected : STATUS_EXIT.disconnected,
  };
}

export function render(r: StatusReport, settings: Settings | undefined, lang: Lang, now = Date.now()): string {
  const t = T[lang];
  const st = r.status;
  const rows: [string, string][] = [];
  rows.push([t.enrolled, r.enrolled && r.id ? t.yes(r.id, settings?.commune ?? st?.commune) : t.no]);
  const server = settings?.server ?? st?.server;
  if (server) rows.push([t.server, displayUrl(server)]);
  rows.push([t.process, r.running ? t.running(st!.pid) : `${t.notRunning} (${t.why[r.liveness as Exclude<Liveness, 'running'> | 'none']})`]);
  if (r.running && st) {
    const since = st.connectedSince !== null ? ` (${t.since(ago(now - st.connectedSince, lang))})` : '';
    rows.push([t.link, `${st.connected ? t.connected : t.disconnected}${since}`]);
  }
  if (st) {
    rows.push([t.lastAck, st.lastAckAt === null ? t.never : `${localTime(st.lastAckAt)} (${ago(now - st.lastAckAt, lang)})`]);
    rows.push([t.pending, t.results(st.pending)]);
    rows.push([t.dropped, t.results(st.dropped)]);
    rows.push([t.version, st.version]);
  }
  if (r.file) rows.push([t.file, st ? `${r.file} (${t.updated} ${ago(now - st.updatedAt, lang)})` : r.file]);
  const w = Math.max(...rows.map(([k]) => k.length)) + 2;
  return [t.title, ...rows.map(([k, v]) => `  ${`${k}:`.padEnd(w)}${v}`)].join('\n');
}

const FLAGS = {
  config: { type: 'string' },
  'status-file': { type: 'string' },
  lang: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function status(argv: string[]): Promise<number> {
  const f = parseFlags('status', argv, FLAGS);
  if (f.help) {
    out(`Usage: ${USAGE.status}\n\nReads the config file (default ${defaultConfigPath()}) and the status file the running agent rewrites every\nfew seconds. Exit code 0 running and connected, 1 not running, 3 running but not connected.`);
    return 0;
  }
  const explicit = f.config ?? process.env.IOC_AGENT_CONFIG;
  const configFile = explicit ?? (f['status-file'] ? undefined : defaultConfigPath());
  let settings: Settings | undefined;
  try {
    settings = configFile ? loadSettingsIfPresent(configFile) : undefined;
  } catch (e) {
    // The installed config is readable by the service user only; its status file is readable by everyone.
    const denied = e instanceof SettingsError && e.detail.startsWith('permission denied');
    if (!(e instanceof SettingsError) || explicit || !denied) throw e instanceof SettingsError ? new CliError(`config file ${e.message}`) : e;
  }
  if (explicit && !settings) throw new CliError(`config file ${explicit}: no such file`);
  const lang = chooseLang(f.lang, settings?.lang);
  const file = statusFilePath({
    statusFile: f['status-file'] ?? process.env.IOC_STATUS_FILE,
    stateDir: settings?.stateDir,
    spoolDir: settings?.spoolDir,
  }) ?? (settings?.id ? join('spool', `${settings.id.replace(/[^\w.-]/g, '_')}.status.json`) : explicit ? undefined : join(defaultStateDir(), 'status.json'));
  const st = file ? readStatusFile(file) : undefined;
  if (st instanceof Error) throw new CliError(st.message, STATUS_EXIT.notRunning);
  const now = Date.now();
  const report = evaluate(settings, file, st, now);
  if (f.json) out(JSON.stringify({ enrolled: report.enrolled, id: report.id, running: report.running, liveness: report.liveness, connected: report.connected, file: report.file, status: report.status }));
  else out(render(report, settings, lang, now));
  return report.exitCode;
}
