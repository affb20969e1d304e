// Who is on the other end of a request: its address and whether its connection is HTTPS. Forwarded headers are
// believed only from the configured proxies (server.trustProxy): anyone else could set them to dodge the throttle
// or to fake a secure connection.
import type { Context } from 'hono';

export interface Net {
  /** the client's address: the peer, or the last untrusted hop of X-Forwarded-For when the peer is a trusted proxy */
  address(c: Context): string;
  /** the browser's connection is HTTPS: served with TLS here, or a trusted proxy says X-Forwarded-Proto: https */
  https(c: Context): boolean;
}

export function peerOf(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return normalise(incoming?.socket?.remoteAddress ?? 'unknown');
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same client */
function normalise(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export function makeNet(o: { trustProxy: readonly string[]; tls: boolean }): Net {
  const trusted = new Set(o.trustProxy.map(normalise));
  return {
    address(c) {
      const peer = peerOf(c);
      if (!trusted.has(peer)) return peer;
      // walk back from the nearest hop: the first address not one of our proxies is the client
      const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((x) => normalise(x.trim())).filter(Boolean);
      for (let i = hops.length - 1; i >= 0; i--) if (!trusted.has(hops[i]!)) return hops[i]!;
      return hops[0] ?? peer;
    },
    https(c) {
      if (o.tls) return true;
      if (!trusted.has(peerOf(c))) return false;
      return (c.req.header('x-forwarded-proto') ?? '').split(',')[0]!.trim().toLowerCase() === 'https';
    },
  };
}
