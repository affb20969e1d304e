// A time-stamping authority on loopback: a node HTTP server that answers each RFC 3161 query with `openssl ts
// -reply` under a test CA. Options make the faults: a TSA that accepts no digest the probe sends (rejection), one
// whose clock is off (a fixed time source is not in `openssl ts`, so tests move the probe's clock instead).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issue, makeCa, opensslServer } from './ca.ts';

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
      const server = await opensslServer(dir, 'application/timestamp-reply', (q, a) => ['ts', '-reply', '-config', cnf, '-queryfile', q, '-out', a]);
      servers.add(server.http);
      return { url: `${server.url}tsa`, stop: () => (servers.delete(server.http), server.stop()) };
    },
    async close() {
      for (const s of servers) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
