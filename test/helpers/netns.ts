// Test hosts in Linux network namespaces, joined to the root namespace by a veth pair on a /30 out of
// 10.213.0.0/16. The addresses exist only on interfaces this helper creates, so test traffic never
// leaves the machine. Faults injected inside a namespace (this kernel has no netem):
//   - loss: nft `numgen random` on input (setLoss)
//   - latency/jitter: a userspace ICMP echo responder (echo-responder.py) with the kernel's own echo
//     replies switched off (startEchoResponder)
//   - TCP ports that drop SYNs or answer host-unreachable (setPortFault)
//   - portal hosts answering 200/503/slow/never/wrong keyword/redirects over HTTP and HTTPS with valid,
//     expired and soon-expiring certificates from a CA made here (startPortal)
//   - a DNS server answering, failing (NXDOMAIN/SERVFAIL/REFUSED) or never answering (startDnsServer)
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NetnsHost {
  /** namespace name, iocT<pid base36><hex> */
  ns: string;
  /** address of the root-namespace end of the veth (what the agent binds to) */
  hostIp: string;
  /** address of the namespace end (the "remote host") */
  nsIp: string;
  /** root-namespace veth name */
  hostIf: string;
  /** veth name inside the namespace */
  nsIf: string;
  /** run a command inside the namespace, return stdout */
  exec(cmd: string, ...args: string[]): string;
  /** drop this percentage of packets arriving in the namespace (0 removes the rule) */
  setLoss(pct: number): void;
  /** stop (or resume) answering ICMP echo in the namespace */
  setEchoIgnore(ignore: boolean): void;
  /**
   * Make a TCP port inside the namespace misbehave: 'drop' swallows SYNs (the client times out),
   * 'host-unreachable' answers them with ICMP host unreachable (as a router with no route would);
   * null restores it.
   */
  setPortFault(port: number, fault: 'drop' | 'host-unreachable' | null): void;
  /** long-running processes started in this namespace (stopped by destroy) */
  services: Set<Service>;
  destroy(): void;
}

export interface CreateHostOptions {
  /** a label for log lines; not part of any name */
  name?: string;
  /** percent of inbound packets dropped inside the namespace, applied uniformly at random */
  loss?: number;
  /** false: the namespace does not answer pings (net.ipv4.icmp_echo_ignore_all=1) */
  answerPing?: boolean;
}

const created = new Set<NetnsHost>();

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

let probeResult: { ok: boolean; reason: string } | undefined;
/** Root, `ip`, `nft` and `ping` present, and a namespace can really be created (not forbidden by a container). */
export function netnsAvailable(): { ok: boolean; reason: string } {
  if (probeResult) return probeResult;
  const check = (): { ok: boolean; reason: string } => {
    if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces need Linux' };
    if (!isRoot()) return { ok: false, reason: 'network namespace tests need root (run as root or in the CI container)' };
    if (!has('ip', ['-V'])) return { ok: false, reason: '`ip` missing: apt-get install iproute2' };
    if (!has('nft', ['--version'])) return { ok: false, reason: '`nft` missing: apt-get install nftables' };
    if (!has('ping', ['-V'])) return { ok: false, reason: '`ping` missing: apt-get install iputils-ping' };
    const ns = `iocTchk${randomBytes(2).toString('hex')}`;
    const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    if (add.status !== 0) return { ok: false, reason: `cannot create a network namespace: ${add.stderr.trim()}` };
    spawnSync('ip', ['netns', 'del', ns]);
    return { ok: true, reason: '' };
  };
  probeResult = check();
  return probeResult;
}

/**
 * The project's skip-or-fail rule. Returns true when the suite should be skipped (outside CI, with one
 * loud line saying what is missing). Under CI=true it returns false so the suite runs and fails.
 */
export function skipWithoutNetns(suite: string): boolean {
  const { ok, reason } = netnsAvailable();
  if (ok) return false;
  if (process.env.CI === 'true') return false;
  console.warn(`\n!!! SKIPPING ${suite}: ${reason} !!!\n`);
  return true;
}

/**
 * Same rule for other programs a suite starts (python3 for the echo responder and DNS server, openssl
 * for certificates): skip loudly outside CI, run (and fail) under CI=true.
 */
export function skipWithoutTools(suite: string, tools: { cmd: string; args: string[]; install: string }[]): boolean {
  const missing = tools.filter((t) => !has(t.cmd, t.args));
  if (missing.length === 0 || process.env.CI === 'true') return false;
  console.warn(`\n!!! SKIPPING ${suite}: ${missing.map((t) => `\`${t.cmd}\` missing, ${t.install}`).join('; ')} !!!\n`);
  return true;
}

/** Run a command inside a namespace; throws with stderr on failure. */
export function runIn(ns: string, cmd: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Start a long-running process inside a namespace (servers, echo responders); the caller kills it. */
export function spawnIn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', ...opts });
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A free /30 in 10.213.0.0/16 (not already on any interface of the machine). */
function freeSubnet(): [string, string] {
  const used = ip('-o', '-4', 'addr', 'show');
  for (let i = 0; i < 200; i++) {
    const b = Math.floor(Math.random() * 240); // 10.213.240-255.x is left for fixed test addresses (e.g. the scenario tests' core)
    const c = Math.floor(Math.random() * 64) * 4;
    const hostIp = `10.213.${b}.${c + 1}`;
    const nsIp = `10.213.${b}.${c + 2}`;
    if (!used.includes(`${hostIp}/`) && !used.includes(`${nsIp}/`)) return [hostIp, nsIp];
  }
  throw new Error('no free /30 in 10.213.0.0/16');
}

// Names carry the creating pid (base 36) so a later run can remove what a killed run left behind.
const NAME = /^iocT([0-9a-z]{5})[0-9a-f]{4}$/;
const pidTag = () => process.pid.toString(36).padStart(5, '0');

/** Delete test namespaces whose creating process is gone (a run killed before its afterAll). */
export function sweepStaleHosts(): string[] {
  const swept: string[] = [];
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = NAME.exec(ns);
    if (!m) continue;
    const pid = parseInt(m[1]!, 36);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code !== 'ESRCH';
    }
    if (alive) continue;
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', `${ns}h`], { stdio: 'ignore' });
    swept.push(ns);
  }
  return swept;
}

let swept = false;
export function createHost(opts: CreateHostOptions = {}): NetnsHost {
  const avail = netnsAvailable();
  if (!avail.ok) throw new Error(`createHost(${opts.name ?? ''}): ${avail.reason}`);
  if (!swept) {
    swept = true;
    sweepStaleHosts();
  }
  const id = `${pidTag()}${randomBytes(2).toString('hex')}`;
  const ns = `iocT${id}`;
  const hostIf = `iocT${id}h`; // 14 chars <= 15 (IFNAMSIZ)
  const nsIf = `iocT${id}n`;
  const [hostIp, nsIp] = freeSubnet();
  const portFaults = new Map<number, 'drop' | 'host-unreachable'>();

  const host: NetnsHost = {
    ns,
    hostIp,
    nsIp,
    hostIf,
    nsIf,
    exec: (cmd, ...args) => runIn(ns, cmd, ...args),
    setLoss(pct) {
      if (!(pct >= 0 && pct <= 100)) throw new Error(`loss must be 0..100, got ${pct}`);
      // Inbound only: an echo request dropped with probability p gives exactly p echo loss
      // (dropping both ways would compound to 1-(1-p)^2).
      spawnSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'ioc_loss'], { stdio: 'ignore' });
      if (pct === 0) return;
      runIn(ns, 'nft', 'add', 'table', 'inet', 'ioc_loss');
      runIn(ns, 'nft', 'add', 'chain', 'inet', 'ioc_loss', 'in', '{ type filter hook input priority 0; policy accept; }');
      runIn(ns, 'nft', 'add', 'rule', 'inet', 'ioc_loss', 'in', 'numgen', 'random', 'mod', '100', '<', String(Math.round(pct)), 'drop');
    },
    setEchoIgnore(ignore) {
      // net.* sysctls are per namespace; /proc/sys/net follows the namespace of the writing process.
      runIn(ns, 'sh', '-c', `echo ${ignore ? 1 : 0} > /proc/sys/net/ipv4/icmp_echo_ignore_all`);
    },
    setPortFault(port, fault) {
      if (fault) portFaults.set(port, fault);
      else portFaults.delete(port);
      spawnSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'ioc_port'], { stdio: 'ignore' });
      if (portFaults.size === 0) return;
      runIn(ns, 'nft', 'add', 'table', 'inet', 'ioc_port');
      runIn(ns, 'nft', 'add', 'chain', 'inet', 'ioc_port', 'in', '{ type filter hook input priority 0; policy accept; }');
      for (const [p, f] of portFaults) {
        const verdict = f === 'drop' ? ['drop'] : ['reject', 'with', 'icmp', 'type', 'host-unreachable'];
        runIn(ns, 'nft', 'add', 'rule', 'inet', 'ioc_port', 'in', 'ip', 'protocol', 'tcp', 'tcp', 'dport', String(p), ...verdict);
      }
    },
    services: new Set(),
    destroy() {
      created.delete(host);
      for (const svc of host.services) svc.kill();
      // Deleting the namespace destroys its veth end, and with it the peer in the root namespace.
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      spawnSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' });
    },
  };
  created.add(host);
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    runIn(ns, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf);
    runIn(ns, 'ip', 'link', 'set', nsIf, 'up');
    runIn(ns, 'ip', 'link', 'set', 'lo', 'up');
    if (opts.loss) host.setLoss(opts.loss);
    if (opts.answerPing === false) host.setEchoIgnore(true);
  } catch (e) {
    host.destroy();
    const err = e as Error & { stderr?: string };
    throw new Error(`createHost(${opts.name ?? ns}) failed: ${err.stderr?.trim() || err.message}`);
  }
  return host;
}

/** Tear down every host this process created (call in afterAll; also runs on exit as a last resort). */
export function destroyAllHosts(): void {
  for (const h of [...created]) h.destroy();
}
process.once('exit', destroyAllHosts);

// ---- services inside a namespace -----------------------------------------------------------------

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const HELPERS = fileURLToPath(new URL('.', import.meta.url));

export interface Service {
  proc: ChildProcess;
  /** what it printed on stdout after "ready", line by line (the last 100 000 lines) */
  lines: string[];
  /** close its stdin (the stop signal every helper service obeys) and wait for it to exit */
  stop(): Promise<void>;
  /** SIGKILL, synchronous (teardown) */
  kill(): void;
}

/**
 * Start a helper process in the namespace and wait for it to print "ready". Its stdin stays a pipe:
 * closing it stops the service, and it closes by itself when this test process dies.
 */
export async function startService(host: NetnsHost, cmd: string, args: string[], label: string, timeoutMs = 15_000): Promise<Service> {
  const proc = spawnIn(host.ns, cmd, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const svc: Service = {
    proc,
    lines: [],
    stop: () =>
      new Promise<void>((resolve) => {
        host.services.delete(svc);
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
        proc.once('exit', () => (clearTimeout(t), resolve()));
        proc.stdin!.end();
      }),
    kill: () => {
      host.services.delete(svc);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
  host.services.add(svc);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => done(new Error(`${label} not ready within ${timeoutMs} ms: ${stderr.trim()}`)), timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(t);
      proc.stdout!.off('data', onData);
      proc.off('exit', onExit);
      if (err) {
        svc.kill();
        reject(err);
      } else resolve();
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/^ready$/m.test(out)) done();
    };
    const onExit = (code: number | null) => done(new Error(`${label} exited (${code}) before ready: ${stderr.trim()}`));
    proc.stdout!.on('data', onData);
    proc.once('exit', onExit);
  });
  // keep draining stdout (a chatty service must never block on a full pipe), keeping its lines
  let partial = '';
  proc.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    svc.lines.push(...parts);
    if (svc.lines.length > 100_000) svc.lines.splice(0, svc.lines.length - 100_000);
  });
  // A service dying mid-suite shows up as odd failures far away: say so where it happens.
  proc.once('exit', (code, sig) => {
    if (host.services.has(svc)) console.warn(`[netns] ${label} in ${host.ns} died (${code ?? sig}): ${stderr.trim().slice(-500)}`);
  });
  return svc;
}

export interface EchoOptions {
  /** added to every echo reply, ms */
  delayMs: number;
  /** uniform in [-jitterMs, +jitterMs] around delayMs */
  jitterMs?: number;
  seed?: number;
  /** print "<icmp id> <seq> <delay ms>" per echo into the service's `lines` */
  log?: boolean;
}

/** Answer pings to the namespace's address after a delay (the kernel's own replies switched off). */
export async function startEchoResponder(host: NetnsHost, o: EchoOptions): Promise<Service> {
  host.setEchoIgnore(true);
  const args = [join(HELPERS, 'echo-responder.py'), '--delay-ms', String(o.delayMs), '--jitter-ms', String(o.jitterMs ?? 0)];
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  if (o.log) args.push('--log');
  return startService(host, 'python3', args, 'echo responder');
}

export type DnsZoneEntry =
  | { A?: string[]; AAAA?: string[]; CNAME?: string; delay_ms?: number; spoof_first?: boolean }
  | { rcode: number }
  | { drop: true }
  | { whoami: true };

/** A DNS server on the namespace's address (UDP, port 53 by default). Unknown names: NXDOMAIN. */
export async function startDnsServer(host: NetnsHost, zone: Record<string, DnsZoneEntry>, port = 53): Promise<Service & { resolver: string }> {
  const svc = await startService(
    host,
    'python3',
    [join(HELPERS, 'dns-server.py'), '--listen', host.nsIp, '--port', String(port), '--zone', JSON.stringify(zone)],
    'dns server',
  );
  return Object.assign(svc, { resolver: port === 53 ? host.nsIp : `${host.nsIp}:${port}` });
}

export interface TestCerts {
  dir: string;
  /** PEM of the test root CA: pass as the http probe's `ca` */
  ca: string;
  valid: { key: string; cert: string };
  expired: { key: string; cert: string };
  /** valid now, ends `soonDays` days (to the second) after `madeAt` */
  soon: { key: string; cert: string; days: number; notAfter: number };
  madeAt: number;
  remove(): void;
}

const opensslDate = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

/**
 * A root CA and three server certificates for `ip` signed by it: valid (30 days), expired (January
 * 2020) and soon-expiring (`soonDays`). `openssl ca` takes explicit start and end dates, which
 * `openssl x509 -req` in OpenSSL 3.0 cannot (-not_before/-not_after arrived in 3.4).
 */
export function makeTestCerts(ip: string, soonDays = 5): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'ioc-certs-'));
  const o = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  o('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-subj', '/CN=IOC Test Root CA/O=IOC test',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    ['[ca]', 'default_ca=d', '[d]', 'database=index.txt', 'new_certs_dir=.', 'serial=serial', 'default_md=sha256', 'policy=p',
      'unique_subject=no', 'x509_extensions=ext', '[p]', 'commonName=supplied', '[ext]', `subjectAltName=IP:${ip}`,
      'basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=serverAuth', ''].join('\n'),
  );
  const now = Date.now();
  const leaf = (name: string, start: number, end: number) => {
    o('req', '-new', ...ec, '-keyout', `${name}.key`, '-subj', `/CN=${ip}`, '-out', `${name}.csr`);
    o('ca', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-startdate', opensslDate(start),
      '-enddate', opensslDate(end), '-batch', '-notext', '-out', `${name}.pem`);
    return { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  };
  // Whole seconds: the certificate cannot carry more, so the expected figure is computed from the same.
  const soonEnd = Math.floor(now / 1000) * 1000 + soonDays * 86_400_000;
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    valid: leaf('valid', now - 86_400_000, now + 30 * 86_400_000),
    expired: leaf('expired', Date.UTC(2020, 0, 1), Date.UTC(2020, 1, 1)),
    soon: { ...leaf('soon', now - 86_400_000, soonEnd), days: soonDays, notAfter: soonEnd },
    madeAt: now,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Portal extends Service {
  /** http://<nsIp> (port 80) */
  http: string;
  /** https://<nsIp>[:port] with a valid, an expired and a soon-expiring certificate */
  https: { valid: string; expired: string; soon: string };
  certs: TestCerts;
  keyword: string;
}

/** A portal host in the namespace: see test/helpers/portal-server.ts for its paths. */
export async function startPortal(host: NetnsHost, o: { keyword?: string; soonDays?: number } = {}): Promise<Portal> {
  const certs = makeTestCerts(host.nsIp, o.soonDays ?? 5);
  const keyword = o.keyword ?? 'Cổng Dịch vụ công';
  const cfg = {
    host: host.nsIp,
    httpPort: 80,
    https: [
      { port: 443, keyFile: certs.valid.key, certFile: certs.valid.cert },
      { port: 8443, keyFile: certs.expired.key, certFile: certs.expired.cert },
      { port: 9443, keyFile: certs.soon.key, certFile: certs.soon.cert },
    ],
    keyword,
  };
  let svc: Service;
  try {
    svc = await startService(host, process.execPath, ['--import', 'tsx', join(HELPERS, 'portal-server.ts'), JSON.stringify(cfg)], 'portal server');
  } catch (e) {
    certs.remove();
    throw e;
  }
  const stop = svc.stop;
  return Object.assign(svc, {
    http: `http://${host.nsIp}`,
    https: { valid: `https://${host.nsIp}`, expired: `https://${host.nsIp}:8443`, soon: `https://${host.nsIp}:9443` },
    certs,
    keyword,
    stop: async () => {
      await stop();
      certs.remove();
    },
  });
}
