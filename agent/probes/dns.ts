// DNS: one A/AAAA query over UDP to the configured resolver, with the packet built and parsed here.
// Why not node:dns Resolver: c-ares folds rcodes into a few error codes (SERVFAIL and REFUSED both
// come back as ESERVFAIL/EREFUSED only on some versions, NOERROR-without-data as ENODATA), retries and
// rotates servers on its own, and gives no time of its own; here the rcode is the byte on the wire and
// total_ms is from the query leaving the socket to the matching answer arriving.
//
// One query, no retry: a monitor wants "did this resolver answer within the timeout", and a lost
// packet is what the commune's users see too (their stub waits seconds before retrying).
// ok = NOERROR with at least one record of the asked type (a CNAME alone does not resolve the name).
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { domainToASCII } from 'node:url';
import type { DnsResult } from '../../config/wire.ts';
import { deadline } from './deadline.ts';
import { sourceAddressFor, type Family } from './source.ts';
import { clip, type Probe, type TargetOf } from './types.ts';

export type DnsTarget = TargetOf<'dns'>;

export const QTYPE = { A: 1, AAAA: 28 } as const satisfies Record<DnsTarget['recordType'], number>;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
export const rcodeName = (n: number) => RCODES[n] ?? `RCODE${n}`;

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` -> address, port, family; null when not an IP literal. */
export function parseResolver(s: string): { address: string; port: number; family: Family } | null {
  const str = s.trim();
  let address = str;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(str);
  const v4 = /^([\d.]+):(\d+)$/.exec(str);
  if (v6) [address, port] = [v6[1]!, v6[2] ? Number(v6[2]) : 53];
  else if (v4) [address, port] = [v4[1]!, Number(v4[2])];
  const family = isIP(address);
  if (family === 0 || !(port >= 1 && port <= 65535)) return null;
  return { address, port, family: family as Family };
}

/** Name -> wire labels (IDN names to punycode); throws on a name DNS cannot carry. */
export function encodeName(name: string): Buffer {
  const ascii = domainToASCII(name.trim().replace(/\.$/, ''));
  if (!ascii || ascii.length > 253) throw new Error(`invalid query name "${name}"`);
  const parts: Buffer[] = [];
  for (const label of ascii.split('.')) {
    if (label.length < 1 || label.length > 63) throw new Error(`invalid query name "${name}"`);
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'ascii'));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** A standard recursive query: header (RD set), one question, class IN. */
export function encodeQuery(id: number, name: string, type: keyof typeof QTYPE): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(QTYPE[type], 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Read a (possibly compressed) name at `off`; returns it lower-cased and the offset after it in place. */
function readName(buf: Buffer, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = off;
  let next = -1;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw new RangeError('name past end');
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length || ++jumps > 32) throw new RangeError('bad compression pointer');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0 || pos + 1 + len > buf.length) throw new RangeError('bad label');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

export interface DecodedAnswer {
  rcode: string;
  /** records of the asked type and class IN in the answer section (CNAMEs on the way not counted) */
  answers: number;
  truncated: boolean;
}

/**
 * Decode a response to our query. Returns null when the packet is not an answer to it (other id,
 * other question: a stale or spoofed reply, to be ignored); throws on a malformed packet.
 */
export function decodeResponse(buf: Buffer, id: number, name: string, type: keyof typeof QTYPE): DecodedAnswer | null {
  if (buf.length < 12) throw new RangeError('short header');
  if (buf.readUInt16BE(0) !== id) return null;
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return null; // a query, not a response
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const want = domainToASCII(name.trim().replace(/\.$/, '')).toLowerCase();
  let off = 12;
  let matched = qd === 0; // some servers omit the question in error replies
  for (let i = 0; i < qd; i++) {
    const q = readName(buf, off);
    if (q.next + 4 > buf.length) throw new RangeError('question past end');
    if (q.name === want && buf.readUInt16BE(q.next) === QTYPE[type]) matched = true;
    off = q.next + 4;
  }
  if (!matched) return null;
  let answers = 0;
  for (let i = 0; i < an; i++) {
    const rr = readName(buf, off);
    if (rr.next + 10 > buf.length) throw new RangeError('record past end');
    const rtype = buf.readUInt16BE(rr.next);
    const rclass = buf.readUInt16BE(rr.next + 2);
    const rdlen = buf.readUInt16BE(rr.next + 8);
    off = rr.next + 10 + rdlen;
    if (off > buf.length) throw new RangeError('rdata past end');
    if (rtype === QTYPE[type] && rclass === 1) answers++;
  }
  return { rcode: rcodeName(flags & 0x0f), answers, truncated: (flags & 0x0200) !== 0 };
}

// Socket errors on a connected UDP socket (ICMP errors come back as these) -> rcode-like words.
const NET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'UNREACHABLE', // ICMP port unreachable: nothing listens on the resolver's port
  EHOSTUNREACH: 'UNREACHABLE',
  ENETUNREACH: 'UNREACHABLE',
  EHOSTDOWN: 'UNREACHABLE',
};

const r2 = (x: number) => Math.round(x * 100) / 100;

export function createDnsProbe(): Probe<DnsTarget> {
  const failure = (target: DnsTarget, ts: number, message: string, rcode = /^timeout/.test(message) ? 'TIMEOUT' : 'ERROR'): DnsResult => ({
    target: target.id,
    ts,
    kind: 'dns',
    ok: false,
    total_ms: null,
    answers: 0,
    rcode,
    error: clip(message),
  });

  return {
    kind: 'dns',
    failure,
    run(target, ctx) {
      const ts = Date.now();
      const resolver = parseResolver(target.resolver);
      if (!resolver) return Promise.resolve(failure(target, ts, `resolver must be an IP address[:port], got "${target.resolver}"`));
      let query: Buffer;
      const id = randomInt(0x10000);
      try {
        query = encodeQuery(id, target.query, target.recordType);
      } catch (e) {
        return Promise.resolve(failure(target, ts, (e as Error).message));
      }
      const local = sourceAddressFor(ctx.uplink, resolver.family);
      if (local instanceof Error) return Promise.resolve(failure(target, ts, local.message));
      const limit = deadline(ctx.signal, target.timeoutMs);
      const { signal } = limit;

      return new Promise<DnsResult>((resolve) => {
        const sock = dgram.createSocket(resolver.family === 6 ? 'udp6' : 'udp4');
        let sentAt = 0;
        let settled = false;
        let malformed: string | undefined;
        const finish = (r: DnsResult) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          limit.done();
          try {
            sock.close();
          } catch {
            /* already closed */
          }
          resolve(r);
        };
        const onAbort = () =>
          finish(
            malformed
              ? failure(target, ts, `malformed reply: ${malformed}`, 'MALFORMED')
              : failure(target, ts, `timeout: no answer from ${target.resolver} within ${target.timeoutMs} ms`, 'TIMEOUT'),
          );
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });

        sock.on('error', (e: NodeJS.ErrnoException) => {
          const word = (e.code && NET_ERRORS[e.code]) || 'ERROR';
          finish(failure(target, ts, `${word.toLowerCase()}: ${e.code ?? ''} ${e.message}`.trim(), word));
        });
        sock.on('message', (msg) => {
          const at = performance.now();
          let d: DecodedAnswer | null;
          try {
            d = decodeResponse(msg, id, target.query, target.recordType);
          } catch (e) {
            malformed = (e as Error).message; // keep waiting: the real answer may still come
            return;
          }
          if (!d) return;
          const ok = d.rcode === 'NOERROR' && d.answers > 0;
          const r: DnsResult = { target: target.id, ts, kind: 'dns', ok, total_ms: r2(at - sentAt), answers: d.answers, rcode: d.rcode };
          if (!ok) {
            r.error =
              d.rcode !== 'NOERROR'
                ? `rcode ${d.rcode}`
                : d.truncated
                  ? 'truncated reply without records (TCP fallback not supported)'
                  : `no ${target.recordType} record`;
          }
          finish(r);
        });
        // Connected socket: the kernel drops datagrams from any other address, and ICMP errors
        // (port unreachable) surface as socket errors instead of a silent timeout.
        sock.bind({ port: 0, ...(local ? { address: local } : {}), exclusive: true }, () => {
          if (settled) return;
          sock.connect(resolver.port, resolver.address, () => {
            if (settled) return;
            sentAt = performance.now();
            sock.send(query, (err) => err && sock.emit('error', err));
          });
        });
      });
    },
  };
}

export const dns = createDnsProbe();
