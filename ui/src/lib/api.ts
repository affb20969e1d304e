// Same-origin fetch wrapper: sends the session cookie, parses JSON, turns `{error}` bodies into ApiError.
// `call` is what pages use: the route's contract (config/api.ts) builds the path and checks the answer, so a
// server of another version shows an error instead of a half-drawn page.
import { API, splitRoute, type ApiBody, type ApiResponse, type ApiRoute } from '../../../config/api.ts';
import { formatIssues } from '../../../config/wire.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler | null = null;
/** Called on any 401 except from the login/me endpoints themselves (the session expired mid-use). */
export function setUnauthorizedHandler(fn: UnauthorizedHandler | null): void {
  onUnauthorized = fn;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** don't call the global 401 handler (login form, session probe) */
  quiet401?: boolean;
}

/** The raw call under `call` (path in, JSON out, `{ error }` answers thrown as ApiError): prefer `call`. */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const init: RequestInit = {
    method: opts.method ?? 'GET',
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    signal: opts.signal ?? null,
  };
  if (opts.body !== undefined) {
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
    init.body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, (e as Error).message || 'network error');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, `invalid JSON from ${path}`);
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.quiet401) onUnauthorized?.();
    const msg =
      data && typeof data === 'object' && 'error' in data && typeof (data as { error: unknown }).error === 'string'
        ? (data as { error: string }).error
        : `HTTP ${res.status}`;
    throw new ApiError(res.status, msg);
  }
  return data as T;
}

type Query = string | URLSearchParams | Record<string, string | number | boolean | undefined>;

export interface CallOptions<K extends ApiRoute> {
  /** values for the route's `:name` segments */
  params?: Record<string, string>;
  query?: Query;
  body?: ApiBody<K>;
  signal?: AbortSignal;
  quiet401?: boolean;
}

function queryString(q: Query | undefined): string {
  if (q === undefined) return '';
  const s =
    typeof q === 'string' || q instanceof URLSearchParams
      ? String(q)
      : new URLSearchParams(Object.entries(q).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]]))).toString();
  return s ? `?${s}` : '';
}

/** One REST call by its contract key, e.g. `call('GET /api/incidents/:id', { params: { id } })`. */
export async function call<K extends ApiRoute>(key: K, opts: CallOptions<K> = {}): Promise<ApiResponse<K>> {
  const [method, pattern] = splitRoute(key);
  const path = pattern.replace(/:(\w+)/g, (_, name: string) => {
    const v = opts.params?.[name];
    if (v === undefined) throw new Error(`${key}: no value for :${name}`);
    return encodeURIComponent(v);
  });
  const data = await api<unknown>(path + queryString(opts.query), {
    method: method as RequestOptions['method'],
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.quiet401 ? { quiet401: true } : {}),
  });
  const schema = API[key].response;
  if (schema === null || typeof schema === 'string') return undefined as ApiResponse<K>;
  const r = schema.safeParse(data);
  if (!r.success) throw new ApiError(-1, `${key}: ${formatIssues(r.error.issues, 2)}`);
  return r.data as ApiResponse<K>;
}
