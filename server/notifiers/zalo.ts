// Zalo Official Account API v3: POST {apiBase}/v3.0/oa/message/cs with the OA access token in the
// `access_token` header and {recipient: {user_id}, message: {text}}. Zalo answers HTTP 200 even on
// failure; `error` is 0 on success, negative otherwise (e.g. -216 invalid token).
// A "cs" (customer-service) message reaches only followers who interacted with the OA recently
// (Zalo's window); outside it Zalo refuses with an error, which shows in the dispatcher's status.
// OA access tokens expire after about a day: refresh outside this server and pass the current one by env.
import { NotifierError, type NotifierFactory } from './types.ts';
import { parseJson, post, resolveSecret, truncate } from './util.ts';

/** Zalo's text message limit. */
export const ZALO_MAX_CHARS = 2000;
export const ZALO_SEND_PATH = '/v3.0/oa/message/cs';

// -216: the access token is invalid, which no retry fixes. Other codes are retried (bounded attempts):
// Zalo's code list changes and a wrongly "permanent" code would lose a message.
const PERMANENT = new Set([-216]);

export const zalo: NotifierFactory<'zalo'> = (cfg, deps) => {
  const token = resolveSecret(cfg.accessToken, deps.env, `notifications.channels[${cfg.id}].accessToken`);
  const url = cfg.apiBase.replace(/\/+$/, '') + ZALO_SEND_PATH;
  const label = `zalo ${cfg.id}`;
  return {
    id: cfg.id,
    kind: 'zalo',
    recipientMode: 'one',
    defaultRecipients: cfg.userId ? [cfg.userId] : [],
    async send(msg, ctx) {
      const user = ctx.recipients[0];
      if (user === undefined) throw new NotifierError(`${label}: no user id`, { permanent: true });
      const r = await post(label, url, {
        headers: { 'content-type': 'application/json; charset=utf-8', access_token: token },
        body: JSON.stringify({ recipient: { user_id: user }, message: { text: truncate(msg.text, ZALO_MAX_CHARS) } }),
        signal: ctx.signal,
      });
      const body = parseJson(label, r.text);
      const code = Number(body.error);
      if (code !== 0)
        throw new NotifierError(`${label}: error ${String(body.error)}: ${String(body.message ?? '')}`, { permanent: PERMANENT.has(code) });
    },
  };
};
