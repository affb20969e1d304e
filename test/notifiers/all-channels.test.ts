// End to end through the composition helper, on the real clock: one incident opens and recovers, and
// every channel (webhook, SMTP, Telegram, Zalo stand-ins on loopback) receives exactly one opening and
// one recovery in Vietnamese; routing keeps another carrier's incident off the Viettel chat. Then a
// webhook that never answers: dispatch() still returns at once and the failure shows in status().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import type { ConfigInput } from '../../config/schema.ts';
import { createNotifications, NotifyConfigError, type Dispatcher } from '../../server/notifiers/index.ts';
import { verifyWebhook, type WebhookPayload } from '../../server/notifiers/webhook.ts';
import { directory, ev, incident, startHttp } from './fixtures.ts';
import { skipWithoutAiosmtpd, startSmtpSink, type SmtpSink } from './smtp-sink.ts';

const SECRET = 'e2e-webhook-secret-0123456789';
const ENV = { HOOK_SECRET: SECRET, TG_TOKEN: '42:e2e-token', ZALO_TOKEN: 'zalo-e2e', SMTP_PASS: 'pw-e2e' };

/** The demo's carriers and targets (names the messages use) plus the notifications section under test. */
function fullConfig(notifications: NonNullable<ConfigInput['notifications']>) {
  return parseConfig({ province: { code: '51' }, carriers: [...directory.carriers.values()], targets: [...directory.targets.values()], notifications });
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(skipWithoutAiosmtpd())('notifications through every channel', () => {
  let sink: SmtpSink;
  let hook: Awaited<ReturnType<typeof startHttp>>;
  let api: Awaited<ReturnType<typeof startHttp>>;
  let d: Dispatcher;

  beforeAll(async () => {
    sink = await startSmtpSink({ user: 'ioc', pass: ENV.SMTP_PASS });
    hook = await startHttp((_r, res) => res.writeHead(200).end('ok'));
    api = await startHttp((r, res) =>
      res.end(r.url.startsWith('/v3.0/') ? JSON.stringify({ error: 0, message: 'Success' }) : JSON.stringify({ ok: true, result: {} })),
    );
    const cfg = fullConfig({
      uiBaseUrl: 'https://ioc.quangngai.example',
      channels: [
        { id: 'ioc-hook', kind: 'webhook', url: `${hook.url}/ioc`, secret: { env: 'HOOK_SECRET' } },
        { id: 'mail', kind: 'email', host: '127.0.0.1', port: sink.port, user: 'ioc', pass: { env: 'SMTP_PASS' }, from: 'ioc@quangngai.example', to: ['truc-ban@quangngai.example'] },
        { id: 'tg', kind: 'telegram', botToken: { env: 'TG_TOKEN' }, apiBase: api.url },
        { id: 'zalo', kind: 'zalo', accessToken: { env: 'ZALO_TOKEN' }, userId: '8840000000001', apiBase: api.url },
      ],
      routes: [
        { name: 'IOC trực ban', channels: ['ioc-hook', 'mail', 'zalo'] },
        { name: 'Viettel', match: { carriers: ['viettel'] }, channels: [{ channel: 'tg', to: '-1009990001' }] },
      ],
    });
    d = createNotifications({ config: cfg, directory, env: ENV });
  });
  afterAll(async () => {
    await d?.close();
    await Promise.all([sink?.stop(), hook?.close(), api?.close()]);
  });

  it('one opening and one recovery per channel, in Vietnamese', async () => {
    const opened = incident({ openedAt: Date.now() - 72 * 60_000 });
    const t0 = performance.now();
    d.dispatch(ev('opened', opened));
    d.dispatch(ev('opened', opened)); // the engine repeating itself changes nothing
    const tookMs = performance.now() - t0;
    await until(() => d.status().channels.every((c) => c.sent === 1), 15_000, 'the openings');
    const resolved = { ...opened, resolvedAt: opened.openedAt + 72 * 60_000 + 5_000 };
    d.dispatch(ev('resolved', resolved));
    d.dispatch(ev('resolved', resolved));
    // another carrier's incident: IOC channels only, not the Viettel chat
    const vnpt = incident({ id: 'carrier:vnpt:1', subject: 'vnpt', carrier: 'vnpt', openedAt: Date.now() });
    d.dispatch(ev('opened', vnpt));
    await until(() => d.status().queued === 0 && d.status().channels.every((c) => c.sent >= 2), 15_000, 'the recoveries');
    await d.settled();
    console.log(`dispatch() took ${tookMs.toFixed(2)} ms for 2 events; status: ${JSON.stringify(d.status().channels.map((c) => [c.id, c.sent, c.failed]))}`);

    // webhook: signed, one opening + one recovery for the Viettel incident
    const bodies = hook.requests.map((r) => {
      expect(verifyWebhook(SECRET, r.raw, { signature: r.headers['x-ioc-signature'] as string, timestamp: r.headers['x-ioc-timestamp'] as string })).toBe(true);
      return JSON.parse(r.body) as WebhookPayload;
    });
    const viettel = (b: WebhookPayload) => b.events.filter((e) => e.incident.id === opened.id).map((e) => e.message);
    expect(bodies.flatMap(viettel)).toEqual(['opened', 'resolved']);
    expect(bodies.flatMap((b) => b.events.map((e) => e.incident.id)).filter((id) => id === vnpt.id)).toHaveLength(1);

    // email: decoded by the SMTP server's side
    const mails = await sink.waitFor(3);
    const vmails = mails.filter((m) => m.subject.includes('Viettel'));
    expect(vmails.map((m) => m.subject)).toEqual([
      '[SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường',
      '[ĐÃ KHẮC PHỤC] Sự cố nhà mạng Viettel – 3 xã/phường',
    ]);
    expect(vmails[1]!.text).toContain('kéo dài 1 giờ 12 phút');

    // telegram: only the Viettel incident, opening + recovery, to the route's chat
    const tg = api.requests.filter((r) => r.url === '/bot42:e2e-token/sendMessage').map((r) => JSON.parse(r.body) as { chat_id: string; text: string });
    expect(tg.map((m) => [m.chat_id, m.text.split('\n')[0]])).toEqual([
      ['-1009990001', '[SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường'],
      ['-1009990001', '[ĐÃ KHẮC PHỤC] Sự cố nhà mạng Viettel – 3 xã/phường'],
    ]);
    expect(tg[0]!.text).toContain(`Xem chi tiết: https://ioc.quangngai.example/incidents/${encodeURIComponent(opened.id)}`);

    // zalo: to the channel's default follower
    const zl = api.requests.filter((r) => r.url === '/v3.0/oa/message/cs').map((r) => JSON.parse(r.body) as { recipient: { user_id: string }; message: { text: string } });
    const zv = zl.filter((m) => m.message.text.split('\n')[0]!.includes('Viettel'));
    expect(zv.map((m) => [m.recipient.user_id, m.message.text.split('\n')[0]])).toEqual([
      ['8840000000001', '[SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường'],
      ['8840000000001', '[ĐÃ KHẮC PHỤC] Sự cố nhà mạng Viettel – 3 xã/phường'],
    ]);
    expect(zl.some((m) => m.message.text.startsWith('[SỰ CỐ] Sự cố nhà mạng VNPT'))).toBe(true);
  });
});

describe('a channel that hangs', () => {
  it('never blocks dispatch(); the attempt times out, is retried, and the failure is shown', async () => {
    const dead = await startHttp(() => {}); // accepts, never answers
    const cfg = fullConfig({
      retry: { attempts: 2, baseDelaySec: 0.2 },
      channels: [{ id: 'slow-hook', kind: 'webhook', url: dead.url, secret: SECRET, timeoutMs: 500 }],
      routes: [{ channels: ['slow-hook'] }],
    });
    const d = createNotifications({ config: cfg, directory, env: {} });
    try {
      const t0 = performance.now();
      d.dispatch(ev('opened', incident()));
      const took = performance.now() - t0;
      expect(took).toBeLessThan(50);
      await until(() => d.status().channels[0]!.failed === 1, 10_000, 'the give-up');
      const s = d.status();
      console.log(`hung webhook: dispatch() ${took.toFixed(2)} ms; ${dead.requests.length} attempts; last error: ${s.channels[0]!.lastError}`);
      expect(dead.requests).toHaveLength(2);
      expect(s.recent.map((r) => [r.attempt, r.ok, r.gaveUp])).toEqual([
        [2, false, true],
        [1, false, false],
      ]);
      expect(s.channels[0]!.lastError).toMatch(/^webhook slow-hook: .*(timeout|abort)/i);
    } finally {
      await d.close();
      await dead.close();
    }
  });

  it('a missing env secret or an unknown id in a route stops start-up, naming the field', () => {
    const cfg = fullConfig({
      channels: [{ id: 'tg', kind: 'telegram', botToken: { env: 'NO_SUCH_VAR' }, chatId: -100 }],
      routes: [{ match: { carriers: ['viettel', 'gtel'], communes: ['21040'] }, channels: ['tg'] }],
    });
    const err = (() => {
      try {
        createNotifications({ config: cfg, directory, env: {} });
      } catch (e) {
        return e as NotifyConfigError;
      }
    })();
    expect(err).toBeInstanceOf(NotifyConfigError);
    expect(err!.problems).toEqual(['notifications.routes[0].match.carriers[1]: unknown carrier "gtel"']);
    const cfg2 = fullConfig({ channels: [{ id: 'tg', kind: 'telegram', botToken: { env: 'NO_SUCH_VAR' }, chatId: -100 }], routes: [{ channels: ['tg'] }] });
    expect(() => createNotifications({ config: cfg2, directory, env: {} })).toThrow(
      'notifications.channels[tg].botToken: environment variable NO_SUCH_VAR is not set',
    );
  });
});
