// `ioc-agent uninstall [--purge]`: stop and remove the service and the program. The config file (with the agent's
// enrolment) and the spool (results the server may not have yet) are kept, so a reinstall carries on where it
// stopped; --purge deletes them too, and on Linux the service user.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { layout, SERVICE_NAME, SERVICE_USER, type Layout } from '../service/layout.ts';
import { Commands, isElevated, isRoot, selfImage } from '../service/system.ts';
import { schtasks } from '../service/windows.ts';
import type { Lang } from '../settings.ts';
import { chooseLang, CliError, EXIT, out, parseFlags } from './common.ts';
import { readSettingsOrFail } from './enroll.ts';
import { shown } from './install.ts';
import { USAGE } from './help.ts';

const T = {
  vi: {
    removed: 'Đã gỡ:',
    kept: 'Giữ lại (xoá bằng --purge):',
    keptWhy: 'cấu hình (đăng ký của trạm) và spool (kết quả máy chủ có thể chưa nhận)',
    nothing: 'Không thấy ioc-agent đã cài ở đây.',
    later: 'sẽ xoá sau khi chương trình này thoát',
    dry: 'Với --prefix, không lệnh hệ thống nào được chạy. Các lệnh lẽ ra đã chạy:',
  },
  en: {
    removed: 'Removed:',
    kept: 'Kept (delete with --purge):',
    keptWhy: 'the config (this agent\'s enrolment) and the spool (results the server may not have yet)',
    nothing: 'No installed ioc-agent found here.',
    later: 'deleted once this program exits',
    dry: 'With --prefix no system command was run. These would have run:',
  },
} satisfies Record<Lang, unknown>;

const FLAGS = {
  purge: { type: 'boolean' },
  prefix: { type: 'string' },
  lang: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function gone(p: string | undefined, removed: string[], o: { recursive?: boolean } = {}): void {
  if (!p) return;
  try {
    lstatSync(p);
  } catch {
    return;
  }
  rmSync(p, { force: true, recursive: o.recursive ?? false });
  removed.push(p);
}

function rmdirIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    /* not there or not empty */
  }
}

export async function uninstall(argv: string[]): Promise<number> {
  const f = parseFlags('uninstall', argv, FLAGS);
  if (f.help) {
    out(`Usage: ${USAGE.uninstall}\n\nStops and removes the service and the installed program. The config file and the spool are kept (a reinstall\ncarries on with the same enrolment and delivers what is left) unless --purge.`);
    return EXIT.ok;
  }
  const prefix = f.prefix ? resolve(f.prefix) : undefined;
  // The layout's binary name depends on what was installed; the whole install folder goes either way.
  let L: Layout;
  try {
    L = layout({ platform: process.platform, self: selfImage() ?? { kind: 'sea', path: process.execPath }, prefix });
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  const lang = chooseLang(f.lang, readSettingsOrFail(L.configFile)?.lang);
  const t = T[lang];
  if (!prefix) {
    if (L.platform === 'linux' && !isRoot()) throw new CliError('uninstall: run as root (sudo ioc-agent uninstall), or use --prefix DIR', EXIT.failed);
    if (L.platform === 'win32' && !isElevated()) throw new CliError('uninstall: run from an Administrator command prompt, or use --prefix DIR', EXIT.failed);
  }
  const cmds = new Commands(Boolean(prefix));
  const removed: string[] = [];
  const later: string[] = [];
  try {
    if (L.platform === 'linux') {
      cmds.run(['systemctl', 'disable', '--now', SERVICE_NAME], { allowFail: true });
      gone(L.unitFile, removed);
      cmds.run(['systemctl', 'daemon-reload']);
      gone(L.link, removed);
      gone(L.binDir, removed, { recursive: true });
      if (f.purge) {
        gone(L.configFile, removed);
        rmdirIfEmpty(dirname(L.configFile));
        gone(L.stateDir, removed, { recursive: true });
        cmds.run(['userdel', SERVICE_USER], { allowFail: true });
      }
    } else {
      cmds.run(schtasks.end(), { allowFail: true });
      cmds.run(schtasks.delete(), { allowFail: true });
      gone(L.taskXml, removed);
      try {
        gone(L.binDir, removed, { recursive: true });
      } catch (e) {
        // Windows cannot delete a running exe: this one, when uninstall is run from the installed copy.
        if (prefix || !process.execPath.startsWith(L.binDir)) throw e;
        spawn('cmd.exe', ['/d', '/c', `ping -n 4 127.0.0.1 >nul & rmdir /s /q "${L.binDir}"`], { detached: true, stdio: 'ignore', windowsHide: true }).unref();
        later.push(L.binDir);
      }
      if (f.purge) gone(L.stateDir, removed, { recursive: true });
    }
  } catch (e) {
    throw new CliError(`uninstall: ${e instanceof Error ? e.message : String(e)}`, EXIT.failed);
  }

  if (removed.length === 0 && later.length === 0) out(t.nothing);
  else {
    out(t.removed);
    for (const p of removed) out(`  ${p}`);
    for (const p of later) out(`  ${p} (${t.later})`);
  }
  if (!f.purge && (existsSync(L.configFile) || existsSync(L.stateDir))) {
    out(`${t.kept} ${t.keptWhy}`);
    for (const p of [L.configFile, L.stateDir]) if (existsSync(p)) out(`  ${p}`);
  }
  if (cmds.skipped.length > 0) {
    out(t.dry);
    for (const c of cmds.skipped) out(`  $ ${shown(c)}`);
  }
  return EXIT.ok;
}
