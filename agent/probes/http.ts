// HTTP(S) GET with node:http/https (not fetch) so each phase can be timed from socket events.
// Phases, all in ms: dns_ms = lookup; connect_ms = TCP connect after lookup; tls_ms = handshake after
// connect; ttfb_ms = from the request being on the wire (connect/handshake done) to the response head;
// total_ms = start to end of body (up to MAX_BODY). A fresh connection each round (agent: false),
// or a reused socket would hide the connect/TLS cost the operator wants to see.
import nodeHttp from 'node:http';
import nodeHttps from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { HTTP_ERRORS, type HttpResult } from '../../config/wire.ts';
import { clip, type Probe, type TargetOf } from './types.ts';

export type HttpTarget = TargetOf<'http'>;
type HttpError = (typeof HTTP_ERRORS)[number];

/** Stop reading a body after this many bytes: enough to find a keyword, bounded memory. */
export const MAX_BODY = 1 << 20;

export interface HttpProbeOptions {
  /** extra trusted CA certificates (PEM), e.g. a province's internal CA; tests pass their own */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Accept certificates that do not verify (self-signed, expired, wrong name). Off by default: a
   * citizen's browser would show a warning on such a portal, so the agent reports error 'tls'.
   */
  insecureTls?: boolean;
  userAgent?: string;
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

export function createHttpProbe(opts: HttpProbeOptions = {}): Probe<HttpTarget> {
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

  return {
    kind: 'http',
    failure: (t, ts, m) => failure(t, ts, m, /^timeout/.test(m) ? 'timeout' : 'other'),
    run(target, ctx) {
      const ts = Date.now();
      let url: URL;
      try {
        url = new URL(target.url);
      } catch {
        return Promise.resolve(failure(target, ts, `invalid URL: ${target.url}`));
      }
      const transport = transports[url.protocol as keyof typeof transports];
      if (!transport) return Promise.resolve(failure(target, ts, `unsupported scheme ${url.protocol}`));
      // The probe enforces its own deadline too, so a direct call without a scheduler is bounded.
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(target.timeoutMs)]);
      const timing: { start: number; lookup?: number; connect?: number; secure?: number; response?: number } = {
        start: performance.now(),
      };
      const res: HttpResult = { target: target.id, ts, kind: 'http', ok: false, status: null, total_ms: null };

      return new Promise<HttpResult>((resolve) => {
        let settled = false;
        const finish = (patch: Partial<HttpResult>) => {
          if (settled) return;
          settled = true;
          if (timing.lookup !== undefined) res.dns_ms = r1(timing.lookup - timing.start);
          if (timing.connect !== undefined) res.connect_ms = r1(timing.connect - (timing.lookup ?? timing.start));
          if (timing.secure !== undefined && timing.connect !== undefined) res.tls_ms = r1(timing.secure - timing.connect);
          if (timing.response !== undefined) res.ttfb_ms = r1(timing.response - (timing.secure ?? timing.connect ?? timing.start));
          Object.assign(res, patch);
          if (res.detail) res.detail = clip(res.detail, 300);
          req.destroy();
          resolve(res);
        };
        const fail = (error: HttpError, detail: string) => finish({ ok: false, error, detail });

        const req = transport.request(url, {
          method: 'GET',
          agent: false,
          signal,
          headers: { 'user-agent': opts.userAgent ?? 'ioc-uptime-agent', accept: '*/*', connection: 'close' },
          ...(ctx.uplink?.sourceAddress ? { localAddress: ctx.uplink.sourceAddress } : {}),
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
            if (cert?.valid_to) {
              const end = Date.parse(cert.valid_to);
              if (Number.isFinite(end)) res.cert_days_left = Math.round(((end - Date.now()) / 86_400_000) * 100) / 100;
            }
            if (!tls.authorized && !opts.insecureTls) {
              // Destroyed before Node flushes the request: nothing is sent over an untrusted channel.
              fail('tls', `certificate not trusted: ${String(tls.authorizationError ?? 'unknown')}`);
            }
          });
        });

        req.on('response', (resp) => {
          timing.response = performance.now();
          const status = resp.statusCode ?? 0;
          res.status = status;
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () => {
            const total = r1(performance.now() - timing.start);
            if (!statusOk(status, target.expectStatus)) return finish({ total_ms: total, error: 'status', detail: `HTTP ${status}` });
            if (target.keyword !== undefined) {
              // Decoded once at the end so a multi-byte (Vietnamese) character split across chunks still matches.
              const body = Buffer.concat(chunks).toString('utf8');
              if (!body.includes(target.keyword))
                return finish({ total_ms: total, error: 'keyword', detail: `keyword not found in first ${size} bytes` });
            }
            finish({ ok: true, total_ms: total });
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
        req.end();
      });
    },
  };
}

export const http = createHttpProbe();
