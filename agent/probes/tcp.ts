// TCP: time to complete the three-way handshake to host:port (video-conference gateways, mail), then
// close. connect_ms excludes name resolution (timed from the socket's 'lookup' event when the host is
// a name), so a slow resolver does not read as a slow gateway. One address, one attempt: no happy
// eyeballs, whose parallel attempts would blur what was timed.
import net, { type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TcpResult } from '../../config/wire.ts';
import { deadline } from './deadline.ts';
import { sourceAddressFor } from './source.ts';
import { clip, type Probe, type TargetOf } from './types.ts';

export type TcpTarget = TargetOf<'tcp'>;

/** The first word of `error` is always one of these (what the status reason and Grafana group by). */
export const TCP_ERRORS = ['refused', 'timeout', 'unreachable', 'reset', 'dns', 'other'] as const;
type TcpError = (typeof TCP_ERRORS)[number];

const ERROR_BY_CODE: Record<string, TcpError> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  ECONNRESET: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NODATA: 'dns',
  EAI_NONAME: 'dns',
};

export interface TcpProbeOptions {
  /** name resolution for host names (default: the system's, as every other program on the PC) */
  lookup?: LookupFunction;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export function createTcpProbe(opts: TcpProbeOptions = {}): Probe<TcpTarget> {
  const failure = (target: TcpTarget, ts: number, message: string): TcpResult => ({
    target: target.id,
    ts,
    kind: 'tcp',
    ok: false,
    connect_ms: null,
    error: clip(/^timeout/.test(message) ? message : `other: ${message}`),
  });

  return {
    kind: 'tcp',
    failure,
    run(target, ctx) {
      const ts = Date.now();
      if (!(Number.isInteger(target.port) && target.port >= 1 && target.port <= 65535))
        return Promise.resolve(failure(target, ts, `invalid port ${target.port}`));
      const literal = net.isIP(target.host);
      const local = sourceAddressFor(ctx.uplink, literal === 6 ? 6 : 4);
      if (local instanceof Error) return Promise.resolve(failure(target, ts, local.message));
      const limit = deadline(ctx.signal, target.timeoutMs);
      const { signal } = limit;

      return new Promise<TcpResult>((resolve) => {
        const start = performance.now();
        let lookedUp: number | undefined;
        let settled = false;
        const finish = (r: TcpResult) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          limit.done();
          sock.destroy();
          resolve(r);
        };
        const fail = (reason: TcpError, detail?: string) =>
          finish({ target: target.id, ts, kind: 'tcp', ok: false, connect_ms: null, error: clip(detail ? `${reason}: ${detail}` : reason) });
        const onAbort = () => fail('timeout', `no connection within ${target.timeoutMs} ms`);

        const sock = net.connect({
          host: target.host,
          port: target.port,
          autoSelectFamily: false,
          // a source address fixes the family of the lookup too (a v4 source cannot reach a v6 address)
          ...(local ? { localAddress: local, family: net.isIP(local) } : {}),
          ...(opts.lookup ? { lookup: opts.lookup } : {}),
        });
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        sock.once('lookup', (err) => {
          if (!err) lookedUp = performance.now();
        });
        sock.once('connect', () => {
          const at = performance.now();
          finish({ target: target.id, ts, kind: 'tcp', ok: true, connect_ms: r2(at - (lookedUp ?? start)) });
        });
        sock.once('error', (e: NodeJS.ErrnoException) => {
          const reason = (e.code && ERROR_BY_CODE[e.code]) || 'other';
          fail(reason, e.code ?? e.message);
        });
      });
    },
  };
}

export const tcp = createTcpProbe();
