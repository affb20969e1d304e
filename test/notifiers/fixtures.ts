// Shared by the notifier tests: real names (demo config + province 51 file), incidents, a fake clock,
// a loopback HTTP server that records requests, and a recording notifier for dispatcher tests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CONFIG_PATH, loadConfig, loadProvince } from '../../config/load.ts';
import { parseConfig } from '../../config/load.ts';
import type { ConfigInput } from '../../config/schema.ts';
import { buildDirectory } from '../../server/directory.ts';
import type { Incident, IncidentEvent, IncidentEventKind } from '../../server/incidents/types.ts';
import type { Clock } from '../../server/notifiers/dispatcher.ts';
import { namesFromDirectory } from '../../server/notifiers/index.ts';
import type { Notifier, Rendered, SendContext } from '../../server/notifiers/types.ts';

const demo = loadConfig(DEFAULT_CONFIG_PATH, {});
export const province = loadProvince(demo);
export const directory = buildDirectory(demo, province);
export const names = namesFromDirectory(directory);

/** Real communes of province 51 (Quảng Ngãi), from config/provinces/51.json. */
export const CAM_THANH = '21025'; // Phường Cẩm Thành
export const AN_PHU = '21034'; // Xã An Phú
export const BINH_SON = '21040'; // Xã Bình Sơn

/** 08:05 15/03/2026 in Asia/Ho_Chi_Minh (UTC+7). */
export const T0 = Date.UTC(2026, 2, 15, 1, 5);
export const MIN = 60_000;

export function incident(over: Partial<Incident> = {}): Incident {
  return {
    id: `carrier:viettel:${T0}`,
    cause: 'carrier',
    subject: 'viettel',
    openedAt: T0,
    resolvedAt: null,
    communes: [CAM_THANH, AN_PHU, BINH_SON],
    targets: ['dvc-quocgia', 'gateway'],
    carrier: 'viettel',
    severity: 'down',
    evidence: { summary: '3/3 xã dùng Viettel mất kết nối; VNPT, MobiFone bình thường', figures: { failing: 3, total: 3 } },
    acknowledgedBy: null,
    acknowledgedAt: null,
    notes: [],
    maintenance: false,
    ...over,
  };
}

export function ev(kind: IncidentEventKind, inc: Incident, at = inc.resolvedAt ?? inc.openedAt): IncidentEvent {
  return { kind, at, incident: inc };
}

/** The notifications section as a person writes it, parsed through the real config schema. */
export function notificationsConfig(n: NonNullable<ConfigInput['notifications']>) {
  return parseConfig({ province: { code: '51' }, carriers: demo.carriers, targets: demo.targets, notifications: n }).notifications;
}

/** Timers run only when the test advances time; between timers it lets the dispatcher settle. */
export class FakeClock implements Clock {
  private timers: { id: number; at: number; fn: () => void }[] = [];
  private nextId = 1;
  constructor(public t: number) {}
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  get pending(): number {
    return this.timers.length;
  }
  /** Move to `t + ms`, firing due timers in order and awaiting `settle` after each. */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (let guard = 0; guard < 10_000; guard++) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = end;
  }
}

export interface Recorded {
  msg: Rendered;
  ctx: SendContext;
  at: number;
}

/** A notifier that records what the dispatcher hands it; `behave` decides each attempt's fate. */
export function recorder(
  id: string,
  clock: { now(): number },
  opts: {
    recipientMode?: Notifier['recipientMode'];
    defaultRecipients?: string[];
    behave?: (n: number, ctx: SendContext) => Promise<void> | void;
  } = {},
): Notifier & { calls: Recorded[] } {
  const calls: Recorded[] = [];
  return {
    id,
    kind: 'webhook',
    recipientMode: opts.recipientMode ?? 'none',
    defaultRecipients: opts.defaultRecipients ?? [],
    calls,
    async send(msg, ctx) {
      calls.push({ msg, ctx, at: clock.now() });
      await opts.behave?.(calls.length, ctx);
    },
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  body: string;
}

/** A loopback HTTP server standing in for an API; `reply` answers each request (default 200 {}). */
export async function startHttp(
  reply: (req: RecordedRequest, res: ServerResponse) => void = (_r, res) => res.end('{}'),
): Promise<{ url: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body: raw.toString('utf8') };
      requests.push(r);
      reply(r, res);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export function ctxFor(recipients: string[] = [], timeoutMs = 5000): SendContext {
  return { recipients, deliveryId: 'd-test-1', attempt: 1, signal: AbortSignal.timeout(timeoutMs), now: Date.now() };
}
