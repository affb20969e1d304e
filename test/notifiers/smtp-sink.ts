// Starts test/notifiers/smtp-sink.py: a real SMTP server (Debian python3-aiosmtpd) on 127.0.0.1.
// Each received message arrives as a JSON line decoded by Python's email package.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// Debian's interpreter, where python3-aiosmtpd installs (a pyenv `python3` on PATH would not see it).
export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./smtp-sink.py', import.meta.url));
const INSTALL_HINT = 'apt-get install python3-aiosmtpd';

export interface SinkMessage {
  mail_from: string;
  rcpt_tos: string[];
  auth_user: string | null;
  subject: string;
  raw_subject: string;
  from: string;
  to: string;
  delivery: string;
  text: string | null;
  html: string | null;
  /** attached files (decoded name, MIME type, size and SHA-256 of the decoded bytes) */
  attachments: { filename: string | null; content_type: string; size: number; sha256: string }[];
}

export function aiosmtpdAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import aiosmtpd'], { stdio: 'ignore' }).status === 0;
}

/** Same rule as influxd: skip with one loud line outside CI, never skip under CI=true (the start then fails). */
export function skipWithoutAiosmtpd(): boolean {
  if (aiosmtpdAvailable()) return false;
  if (process.env.CI === 'true') return false;
  console.warn(`\n!!! SKIPPING SMTP tests: ${PYTHON} cannot import aiosmtpd: ${INSTALL_HINT}\n`);
  return true;
}

export interface SmtpSink {
  port: number;
  messages: SinkMessage[];
  /** resolves when `n` messages have arrived (rejects after timeoutMs) */
  waitFor(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  stop(): Promise<void>;
}

export async function startSmtpSink(auth: { user: string; pass: string }): Promise<SmtpSink> {
  if (!aiosmtpdAvailable()) throw new Error(`${PYTHON} cannot import aiosmtpd: ${INSTALL_HINT}`);
  const child = spawn(PYTHON, [SCRIPT], {
    env: { ...process.env, SMTP_USER: auth.user, SMTP_PASS: auth.pass, PYTHONIOENCODING: 'utf-8' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const messages: SinkMessage[] = [];
  const waiters: (() => void)[] = [];
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`smtp sink did not start in 10 s: ${stderr}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`smtp sink exited ${code}: ${stderr}`)));
    lines.on('line', (line) => {
      const m = /^READY (\d+)$/.exec(line);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
        return;
      }
      messages.push(JSON.parse(line) as SinkMessage);
      waiters.splice(0).forEach((w) => w());
    });
  });
  return {
    port,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > until) throw new Error(`expected ${n} messages, got ${messages.length}; stderr: ${stderr}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return messages.slice(0, n);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end(); // the sink stops on stdin EOF
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
