// A real server for the security tests whose log lines are kept (the throttle and fuzz tests read them).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig } from '../../config/load.ts';
import type { ConfigInput } from '../../config/schema.ts';
import { hashSecret } from '../../server/auth/password.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { DEFAULT_TEST_TARGETS } from '../helpers/server.ts';

export interface LoggedServer extends RunningServer {
  /** every log line, parsed */
  lines: Record<string, unknown>[];
  token: string;
  stop(): Promise<void>;
}

export const PW = 'mat-khau-dung-9';
export const AGENT = { id: 'a-cam-thanh', commune: '21025' };

export async function startLogged(extra: Partial<ConfigInput> = {}, o: { ui?: boolean } = {}): Promise<LoggedServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ioc-sec-'));
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const hash = await hashSecret(PW, { N: 1024 });
  const token = `tok-${Math.random().toString(36).slice(2)}`;
  const config = parseConfig({
    province: { code: '51' },
    server: { host: '127.0.0.1', heartbeatSec: 5, agentTimeoutSec: 20, liveCoalesceMs: 50, ...extra.server },
    store: { kind: 'duckdb' },
    carriers: [{ id: 'vnpt', name: 'VNPT' }, { id: 'viettel', name: 'Viettel' }],
    targets: DEFAULT_TEST_TARGETS,
    agents: [{ ...AGENT, tokenHash: await hashSecret(token, { N: 1024 }), uplinks: [{ name: 'wan1', carrier: 'vnpt', gateway: '127.0.0.1' }] }],
    users: [
      { username: 'quantri', role: 'admin', passwordHash: hash },
      { username: 'vanhanh', role: 'operator', passwordHash: hash },
      { username: 'kysu-vnpt', role: 'carrier', carrier: 'vnpt', passwordHash: hash },
      { username: 'kysu-viettel', role: 'carrier', carrier: 'viettel', passwordHash: hash },
      { username: 'sokhcn', role: 'dost', passwordHash: hash },
    ],
    apiTokens: [{ id: 'grafana', role: 'dost', tokenHash: await hashSecret('s3cret-grafana', { N: 1024 }) }],
    simulator: { enabled: false },
    ...extra,
  }, 'security test config');
  const s = await startServer({ config, dataDir, port: 0, host: '127.0.0.1', logger: pino({ level: 'info' }, sink), uiDir: o.ui ? undefined : null });
  return {
    ...s, lines, token,
    async stop() {
      await s.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
