// What every request passes before a route: security headers on every answer, a same-origin check and a JSON body
// for anything that changes state, and a size limit on every body. The UI is built without inline scripts, so the
// Content-Security-Policy allows scripts and stylesheets from this origin only.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import type { Net } from './net.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
/** the login body is two short strings: nothing larger is read before the password is checked */
export const LOGIN_BODY_BYTES = 4096;

export function securityHeaders(net: Net): MiddlewareHandler {
  const headers = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      // Stylesheets from this origin only: the UI sets element styles through CSSOM (Svelte style: directives,
      // uPlot's element.style), which the policy does not restrict; inline <style> and style="" are refused.
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      workerSrc: ["'self'", 'blob:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    referrerPolicy: 'same-origin',
    xFrameOptions: 'DENY',
    // HSTS only over HTTPS (below): sent over plain HTTP it would be ignored, and a lab run over http must keep working
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: false,
  });
  return async (c, next) => {
    await headers(c, async () => {
      await next();
    });
    if (net.https(c)) c.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  };
}

/**
 * The origins a browser may send state-changing requests and live-feed upgrades from: this server's own (as the
 * browser addressed it) and the configured ones. Requests without `Origin` (scripts, agents, API tokens) pass: a
 * browser always sends it on a cross-site POST and on every WebSocket handshake.
 */
export function originAllowed(c: Context, allowed: ReadonlySet<string>): boolean {
  const origin = c.req.header('origin');
  if (origin === undefined) return c.req.header('sec-fetch-site') !== 'cross-site';
  if (allowed.has(origin)) return true;
  try {
    return new URL(origin).host === c.req.header('host');
  } catch {
    return false;
  }
}

export function allowedOrigins(list: readonly (string | undefined)[]): Set<string> {
  return new Set(list.filter((x): x is string => !!x).map((u) => new URL(u).origin));
}

/** Cross-site forgeries and non-JSON bodies on state-changing requests are refused (403 / 415). */
export function sameOriginWrites(allowed: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE.has(c.req.method)) return next();
    if (!originAllowed(c, allowed)) return c.json({ error: 'cross-origin request refused' }, 403);
    const type = c.req.header('content-type');
    // A form or text/plain body is what a forged cross-site request can send without a preflight; only a browser
    // (it sends cookies or Origin) can be made to send one. Scripts without a session may leave the type out.
    const browser = c.req.header('cookie') !== undefined || c.req.header('origin') !== undefined;
    if (browser && type !== undefined && !/^application\/json\b/i.test(type)) return c.json({ error: 'expected Content-Type: application/json' }, 415);
    return next();
  };
}

/** 413 past `maxBytes`, before the body is read (Content-Length) or as soon as a streamed body passes it. */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({ maxSize: maxBytes, onError: (c) => c.json({ error: `request body larger than ${maxBytes} bytes` }, 413) });
}
