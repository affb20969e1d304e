// HTTP(S) GET with node:http/https (not fetch) so each phase can be timed from socket events.
// Phases of a hop, all in ms: dns_ms = lookup; connect_ms = TCP connect after lookup; tls_ms = handshake
// after connect; ttfb_ms = from the request being on the wire (connect/handshake done) to the response
// head; so a server that thinks for 2 s shows in ttfb_ms, never in connect_ms. A fresh connection each
// round (agent: false): a reused socket would hide the connect/TLS cost the operator wants to see.
//
// Redirects (301/302/303/307/308 with a Location) are followed up to `maxRedirects` (default 5), unless
// the target's expectStatus lists that status (then the redirect itself is the expected answer).
// Reported: dns/connect/tls/ttfb of the FINAL hop (the page the citizen lands on), total_ms over ALL
// hops from the first byte sent to the final body (what the citizen waits), `redirects` = hops followed,
// certificate days left / issuer of the last HTTPS hop. A URL seen twice, or more hops than the limit,
// is error 'other' with the chain in `detail`.
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import nodeHttp from 'node:http';
import nodeHttps from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { HTTP_ERRORS, type HttpResult } from '../../config/wire.ts';
import { deadline } from './deadline.ts';
import { sourceAddressFor } from './source.ts';
import { clip, type Probe, type TargetOf } from './types.ts';

export type HttpTarget = TargetOf<'http'>;
type HttpError = (typeof HTTP_ERRORS)[number];

/** Stop reading a body after this many bytes: enough to find a keyword, bounded memory. */
export const MAX_BODY = 1 << 20;
export const REDIRECT_STATUSES: readonly number[] = [301, 302, 303, 307, 308];

export interface HttpProbeOptions {
  /** extra trusted CA certificates (PEM), e.g. a province's internal CA; tests pass their own */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Accept certificates that do not verify (self-signed, expired, wrong name). Off by default: a
   * citizen's browser would show a warning on such a portal, so the agent reports error 'tls'.
   */
  insecureTls?: boolean;
  userAgent?: string;
  /** redirects followed before giving up with error 'other' (default 5, 0 = never follow) */
  maxRedirects?: number;
  /** name resolution (default: the system's, like the browsers on the same PC) */
  lookup?: LookupFunction;
}

const transports = { 'http:': nodeHttp, 'https:': nodeHttps } satisfies Record<string, { request: typeof nodeHttp.request }>;

// Node error codes -> wire reasons. Anything not listed is 'other' with the code in `detail`.
const ERROR_BY_CODE: Record<string, HttpError> = {
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NODATA: 'dns',
  EAI_NONAME: 'dns',
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  ABORT_ERR: 'timeout',
  ETIMEDOUT: 'timeout',
  EPROTO: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
};
export function classifyError(err: unknown): HttpError {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') {
    const hit = ERROR_BY_CODE[code];
    if (hit) return hit;
    if (/^(ERR_TLS_|ERR_SSL_|CERT_)/.test(code)) return 'tls';
  }
  return (err as { name?: unknown })?.name === 'AbortError' ? 'timeout' : 'other';
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export function statusOk(status: number, expect?: readonly number[]): boolean {
  return expect && expect.length > 0 ? expect.includes(status) : status >= 200 && status < 400;
}

/** "CN=R10, O=Let's Encrypt, C=US" from a certificate's issuer (fields may repeat: arrays). */
export function formatIssuer(issuer: PeerCertificate['issuer'] | undefined): string | undefined {
  if (!issuer) return undefined;
  const parts: string[] = [];
  for (const key of ['CN', 'O', 'C'] as const) {
    const v = (issuer as unknown as Record<string, string | string[] | undefined>)[key];
    for (const x of Array.isArray(v) ? v : v ? [v] : []) parts.push(`${key}=${x}`);
  }
  return parts.length > 0 ? clip(parts.join(', ')) : undefined;
}

interface Timing {
  start: number;
  lookup?: number;
  connect?: number;
  secure?: number;
  response?: number;
}
interface Cert {
  daysLeft?: number;
  issuer?: string;
}
/** One request/response. `redirect` set when the answer is a redirect to follow (body not read). */
interface Hop {
  timing: Timing;
  status: number | null;
  cert?: Cert;
  redirect?: string;
  /** when the final body was read (or the hop failed) */
  end: number;
  error?: HttpError;
  detail?: string;
}

export function createHttpProbe(opts: HttpProbeOptions = {}): Probe<HttpTarget> {
  const maxRedirects = Math.max(0, opts.maxRedirects ?? 5);
  const failure = (target: HttpTarget, ts: number, message: string, error: HttpError = 'other'): HttpResult => ({
    target: target.id,
    ts,
    kind: 'http',
    ok: false,
    status: null,
    total_ms: null,
    error,
    detail: clip(message, 300),
  });

  /** One hop to `url`. Never rejects. */
  function hop(url: URL, target: HttpTarget, signal: AbortSignal, local: string | undefined): Promise<Hop> {
    const transport = transports[url.protocol as keyof typeof transports];
    const timing: Timing = { start: performance.now() };
    if (!transport) return Promise.resolve({ timing, status: null, end: timing.start, error: 'other', detail: `unsupported scheme ${url.protocol}` });
    const out: Hop = { timing, status: null, end: 0 };

    return new Promise<Hop>((resolve) => {
      let settled = false;
      const finish = (patch: Partial<Hop>) => {
        if (settled) return;
        settled = true;
        Object.assign(out, patch);
        out.end = performance.now();
        req.destroy();
        resolve(out);
      };
      const fail = (error: HttpError, detail: string) => finish({ error, detail });

      const req = transport.request(url, {
        method: 'GET',
        agent: false,
        signal,
        headers: { 'user-agent': opts.userAgent ?? 'ioc-uptime-agent', accept: '*/*', connection: 'close' },
        ...(local ? { localAddress: local, family: isIP(local) } : {}),
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
        // Verification is done below on 'secureConnect' instead of by Node, so a bad certificate is
        // still measured (handshake time, days left) and reported as 'tls' rather than a bare error.
        rejectUnauthorized: false,
        ...(opts.ca ? { ca: opts.ca } : {}),
      });

      req.on('socket', (socket: Socket) => {
        socket.once('lookup', () => (timing.lookup = performance.now()));
        socket.once('connect', () => (timing.connect = performance.now()));
        socket.once('secureConnect', () => {
          timing.secure = performance.now();
          const tls = socket as TLSSocket;
          const cert = tls.getPeerCertificate();
          out.cert = {};
          if (cert?.valid_to) {
            const end = Date.parse(cert.valid_to);
            if (Number.isFinite(end)) out.cert.daysLeft = Math.round(((end - Date.now()) / 86_400_000) * 100) / 100;
          }
          const issuer = formatIssuer(cert?.issuer);
          if (issuer) out.cert.issuer = issuer;
          if (!tls.authorized && !opts.insecureTls) {
            // Destroyed before Node flushes the request: nothing is sent over an untrusted channel.
            fail('tls', `certificate not trusted: ${String(tls.authorizationError ?? 'unknown')}`);
          }
        });
      });

      req.on('response', (resp) => {
        timing.response = performance.now();
        const status = resp.statusCode ?? 0;
        out.status = status;
        const location = resp.headers.location;
        if (REDIRECT_STATUSES.includes(status) && location && !target.expectStatus?.includes(status)) {
          // The redirect's body is not wanted; the connection is closed by finish().
          return finish({ redirect: location });
        }
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          if (!statusOk(status, target.expectStatus)) return finish({ error: 'status', detail: `HTTP ${status}` });
          if (target.keyword !== undefined) {
            // Decoded once at the end so a multi-byte (Vietnamese) character split across chunks still matches.
            const body = Buffer.concat(chunks).toString('utf8');
            if (!body.includes(target.keyword)) return finish({ error: 'keyword', detail: `keyword not found in first ${size} bytes` });
          }
          finish({});
        };
        resp.on('data', (chunk: Buffer) => {
          if (settled) return;
          const part = chunk.length > MAX_BODY - size ? chunk.subarray(0, MAX_BODY - size) : chunk;
          if (target.keyword !== undefined) chunks.push(part);
          size += part.length;
          if (size >= MAX_BODY) done();
        });
        resp.on('end', done);
        resp.on('error', (e) => fail(classifyError(e), e.message));
        // A server that closes mid-body: 'aborted' then 'close' without 'end'.
        resp.on('close', () => {
          if (!resp.complete && !settled) fail(signal.aborted ? 'timeout' : 'reset', 'connection closed before the body ended');
        });
      });

      req.on('error', (e: Error & { code?: string }) => {
        if (signal.aborted) return fail('timeout', `no complete answer within ${target.timeoutMs} ms`);
        fail(classifyError(e), e.code ? `${e.code}: ${e.message}` : e.message);
      });
      // The deadline holds even when the socket never reports the abort as an error (seen under heavy load):
      // settle on the signal itself.
      const onAbort = () => fail('timeout', `no complete answer within ${target.timeoutMs} ms`);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal.removeEventListener('abort', onAbort));
      req.end();
    });
  }

  return {
    kind: 'http',
    failure: (t, ts, m) => failure(t, ts, m, /^timeout/.test(m) ? 'timeout' : 'other'),
    async run(target, ctx) {
      const ts = Date.now();
      let url: URL;
      try {
        url = new URL(target.url);
      } catch {
        return failure(target, ts, `invalid URL: ${target.url}`);
      }
      // The probe enforces its own deadline too, so a direct call without a scheduler is bounded;
      // the deadline covers the whole chain of redirects.
      const limit = deadline(ctx.signal, target.timeoutMs);
      try {
        const { signal } = limit;
        const chain = [url.href];
        let first: number | undefined;
        let cert: Cert | undefined;
        for (;;) {
          const isV6 = isIP(url.hostname.replace(/^\[|\]$/g, '')) === 6;
          const local = sourceAddressFor(ctx.uplink, isV6 ? 6 : 4);
          if (local instanceof Error) return failure(target, ts, local.message);
          const h = await hop(url, target, signal, local);
          first ??= h.timing.start;
          if (h.cert) cert = h.cert;

          const res: HttpResult = { target: target.id, ts, kind: 'http', ok: false, status: h.status, total_ms: null };
          const t = h.timing;
          if (t.lookup !== undefined) res.dns_ms = r1(t.lookup - t.start);
          if (t.connect !== undefined) res.connect_ms = r1(t.connect - (t.lookup ?? t.start));
          if (t.secure !== undefined && t.connect !== undefined) res.tls_ms = r1(t.secure - t.connect);
          if (t.response !== undefined) res.ttfb_ms = r1(t.response - (t.secure ?? t.connect ?? t.start));
          if (cert?.daysLeft !== undefined) res.cert_days_left = cert.daysLeft;
          if (cert?.issuer !== undefined) res.cert_issuer = cert.issuer;
          if (chain.length > 1) res.redirects = chain.length - 1;
          const total = () => r1(h.end - first!);

          if (h.error) {
            // A body (or an error status) was received: the round took that long. A connection that
            // never completed has no meaningful total.
            if (h.status !== null) res.total_ms = total();
            return { ...res, error: h.error, detail: clip(h.detail ?? h.error, 300) };
          }
          if (h.redirect === undefined) return { ...res, ok: true, total_ms: total() };

          let next: URL;
          try {
            next = new URL(h.redirect, url);
          } catch {
            return { ...res, total_ms: total(), error: 'other', detail: clip(`HTTP ${h.status} to an invalid Location: ${h.redirect}`, 300) };
          }
          const show = () => [...chain, next.href].join(' -> ');
          if (chain.includes(next.href)) return { ...res, total_ms: total(), error: 'other', detail: clip(`redirect loop: ${show()}`, 300) };
          if (chain.length > maxRedirects)
            return { ...res, total_ms: total(), error: 'other', detail: clip(`more than ${maxRedirects} redirects: ${show()}`, 300) };
          chain.push(next.href);
          url = next;
        }
      } finally {
        limit.done();
      }
    },
  };
}

export const http = createHttpProbe();
