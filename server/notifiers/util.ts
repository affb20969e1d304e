// Helpers shared by the channel files: secrets from the environment, and JSON-over-HTTP errors.
import type { SecretRef } from '../../config/schema.ts';
import { ConfigError } from '../../config/errors.ts';
import { httpError, NotifierError } from './types.ts';

/** The one config error type, under the name the notifier tests know. */
export { ConfigError as NotifyConfigError };

// `{ env: NAME }` secrets are read once, when the channel is built at start, so a missing variable
// stops the server naming the field instead of failing at the first outage.
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv, path: string): string {
  if (typeof ref === 'string') return ref;
  const v = env[ref.env];
  if (v === undefined || v === '') throw new ConfigError('notifications', [`${path}: environment variable ${ref.env} is not set`]);
  return v;
}

/** An error's message plus its cause's (fetch hides ECONNREFUSED in `cause`). */
export function describe(e: unknown): string {
  if (e instanceof Error) {
    const c = (e as { cause?: unknown }).cause;
    const inner = c instanceof Error ? c.message : '';
    return inner && !e.message.includes(inner) ? `${e.message} (${inner})` : e.message;
  }
  return String(e);
}

/** Retry-After in seconds (the HTTP-date form is rare for these APIs and ignored). */
export function retryAfterMs(res: Response): number | undefined {
  const v = Number(res.headers.get('retry-after'));
  return Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
}

/** POST a body; network errors and non-2xx become NotifierError. Returns the response text. */
export async function post(
  label: string,
  url: string,
  init: { headers: Record<string, string>; body: string; signal: AbortSignal },
): Promise<{ status: number; text: string; res: Response }> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', redirect: 'error', ...init });
  } catch (e) {
    throw new NotifierError(`${label}: ${describe(e)}`, { cause: e });
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    throw new NotifierError(`${label}: reading the response: ${describe(e)}`, { cause: e });
  }
  if (!res.ok) throw httpError(label, res.status, text, retryAfterMs(res));
  return { status: res.status, text, res };
}

/** Parse a JSON API answer; a 2xx that is not JSON is a failure (a proxy's HTML page, say). */
export function parseJson(label: string, text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new NotifierError(`${label}: expected a JSON object, got ${JSON.stringify(text.slice(0, 120))}`);
}

/** Cut to the API's limit, marking the cut. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}
