// The notifier contract: one channel kind per file, registered in index.ts. A notifier only delivers
// an already rendered message; routing, dedupe, rate limits, retries and reminders live in dispatcher.ts.
import type { NotifyChannelConfig, NotifyChannelKind } from '../../config/schema.ts';
import type { Cause, CAUSES, IncidentEvent } from '../incidents/types.ts';

export type ChannelKind = NotifyChannelKind;
export type ChannelConfig<K extends ChannelKind = ChannelKind> = Extract<NotifyChannelConfig, { kind: K }>;
export type Lang = 'vi' | 'en';

/** What a message is about: its opening, a reminder while open, its recovery; a digest merges several. */
export type MessageKind = 'opened' | 'reminder' | 'resolved';

/** One message, ready for any channel: chat channels send `text`, email adds `html`, webhook adds `events`. */
export interface Rendered {
  lang: Lang;
  /** one line: email subject, first line of chat messages */
  subject: string;
  /** full plain text (starts with the subject line) */
  text: string;
  /** the same as HTML, for email */
  html: string;
  /** the events this message covers, in order (more than one for a digest) */
  events: RenderedEvent[];
  /** true when several messages were merged because of the rate limit or a backlog after failures */
  digest: boolean;
}

export interface RenderedEvent extends IncidentEvent {
  /** what the message says about the incident (an engine 'updated' event is announced as 'opened') */
  message: MessageKind;
  /** 1-based reminder number (reminders only) */
  reminder?: number;
  /** the message's one-line summary (its subject), reused by digests */
  summary: string;
  /** link to the incident in the UI, when notifications.uiBaseUrl is set */
  url: string | null;
}

export interface SendContext {
  /** email addresses; exactly one Telegram chat id / Zalo user id; empty for webhooks */
  recipients: string[];
  /** stable across retries of the same message (webhook receivers dedupe on it) */
  deliveryId: string;
  /** 1 for the first attempt */
  attempt: number;
  /** aborted when the channel's timeoutMs passes */
  signal: AbortSignal;
  /** epoch ms, from the dispatcher's clock */
  now: number;
}

export interface Notifier {
  readonly id: string;
  readonly kind: ChannelKind;
  /** how a message reaches recipients: none (webhook), one per request (chat APIs: the dispatcher gives
   *  each recipient its own queue so a retry never repeats a message to someone who already got it),
   *  many in one request (email) */
  readonly recipientMode: 'none' | 'one' | 'many';
  /** used when a route entry names no `to` */
  readonly defaultRecipients: string[];
  /** resolves once the channel accepted the message; throws NotifierError (or any Error) with a useful message */
  send(msg: Rendered, ctx: SendContext): Promise<void>;
  close?(): Promise<void>;
}

export interface NotifierDeps {
  /** where `{ env: NAME }` secrets are read from */
  env: NodeJS.ProcessEnv;
}

export type NotifierFactory<K extends ChannelKind> = (cfg: ChannelConfig<K>, deps: NotifierDeps) => Notifier;

/** A failed delivery. `permanent`: retrying the same request cannot help (bad token, unknown chat). */
export class NotifierError extends Error {
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { permanent?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NotifierError';
    this.permanent = opts.permanent ?? false;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** HTTP status -> error for the JSON APIs: 4xx other than 408/429 are the request's fault, so permanent. */
export function httpError(channel: string, status: number, detail: string, retryAfterMs?: number): NotifierError {
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return new NotifierError(`${channel}: HTTP ${status}${detail ? `: ${detail.slice(0, 300)}` : ''}`, { permanent, retryAfterMs });
}

/** Names for the templates. Unknown codes/ids should come back as the code itself, never throw. */
export interface NameLookup {
  /** commune code -> "Xã Bình Sơn" */
  commune(code: string): string;
  /** carrier id -> "Viettel" */
  carrier(id: string): string;
  /** target id -> "Cổng Dịch vụ công quốc gia" */
  target(id: string): string;
}

// The config schema lists the causes literally (config/ may not import server/): keep the two in step.
type SchemaCause = NonNullable<import('../../config/schema.ts').NotificationsConfig['routes'][number]['match']['causes']>[number];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const causesInStep: Same<SchemaCause, Cause> & Same<Cause, (typeof CAUSES)[number]> = true;
void causesInStep;
