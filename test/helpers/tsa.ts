// A time-stamping authority on loopback: a node HTTP server that answers each RFC 3161 query with `openssl ts
// -reply` under a test CA. Options make the faults: a TSA that accepts no digest the probe sends (rejection), one
// whose clock is off (a fixed time source is not in `openssl ts`, so tests move the probe's clock instead).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issue, makeCa, openssl } from './ca.ts';

export interface TestTsa {
  /** the TSA's CA certificate, PEM */
  caPem: string;
  /** a CA that did not issue the TSA's certificate */
  otherCaPem: string;
  /** start a TSA; `digests` it accepts (openssl's names), default sha256, sha384, sha512 */
  start(opts?: { digests?: string[] }): Promise<{ url: string; stop(): void }>;
  close(): Promise<void>;
}

export async function startTestTsa(): Promise<TestTsa> {
  const dir = mkdtempSync(join(tmpdir(), 'ioc-tsa-'));
  const ca = await makeCa(dir, 'tsaca', 'Test TSA CA');
  const other = await makeCa(dir, 'other', 'Other CA');
  const signer = await issue(dir, ca, 'tsa', 'Test TSA', 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature', '3001', true);
  writeFileSync(join(dir, 'tsaserial'), '01\n');
  const servers = new Set<http.Server>();
  let n = 0;
  return {
    caPem: readFileSync(ca.cert, 'utf8'),
    otherCaPem: readFileSync(other.cert, 'utf8'),
    async start({ digests = ['sha256', 'sha384', 'sha512'] } = {}) {
      const cnf = join(dir, `tsa${++n}.cnf`);
      writeFileSync(cnf, [
        '[tsa]', 'default_tsa = t', '[t]', `serial = ${join(dir, 'tsaserial')}`, `signer_cert = ${signer.cert}`, `certs = ${ca.cert}`,
        `signer_key = ${signer.key}`, 'signer_digest = sha256', 'default_policy = 1.2.3.4.1', `digests = ${digests.join(', ')}`,
        'accuracy = secs:1', 'ordering = no', 'tsa_name = yes', 'ess_cert_id_alg = sha256', '',
      ].join('\n'));
      const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const id = `${n}-${Math.random().toString(36).slice(2)}`;
          const q = join(dir, `q${id}.tsq`), a = join(dir, `a${id}.tsr`);
          writeFileSync(q, Buffer.concat(chunks));
          openssl(['ts', '-reply', '-config', cnf, '-queryfile', q, '-out', a], dir).then(
            () => {
              res.setHeader('content-type', 'application/timestamp-reply');
              res.end(readFileSync(a));
            },
            (e: Error) => {
              res.statusCode = 500;
              res.end(e.message);
            },
          );
        });
      });
      servers.add(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`,
        stop: () => {
          servers.delete(server);
          server.closeAllConnections();
          server.close();
        },
      };
    },
    async close() {
      for (const s of servers) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
