// HTTP transport of the PKI probes (ocsp, tsa): one request, body bounded, bound to the uplink's source address,
// failures sorted into the probes' first error words. A CA's responders are plain HTTP by design (RFC 6960 A.1,
// RFC 3161 3.4): the answers are signed, so transport security adds nothing the probes rely on.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { PlanUplink } from '../../config/wire.ts';
import { sourceAddressFor } from './source.ts';

export type FetchOutcome =
  | { ok: true; body: Buffer; ms: number; contentType: string }
  | { ok: false; error: string; ms: number | null };

const ERROR_BY_CODE: Record<string, string> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  ECONNRESET: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
};

/** CRLs of big CAs run to megabytes; anything past this is not an answer the probe can use. */
export const MAX_BODY = 32 * 1024 * 1024;

export function fetchDer(
  url: string,
  opts: { body?: Uint8Array; contentType?: string; accept: string; signal: AbortSignal; uplink?: PlanUplink; maxBytes?: number },
): Promise<FetchOutcome> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, error: `other: bad URL ${url}`, ms: null });
  }
  const local = sourceAddressFor(opts.uplink, isIP(u.hostname.replace(/^\[|\]$/g, '')) === 6 ? 6 : 4);
  if (local instanceof Error) return Promise.resolve({ ok: false, error: `uplink: ${local.message}`, ms: null });
  const transport = u.protocol === 'https:' ? https : http;
  const max = opts.maxBytes ?? MAX_BODY;
  return new Promise((resolve) => {
    const start = performance.now();
    let settled = false;
    const done = (r: FetchOutcome) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(r);
    };
    const onAbort = () => done({ ok: false, error: 'timeout', ms: null });
    const req = transport.request(u, {
      method: opts.body ? 'POST' : 'GET',
      headers: {
        accept: opts.accept,
        ...(opts.body ? { 'content-type': opts.contentType ?? 'application/octet-stream', 'content-length': String(opts.body.byteLength) } : {}),
      },
      ...(local ? { localAddress: local, family: isIP(local) } : {}),
    });
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    req.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: `${(e.code && ERROR_BY_CODE[e.code]) || 'other'}: ${e.code ?? e.message}`, ms: null }));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) return done({ ok: false, error: `malformed: answer larger than ${max} bytes`, ms: null });
        chunks.push(c);
      });
      res.once('error', (e) => done({ ok: false, error: `reset: ${e.message}`, ms: null }));
      res.once('end', () => {
        const ms = Math.round((performance.now() - start) * 100) / 100;
        if ((res.statusCode ?? 0) !== 200) return done({ ok: false, error: `http: status ${res.statusCode}`, ms });
        done({ ok: true, body: Buffer.concat(chunks), ms, contentType: String(res.headers['content-type'] ?? '') });
      });
    });
    req.end(opts.body ? Buffer.from(opts.body.buffer, opts.body.byteOffset, opts.body.byteLength) : undefined);
  });
}

/** DER bytes of each certificate in a PEM text. */
export function pemToDer(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)) out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

/** An ArrayBuffer holding exactly these bytes (asn1js wants a whole buffer). */
export const ab = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
