// Test hosts in Linux network namespaces, joined to the root namespace by a veth pair on a /30 out of
// 10.213.0.0/16. The addresses exist only on interfaces this helper creates, so test traffic never
// leaves the machine. Loss is injected with nft `numgen random` inside the namespace (this kernel has
// no netem); a later issue adds latency through a userspace echo responder (see `spawnIn`).
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

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
    const b = Math.floor(Math.random() * 256);
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
    destroy() {
      created.delete(host);
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
