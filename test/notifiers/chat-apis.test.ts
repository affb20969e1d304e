// Telegram and Zalo OA channels against local HTTP servers standing in for their APIs (configurable
// apiBase): path, token placement, recipient, Vietnamese text, and how API errors are classified.
import { afterEach, describe, expect, it } from 'vitest';
import { buildNotifiers } from '../../server/notifiers/index.ts';
import { renderMessage } from '../../server/notifiers/templates.ts';
import type { NotifierError } from '../../server/notifiers/types.ts';
import { ZALO_MAX_CHARS } from '../../server/notifiers/zalo.ts';
import { ctxFor, incident, names, notificationsConfig, province, startHttp, T0 } from './fixtures.ts';

const TOKEN = '123456789:AAH-test-token_only';
const ZALO_TOKEN = 'zalo-oa-access-token-test';
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const opened = renderMessage('opened', incident(), T0, { names, lang: 'vi', now: T0 });
const fail = (p: Promise<void>) => p.then(() => null, (e: NotifierError) => e);

function channels(apiBase: string) {
  const cfg = notificationsConfig({
    channels: [
      { id: 'tg', kind: 'telegram', botToken: { env: 'TG_TOKEN' }, apiBase },
      { id: 'zl', kind: 'zalo', accessToken: { env: 'ZALO_TOKEN' }, userId: '8841234567890', apiBase },
    ],
  });
  return buildNotifiers(cfg, { env: { TG_TOKEN: TOKEN, ZALO_TOKEN } });
}

describe('telegram notifier', () => {
  it('calls sendMessage with the token in the path, the route chat id and the Vietnamese text', async () => {
    const api = await startHttp((_r, res) => res.end(JSON.stringify({ ok: true, result: { message_id: 7 } })));
    servers.push(api);
    const tg = channels(api.url).get('tg')!;
    expect(tg.recipientMode).toBe('one');
    await tg.send(opened, ctxFor(['-1001234567890']));
    const r = api.requests[0]!;
    expect([r.method, r.url]).toEqual(['POST', `/bot${TOKEN}/sendMessage`]);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(r.body) as { chat_id: string; text: string; parse_mode?: string };
    expect(body.chat_id).toBe('-1001234567890');
    expect(body.parse_mode).toBeUndefined(); // plain text: names never need escaping
    expect(body.text).toBe(opened.text);
    expect(body.text.split('\n')[0]).toBe('[SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường');
  });

  it('429 carries retry_after; 400 is permanent; the token never appears in an error', async () => {
    let reply = { status: 429, body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } } };
    const api = await startHttp((_r, res) => res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body)));
    servers.push(api);
    const tg = channels(api.url).get('tg')!;
    let e = await fail(tg.send(opened, ctxFor(['-100'])));
    expect([e!.permanent, e!.retryAfterMs]).toEqual([false, 3000]);
    expect(e!.message).toContain('HTTP 429');
    reply = { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: chat not found' } as never };
    e = await fail(tg.send(opened, ctxFor(['-100'])));
    expect(e!.permanent).toBe(true);
    expect(e!.message).toContain('chat not found');
    expect(e!.message).not.toContain(TOKEN);
  });

  it('a 200 that is not {ok: true} is a failure', async () => {
    const api = await startHttp((_r, res) => res.end('<html>proxy login</html>'));
    servers.push(api);
    const e = await fail(channels(api.url).get('tg')!.send(opened, ctxFor(['-100'])));
    expect(e!.message).toMatch(/^telegram tg: expected a JSON object/);
  });
});

describe('zalo notifier', () => {
  it('POSTs /v3.0/oa/message/cs with the access_token header, the user id and the Vietnamese text', async () => {
    const api = await startHttp((_r, res) => res.end(JSON.stringify({ error: 0, message: 'Success', data: { message_id: 'm1', user_id: '8841234567890' } })));
    servers.push(api);
    const zl = channels(api.url).get('zl')!;
    expect(zl.defaultRecipients).toEqual(['8841234567890']);
    await zl.send(opened, ctxFor(['5550001112223']));
    const r = api.requests[0]!;
    expect([r.method, r.url]).toEqual(['POST', '/v3.0/oa/message/cs']);
    expect(r.headers['access_token']).toBe(ZALO_TOKEN);
    const body = JSON.parse(r.body) as { recipient: { user_id: string }; message: { text: string } };
    expect(body.recipient).toEqual({ user_id: '5550001112223' });
    expect(body.message.text).toBe(opened.text);
    expect(body.message.text).toContain('Căn cứ: 3/3 xã dùng Viettel mất kết nối; VNPT, MobiFone bình thường');
  });

  it('Zalo errors come with HTTP 200: -216 (invalid token) is permanent, others are retried', async () => {
    let code = -216;
    const api = await startHttp((_r, res) => res.end(JSON.stringify({ error: code, message: code === -216 ? 'Access token is invalid' : 'Unknown' })));
    servers.push(api);
    const zl = channels(api.url).get('zl')!;
    let e = await fail(zl.send(opened, ctxFor(['1'])));
    expect(e!.message).toBe('zalo zl: error -216: Access token is invalid');
    expect(e!.permanent).toBe(true);
    code = -32;
    e = await fail(zl.send(opened, ctxFor(['1'])));
    expect(e!.permanent).toBe(false);
  });

  it('texts over the 2000-character limit are cut, marked with …', async () => {
    const api = await startHttp((_r, res) => res.end('{"error":0}'));
    servers.push(api);
    const evidence = { summary: 'Chi tiết đo: ' + 'mất gói 100 %; '.repeat(200), figures: {} };
    const long = renderMessage('opened', incident({ communes: province.communes.map((c) => c.code), evidence }), T0, { names, lang: 'vi', now: T0 });
    expect(long.text.length).toBeGreaterThan(ZALO_MAX_CHARS);
    await channels(api.url).get('zl')!.send(long, ctxFor(['1']));
    const text = (JSON.parse(api.requests[0]!.body) as { message: { text: string } }).message.text;
    expect(text.length).toBe(ZALO_MAX_CHARS);
    expect(text.endsWith('…')).toBe(true);
    expect(text.startsWith('[SỰ CỐ] Sự cố nhà mạng Viettel – 96 xã/phường\n')).toBe(true);
  });
});
