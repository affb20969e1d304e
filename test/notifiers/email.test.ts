// Email channel through a real SMTP server process on loopback (aiosmtpd, with AUTH): the message is
// decoded by Python's email parser, independently of nodemailer, and must read back in Vietnamese.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNotifiers } from '../../server/notifiers/index.ts';
import { renderMessage } from '../../server/notifiers/templates.ts';
import type { NotifierError } from '../../server/notifiers/types.ts';
import { ctxFor, incident, MIN, names, notificationsConfig, T0 } from './fixtures.ts';
import { skipWithoutAiosmtpd, startSmtpSink, type SmtpSink } from './smtp-sink.ts';

describe.skipIf(skipWithoutAiosmtpd())('email notifier (real SMTP server on loopback)', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink({ user: 'ioc-notify', pass: 'mật-khẩu-thử' });
  });
  afterAll(async () => {
    await sink?.stop();
  });

  const build = (pass: string) =>
    buildNotifiers(
      notificationsConfig({
        channels: [
          {
            id: 'mail',
            kind: 'email',
            host: '127.0.0.1',
            port: sink.port,
            user: 'ioc-notify',
            pass: { env: 'SMTP_PASS' },
            from: '"IOC Quảng Ngãi" <ioc@quangngai.example>',
            to: ['truc-ban@quangngai.example'],
          },
        ],
      }),
      { env: { SMTP_PASS: pass } },
    ).get('mail')!;

  it('delivers HTML + text with a UTF-8 Vietnamese subject, authenticated', async () => {
    const inc = incident({ resolvedAt: T0 + 72 * MIN + 40_000 });
    const msg = renderMessage('resolved', inc, inc.resolvedAt!, { names, lang: 'vi', uiBaseUrl: 'https://ioc.example.org', now: T0 });
    const mail = build('mật-khẩu-thử');
    expect(mail.defaultRecipients).toEqual(['truc-ban@quangngai.example']);
    await mail.send(msg, { ...ctxFor(['truc-ban@quangngai.example', 'vien-thong@quangngai.example'], 10_000), deliveryId: 'dlv-mail-1' });
    const [m] = await sink.waitFor(1);
    expect(m!.auth_user).toBe('ioc-notify');
    expect(m!.mail_from).toBe('ioc@quangngai.example');
    expect(m!.rcpt_tos).toEqual(['truc-ban@quangngai.example', 'vien-thong@quangngai.example']);
    expect(m!.subject).toBe('[ĐÃ KHẮC PHỤC] Sự cố nhà mạng Viettel – 3 xã/phường');
    expect(m!.raw_subject).toMatch(/^=\?UTF-8\?[BQ]\?/i); // 7-bit header, RFC 2047 encoded
    expect(m!.from).toBe('IOC Quảng Ngãi <ioc@quangngai.example>');
    expect(m!.delivery).toBe('dlv-mail-1');
    expect(m!.text!.replace(/\r\n/g, '\n').trimEnd()).toBe(msg.text); // MIME text lines end in CRLF
    expect(m!.text).toContain('Kết thúc: 09:17 15/03/2026, kéo dài 1 giờ 12 phút');
    expect(m!.html).toContain('<td style="padding:2px 0">Phường Cẩm Thành, Xã An Phú, Xã Bình Sơn</td>');
    await mail.close?.();
  });

  it('a refused recipient (550) and a wrong password are permanent failures with the server reply', async () => {
    const msg = renderMessage('opened', incident(), T0, { names, lang: 'vi', now: T0 });
    const before = sink.messages.length;
    const rejected = await build('mật-khẩu-thử')
      .send(msg, ctxFor(['reject-me@quangngai.example'], 10_000))
      .then(() => null, (e: NotifierError) => e);
    expect(rejected!.message).toMatch(/^email mail: .*550/);
    expect(rejected!.permanent).toBe(true);
    const badAuth = await build('sai')
      .send(msg, ctxFor(['truc-ban@quangngai.example'], 10_000))
      .then(() => null, (e: NotifierError) => e);
    expect(badAuth!.message).toMatch(/^email mail: .*(535|auth)/i);
    expect(badAuth!.permanent).toBe(true);
    expect(sink.messages.length).toBe(before);
  });

  it('a server that is not there fails fast, not permanent (retried later)', async () => {
    const cfg = notificationsConfig({ channels: [{ id: 'mail', kind: 'email', host: '127.0.0.1', port: 1, from: 'ioc@quangngai.example', to: ['a@quangngai.example'] }] });
    const e = await buildNotifiers(cfg, { env: {} })
      .get('mail')!
      .send(renderMessage('opened', incident(), T0, { names, lang: 'vi', now: T0 }), ctxFor(['a@quangngai.example']))
      .then(() => null, (x: NotifierError) => x);
    expect(e!.message).toMatch(/ECONNREFUSED/);
    expect(e!.permanent).toBe(false);
  });
});
