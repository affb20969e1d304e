// Webhook: POST JSON, signed with HMAC-SHA256 so the receiver knows it came from this server.
//
// Headers:   X-IOC-Timestamp: <unix seconds>
//            X-IOC-Signature: sha256=<hex HMAC-SHA256(secret, `${timestamp}.${raw body}`)>
//            X-IOC-Delivery:  <id, the same on every retry of one message: dedupe on it>
// A receiver recomputes the HMAC over the timestamp, a dot and the body bytes exactly as received
// (before any JSON parsing), compares in constant time, and rejects timestamps more than 5 minutes
// away from its clock so a captured request cannot be replayed later. verifyWebhook() below does that.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NotifierFactory, Rendered, SendContext } from './types.ts';
import { post, resolveSecret } from './util.ts';

export const SIGNATURE_HEADER = 'x-ioc-signature';
export const TIMESTAMP_HEADER = 'x-ioc-timestamp';
export const DELIVERY_HEADER = 'x-ioc-delivery';
export const WEBHOOK_TOLERANCE_SEC = 300;

/** The JSON body. `events` has one entry, or several for a digest. */
export interface WebhookPayload {
  version: 1;
  deliveryId: string;
  /** epoch ms of this attempt */
  sentAt: number;
  digest: boolean;
  lang: string;
  subject: string;
  text: string;
  events: Rendered['events'];
}

export function sign(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** Receiver side: true when the signature matches and the timestamp is fresh. */
export function verifyWebhook(
  secret: string,
  rawBody: string | Buffer,
  headers: { signature: string | undefined; timestamp: string | undefined },
  nowMs = Date.now(),
  toleranceSec = WEBHOOK_TOLERANCE_SEC,
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSec) return false;
  const want = Buffer.from(sign(secret, timestamp, rawBody));
  const got = Buffer.from(signature);
  return got.length === want.length && timingSafeEqual(got, want);
}

export const webhook: NotifierFactory<'webhook'> = (cfg, deps) => {
  const secret = resolveSecret(cfg.secret, deps.env, `notifications.channels[${cfg.id}].secret`);
  return {
    id: cfg.id,
    kind: 'webhook',
    recipientMode: 'none',
    defaultRecipients: [],
    async send(msg: Rendered, ctx: SendContext) {
      const payload: WebhookPayload = {
        version: 1,
        deliveryId: ctx.deliveryId,
        sentAt: ctx.now,
        digest: msg.digest,
        lang: msg.lang,
        subject: msg.subject,
        text: msg.text,
        events: msg.events,
      };
      const body = JSON.stringify(payload);
      const ts = String(Math.floor(ctx.now / 1000));
      await post(`webhook ${cfg.id}`, cfg.url, {
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'ioc-uptime-notifier/1',
          [TIMESTAMP_HEADER]: ts,
          [SIGNATURE_HEADER]: sign(secret, ts, body),
          [DELIVERY_HEADER]: ctx.deliveryId,
        },
        body,
        signal: ctx.signal,
      });
    },
  };
};
