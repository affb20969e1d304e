// Telegram Bot API: POST {apiBase}/bot<token>/sendMessage {chat_id, text}. Plain text (no parse_mode),
// so names and evidence never need Markdown/HTML escaping. The chat comes from the route (ctx.recipients).
import { NotifierError, type NotifierFactory } from './types.ts';
import { parseJson, post, resolveSecret, truncate } from './util.ts';

/** Telegram refuses longer texts. */
export const TELEGRAM_MAX_CHARS = 4096;

export const telegram: NotifierFactory<'telegram'> = (cfg, deps) => {
  const token = resolveSecret(cfg.botToken, deps.env, `notifications.channels[${cfg.id}].botToken`);
  const url = `${cfg.apiBase.replace(/\/+$/, '')}/bot${token}/sendMessage`;
  const label = `telegram ${cfg.id}`;
  return {
    id: cfg.id,
    kind: 'telegram',
    recipientMode: 'one',
    defaultRecipients: cfg.chatId === undefined ? [] : [String(cfg.chatId)],
    async send(msg, ctx) {
      const chat = ctx.recipients[0];
      if (chat === undefined) throw new NotifierError(`${label}: no chat id`, { permanent: true });
      let r;
      try {
        r = await post(label, url, {
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({ chat_id: chat, text: truncate(msg.text, TELEGRAM_MAX_CHARS), link_preview_options: { is_disabled: true } }),
          signal: ctx.signal,
        });
      } catch (e) {
        // The token is part of the URL: keep it out of messages. Telegram's 429 says when to come back
        // in the JSON body (parameters.retry_after), not in a header.
        if (!(e instanceof NotifierError)) throw e;
        const m = /"retry_after"\s*:\s*(\d+)/.exec(e.message);
        throw new NotifierError(e.message.replaceAll(token, '<token>'), {
          permanent: e.permanent,
          retryAfterMs: m ? Number(m[1]) * 1000 : e.retryAfterMs,
        });
      }
      const body = parseJson(label, r.text);
      if (body.ok !== true) throw new NotifierError(`${label}: ${String(body.description ?? r.text.slice(0, 200))}`);
    },
  };
};
