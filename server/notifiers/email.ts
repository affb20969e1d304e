// Email over SMTP with nodemailer: one message to all of the destination's recipients, HTML with a plain
// text alternative. nodemailer encodes the Vietnamese subject as RFC 2047 UTF-8 words and picks
// quoted-printable/base64 bodies, so any standards-following client shows the diacritics.
import nodemailer from 'nodemailer';
import { NotifierError, type ChannelConfig, type NotifierDeps, type NotifierFactory } from './types.ts';
import { describe, resolveSecret } from './util.ts';

/** The channel's SMTP transport; also used by the scheduled reports (server/reports/mailer.ts) to send attachments. */
export function smtpTransport(cfg: ChannelConfig<'email'>, deps: NotifierDeps) {
  const pass = cfg.pass === undefined ? undefined : resolveSecret(cfg.pass, deps.env, `notifications.channels[${cfg.id}].pass`);
  // One connection per message (no pool): alerts are rare, and a pooled connection the server dropped
  // while idle would turn the next alert into a failed attempt.
  return nodemailer.createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    requireTLS: cfg.requireTLS,
    ...(cfg.user ? { auth: { user: cfg.user, pass: pass ?? '' } } : {}),
    connectionTimeout: cfg.timeoutMs,
    greetingTimeout: cfg.timeoutMs,
    socketTimeout: cfg.timeoutMs,
    // Never fetch files or URLs named in a message: only our own strings go in.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
}

export const email: NotifierFactory<'email'> = (cfg, deps) => {
  const label = `email ${cfg.id}`;
  const transport = smtpTransport(cfg, deps);
  return {
    id: cfg.id,
    kind: 'email',
    recipientMode: 'many',
    defaultRecipients: cfg.to ?? [],
    async send(msg, ctx) {
      if (!ctx.recipients.length) throw new NotifierError(`${label}: no recipients`, { permanent: true });
      try {
        await transport.sendMail({
          from: cfg.from,
          to: ctx.recipients,
          subject: msg.subject,
          text: msg.text,
          html: msg.html,
          headers: { 'X-IOC-Delivery': ctx.deliveryId },
          signal: ctx.signal,
        });
      } catch (e) {
        // SMTP 5xx replies (bad recipient, auth refused) will not change on retry.
        const code = (e as { responseCode?: number }).responseCode;
        const permanent = typeof code === 'number' && code >= 500 && code < 600;
        throw new NotifierError(`${label}: ${describe(e)}`, { permanent, cause: e });
      }
    },
    async close() {
      transport.close();
    },
  };
};
