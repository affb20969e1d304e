// Report delivery by email: the SMTP transport of an `email` notification channel (server/notifiers/email.ts,
// so host, port, TLS and credentials are configured once), the files attached. nodemailer encodes the Vietnamese
// attachment names per RFC 2231 and the subject per RFC 2047.
import type { ChannelConfig, NotifierDeps } from '../notifiers/types.ts';
import { smtpTransport } from '../notifiers/email.ts';
import { describe } from '../notifiers/util.ts';
import type { ReportDoc } from './render/document.ts';
import type { RenderedFile } from './render/index.ts';

export interface ReportMail {
  to: string[];
  subject: string;
  text: string;
  html: string;
  attachments: { filename: string; content: Buffer; contentType: string }[];
}

export interface ReportMailer {
  send(m: ReportMail): Promise<void>;
  close(): Promise<void>;
}

/** A failed send; `permanent` when the server refused for good (5xx: bad recipient, auth refused). */
export class MailError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = 'MailError';
  }
}

export function reportMailer(channel: ChannelConfig<'email'>, deps: NotifierDeps): ReportMailer {
  const transport = smtpTransport(channel, deps);
  return {
    async send(m) {
      try {
        await transport.sendMail({ from: channel.from, to: m.to, subject: m.subject, text: m.text, html: m.html, attachments: m.attachments });
      } catch (e) {
        const code = (e as { responseCode?: number }).responseCode;
        throw new MailError(`email ${channel.id}: ${describe(e)}`, typeof code === 'number' && code >= 500 && code < 600);
      }
    },
    async close() {
      transport.close();
    },
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The message that carries a report: what it is, its summary figures, the definitions used, the files. */
export function reportMessage(doc: ReportDoc, files: RenderedFile[], to: string[]): ReportMail {
  const subject = `[IOC] ${doc.fileTitle}`;
  const lines = [
    `${doc.title}`,
    doc.subtitle,
    '',
    ...doc.meta.map(([k, v]) => `${k}: ${v}`),
    '',
    'Tóm tắt:',
    ...doc.summary.map(([k, v]) => `- ${k}: ${v}`),
    '',
    `${doc.definitions.title}:`,
    ...doc.definitions.lines.map((l) => `- ${l}`),
    '',
    `Tệp đính kèm: ${files.map((f) => f.name).join(', ')}`,
    '',
    'Thư được gửi tự động từ hệ thống giám sát IOC; vui lòng không trả lời thư này.',
  ];
  const html =
    `<h2>${esc(doc.title)}</h2><p>${esc(doc.subtitle)}</p>` +
    `<table>${doc.meta.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>` +
    `<h3>Tóm tắt</h3><ul>${doc.summary.map(([k, v]) => `<li>${esc(k)}: <b>${esc(v)}</b></li>`).join('')}</ul>` +
    `<h3>${esc(doc.definitions.title)}</h3><ul>${doc.definitions.lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` +
    `<p>Tệp đính kèm: ${files.map((f) => esc(f.name)).join(', ')}</p>` +
    `<p><small>Thư được gửi tự động từ hệ thống giám sát IOC; vui lòng không trả lời thư này.</small></p>`;
  return {
    to,
    subject,
    text: lines.join('\n'),
    html,
    attachments: files.map((f) => ({ filename: f.name, content: f.body, contentType: f.contentType })),
  };
}
