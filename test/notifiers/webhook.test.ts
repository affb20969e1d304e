// Webhook channel against a real HTTP server on loopback: the receiver checks the HMAC itself (node
// crypto, not our sign()), the payload carries the event and the Vietnamese text, errors are classified.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { buildNotifiers } from '../../server/notifiers/index.ts';
import { renderMessage } from '../../server/notifiers/templates.ts';
import { NotifierError } from '../../server/notifiers/types.ts';
import { NotifyConfigError } from '../../server/notifiers/util.ts';
import { verifyWebhook, type WebhookPayload } from '../../server/notifiers/webhook.ts';
import { ctxFor, incident, names, notificationsConfig, startHttp, T0 } from './fixtures.ts';

const SECRET = 'k3y-for-tests-only-0123456789';
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function build(url: string, secret: unknown = SECRET, env: NodeJS.ProcessEnv = {}) {
  const cfg = notificationsConfig({ channels: [{ id: 'ioc-hook', kind: 'webhook', url, secret: secret as string }] });
  return buildNotifiers(cfg, { env }).get('ioc-hook')!;
}

const msg = renderMessage('opened', incident(), T0, { names, lang: 'vi', uiBaseUrl: 'https://ioc.example.org', now: T0 });

describe('webhook notifier', () => {
  it('POSTs the event as JSON with a verifiable HMAC-SHA256 signature over timestamp.body', async () => {
    const srv = await startHttp((_r, res) => res.writeHead(204).end());
    servers.push(srv);
    const n = build(`${srv.url}/hooks/ioc`);
    const now = Date.now();
    await n.send(msg, { ...ctxFor(), deliveryId: 'dlv-42', now });

    expect(srv.requests).toHaveLength(1);
    const r = srv.requests[0]!;
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/hooks/ioc');
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers['x-ioc-delivery']).toBe('dlv-42');
    const ts = String(r.headers['x-ioc-timestamp']);
    expect(Number(ts)).toBe(Math.floor(now / 1000));
    // The receiver's check, written independently: HMAC over `${ts}.${raw body bytes}`.
    const want = 'sha256=' + createHmac('sha256', SECRET).update(Buffer.concat([Buffer.from(`${ts}.`), r.raw])).digest('hex');
    const got = String(r.headers['x-ioc-signature']);
    expect(got.length).toBe(want.length);
    expect(timingSafeEqual(Buffer.from(got), Buffer.from(want))).toBe(true);

    const body = JSON.parse(r.body) as WebhookPayload;
    expect(body).toMatchObject({ version: 1, deliveryId: 'dlv-42', digest: false, lang: 'vi', subject: '[SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường' });
    expect(body.text).toContain('Xã/phường bị ảnh hưởng (3): Phường Cẩm Thành, Xã An Phú, Xã Bình Sơn');
    expect(body.events).toHaveLength(1);
    expect(body.events[0]).toMatchObject({ kind: 'opened', message: 'opened', at: T0 });
    expect(body.events[0]!.incident).toEqual(incident());

    // verifyWebhook (the helper for receivers written in TS) agrees, and rejects tampering and replays
    const h = { signature: got, timestamp: ts };
    expect(verifyWebhook(SECRET, r.raw, h, now)).toBe(true);
    expect(verifyWebhook(SECRET, r.body.replace('Viettel', 'VNPT'), h, now)).toBe(false);
    expect(verifyWebhook('another-secret-0123456', r.raw, h, now)).toBe(false);
    expect(verifyWebhook(SECRET, r.raw, { signature: got, timestamp: String(Number(ts) + 1) }, now)).toBe(false);
    expect(verifyWebhook(SECRET, r.raw, h, now + 301_000)).toBe(false); // replayed 5 min later
    expect(verifyWebhook(SECRET, r.raw, { signature: undefined, timestamp: ts }, now)).toBe(false);
  });

  it('non-2xx is an error naming the status; 4xx is permanent, 5xx and 429 are retried', async () => {
    let status = 500;
    const srv = await startHttp((_r, res) => res.writeHead(status, { 'retry-after': '7' }).end('kho dữ liệu bận'));
    servers.push(srv);
    const n = build(srv.url);
    const err = async () => n.send(msg, ctxFor()).then(() => null, (e: unknown) => e as NotifierError);
    let e = await err();
    expect(e).toBeInstanceOf(NotifierError);
    expect(e!.message).toBe('webhook ioc-hook: HTTP 500: kho dữ liệu bận');
    expect(e!.permanent).toBe(false);
    status = 429;
    e = await err();
    expect([e!.permanent, e!.retryAfterMs]).toEqual([false, 7000]);
    status = 403;
    e = await err();
    expect(e!.permanent).toBe(true);
  });

  it('a refused connection and a hung server both fail with a useful message', async () => {
    const srv = await startHttp(() => {}); // never answers
    servers.push(srv);
    const hung = await build(srv.url)
      .send(msg, ctxFor([], 300))
      .then(() => null, (e: Error) => e);
    expect(hung?.message).toMatch(/^webhook ioc-hook: .*(timeout|aborted)/i);

    const closed = await startHttp();
    const url = closed.url;
    await closed.close();
    const refused = await build(url)
      .send(msg, ctxFor())
      .then(() => null, (e: Error) => e);
    expect(refused?.message).toMatch(/^webhook ioc-hook: .*ECONNREFUSED/);
  });

  it('reads the secret from the environment, and a missing variable names the field', () => {
    expect(() => build('http://127.0.0.1:9', { env: 'IOC_HOOK_SECRET' }, { IOC_HOOK_SECRET: SECRET })).not.toThrow();
    const e = (() => {
      try {
        build('http://127.0.0.1:9', { env: 'IOC_HOOK_SECRET' }, {});
      } catch (x) {
        return x as NotifyConfigError;
      }
    })();
    expect(e).toBeInstanceOf(NotifyConfigError);
    expect(e!.problems).toEqual(['notifications.channels[ioc-hook].secret: environment variable IOC_HOOK_SECRET is not set']);
  });
});
