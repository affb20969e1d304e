// A test certificate authority with real OpenSSL services on loopback: an `openssl ocsp` responder (one-shot per request) (signed by a
// delegated responder certificate, by the CA itself, or by another CA's for a bad signature) over an index with good and revoked
// serials, and the CA's CRL served over HTTP. Everything lives in a temp dir removed by close().
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const openssl = (args: string[], cwd: string) => run('openssl', args, { cwd });

/** serials in the index: good is issued and valid, revoked is revoked; anything else the responder does not know */
export const SERIALS = { good: '1001', revoked: '1002', unknown: '10ff' } as const;

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let requests = 0;

/**
 * A loopback HTTP server answering each POSTed DER request with what `openssl <args(queryFile, answerFile)>` writes
 * (500 with openssl's message when it fails).
 */
export async function opensslServer(dir: string, contentType: string, args: (query: string, answer: string) => string[]) {
  const http_ = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const q = join(dir, `q${++requests}.der`), a = join(dir, `a${requests}.der`);
      writeFileSync(q, Buffer.concat(chunks));
      openssl(args(q, a), dir).then(
        () => {
          res.setHeader('content-type', contentType);
          res.end(readFileSync(a));
        },
        (e: Error) => {
          res.statusCode = 500;
          res.end(e.message);
        },
      );
    });
  });
  await new Promise<void>((r) => http_.listen(0, '127.0.0.1', r));
  return {
    http: http_,
    url: `http://127.0.0.1:${(http_.address() as AddressInfo).port}/`,
    stop() {
      http_.closeAllConnections();
      http_.close();
    },
  };
}

/** A self-signed CA (RSA, as the CAs signing uses) with a key in `dir`. */
export async function makeCa(dir: string, name: string, cn: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`), key = join(dir, `${name}.key`);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/C=VN/O=Test CA/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], dir);
  return { cert, key };
}

/** A certificate issued by `ca` with the given extensions (file with an [ext] section). */
export async function issue(dir: string, ca: { cert: string; key: string }, name: string, cn: string, ext: string, serial: string, ecdsa = false) {
  const key = join(dir, `${name}.key`), csr = join(dir, `${name}.csr`), cert = join(dir, `${name}.pem`), extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `[ext]\n${ext}\n`);
  await openssl(['req', '-newkey', ecdsa ? 'ec' : 'rsa:2048', ...(ecdsa ? ['-pkeyopt', 'ec_paramgen_curve:P-256'] : []), '-nodes', '-keyout', key, '-out', csr, '-subj', `/C=VN/O=Test CA/CN=${cn}`], dir);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${serial}`, '-days', '30', '-out', cert, '-extfile', extFile, '-extensions', 'ext'], dir);
  return { cert, key };
}

export interface TestCa {
  dir: string;
  /** the issuer certificate, PEM */
  caPem: string;
  /** a CA that has nothing to do with the responder's answers */
  otherCaPem: string;
  crlUrl: string;
  /** start an OCSP responder; `signer` 'delegated' (the usual), 'ca' (the CA's own key) or 'foreign' (another CA's) */
  responder(opts?: { signer?: 'delegated' | 'ca' | 'foreign'; ndays?: number }): Promise<{ url: string; stop(): void }>;
  close(): Promise<void>;
}

export async function startTestCa(): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), 'ioc-ca-'));
  const ca = await makeCa(dir, 'ca', 'Test Signing CA');
  const other = await makeCa(dir, 'other', 'Other CA');
  const delegated = await issue(dir, ca, 'responder', 'Test OCSP Responder', 'extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature', '2001');
  const foreign = await issue(dir, other, 'foreign', 'Foreign Responder', 'extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature', '2002');
  const exp = '301231235959Z';
  const revokedAt = '250101000000Z';
  writeFileSync(join(dir, 'index.txt'),
    `V\t${exp}\t\t${SERIALS.good.toUpperCase()}\tunknown\t/C=VN/O=Test/CN=Good Signer\n` +
    `R\t${exp}\t${revokedAt},keyCompromise\t${SERIALS.revoked.toUpperCase()}\tunknown\t/C=VN/O=Test/CN=Revoked Signer\n`);
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = test', '[test]', `database = ${join(dir, 'index.txt')}`, `crlnumber = ${join(dir, 'crlnumber')}`,
    `certificate = ${ca.cert}`, `private_key = ${ca.key}`, 'default_md = sha256', 'default_crl_days = 1', '',
  ].join('\n'));
  await openssl(['ca', '-config', join(dir, 'ca.cnf'), '-gencrl', '-out', join(dir, 'crl.pem')], dir);
  await openssl(['crl', '-in', join(dir, 'crl.pem'), '-outform', 'DER', '-out', join(dir, 'crl.der')], dir);
  const crl = readFileSync(join(dir, 'crl.der'));

  const crlServer = http.createServer((req, res) => {
    if (req.url === '/ca.crl') {
      res.setHeader('content-type', 'application/pkix-crl');
      res.end(crl);
    } else if (req.url === '/garbage.crl') res.end('not a CRL');
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
  const crlPort = (crlServer.address() as AddressInfo).port;

  const servers = new Set<http.Server>();
  return {
    dir,
    caPem: readFileSync(ca.cert, 'utf8'),
    otherCaPem: readFileSync(other.cert, 'utf8'),
    crlUrl: `http://127.0.0.1:${crlPort}/ca.crl`,
    async responder({ signer = 'delegated', ndays } = {}) {
      const keys = signer === 'delegated' ? delegated : signer === 'ca' ? ca : foreign;
      // `openssl ocsp -port` binds every interface; one-shot `-reqin/-respout` behind a loopback server does not
      const server = await opensslServer(dir, 'application/ocsp-response', (q, a) => [
        'ocsp', '-index', join(dir, 'index.txt'), '-CA', ca.cert, '-rsigner', keys.cert, '-rkey', keys.key,
        '-reqin', q, '-respout', a, ...(ndays !== undefined ? ['-ndays', String(ndays)] : []),
      ]);
      servers.add(server.http);
      return { url: server.url, stop: () => (servers.delete(server.http), server.stop()) };
    },
    async close() {
      for (const s of servers) s.close();
      await new Promise<void>((r) => crlServer.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
