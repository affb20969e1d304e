// Changes to the fleet while the server runs: enrolments and the agents they create, admin actions on enrolled
// agents, and the YAML reload. Each one is validated against the running directory, persisted (FleetBook), recorded
// (AuditLog) and then applied by replacing the directory's tables, which live state, the agent registry and every
// connected agent follow (server/main.ts wires those to dir.onChange).
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { EnrollAnswer, EnrollBody, EnrollmentBody, EnrollmentCreated, EnrollmentRow, ReloadResult, Site, UplinkIn } from '../../config/api.ts';
import { ConfigError } from '../../config/errors.ts';
import { loadConfig, loadProvince } from '../../config/load.ts';
import type { AgentConfig, ApiTokenConfig, Config, EnrolmentConfig, ProvinceFile, UserConfig } from '../../config/schema.ts';
import { hashSecret } from '../auth/password.ts';
import { buildDirectory, type DirectoryConfig, type LiveDirectory } from '../directory.ts';
import { ConflictError, InvalidError, NotFoundError } from '../errors.ts';
import { checkRouteRefs } from '../notifiers/index.ts';
import type { AuditLog } from './audit.ts';
import { agentConfigOf, type EnrolledAgent, type Enrolment, type FleetBook } from './book.ts';
import { codeSecretOf, formatCode, hashCodeSecret, newCodeSecret, provincePrefix } from './codes.ts';
import { AgentReleases, type UpdatePolicy } from './releases.ts';
import type { AgentReleasesInfo, UpdatePolicyBody } from '../../config/api.ts';
import type { PlanRelease } from '../../config/wire.ts';

/** dist/agent of this install: where npm run build:agent writes */
const DEFAULT_RELEASES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../dist/agent');

/** config sections the directory is built from: a reload applies them at once */
const LIVE_SECTIONS = ['carriers', 'targets', 'agents', 'communes', 'defaults'] as const satisfies readonly (keyof DirectoryConfig)[];

export type AgentSource = 'config' | 'enrolled' | 'simulator';

export interface FleetControlDeps {
  dir: LiveDirectory;
  province: ProvinceFile;
  /** the running config (its `agents` are the YAML's) */
  config: Config;
  /** agents that are neither in the YAML nor enrolled: the demo simulator's */
  simulated: AgentConfig[];
  book: FleetBook;
  audit: AuditLog;
  /** the YAML file a reload reads; null when the server was given a config object */
  configPath: string | null;
  log: Pick<Logger, 'info' | 'warn'>;
  /** the users and API tokens in force (server/auth/users.ts Accounts): a reload replaces them; absent: restart needed */
  accounts?: { replace(users: UserConfig[], tokens: ApiTokenConfig[], by: string): unknown };
  /** who logs in when the config names no users (the first admin of data/admin.json) */
  defaultUsers?: UserConfig[];
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface AgentChange {
  name?: string | undefined;
  commune?: string | undefined;
  site?: Site | undefined;
  uplinks?: UplinkIn[] | undefined;
}

export class FleetControl {
  private config: Config;
  private readonly now: () => number;
  /** the served agent build (server.agentReleasesDir: a server setting, so a reload keeps it) */
  readonly releases: AgentReleases;
  /** enrolments whose code is being redeemed right now: a code works once even for two requests at once */
  private claiming = new Set<string>();
  readonly prefix: string;

  constructor(private readonly d: FleetControlDeps) {
    this.config = d.config;
    this.now = d.now ?? Date.now;
    this.prefix = d.config.enrolment.codePrefix ?? provincePrefix(d.province.name);
    this.releases = new AgentReleases(resolve(d.config.server.agentReleasesDir ?? DEFAULT_RELEASES_DIR));
    const clash = clashes(d.config.agents, d.simulated, d.book);
    if (clash.length) throw new ConfigError(d.configPath ?? 'config', clash);
  }

  get enrolment(): EnrolmentConfig {
    return this.config.enrolment;
  }

  /** the directory's input: the YAML's sections with the YAML, simulated and enrolled agents together */
  compose(config: Config = this.config): DirectoryConfig {
    return {
      carriers: config.carriers,
      targets: config.targets,
      communes: config.communes,
      defaults: config.defaults,
      agents: [...config.agents, ...this.d.simulated, ...this.d.book.activeAgents().map(agentConfigOf)],
    };
  }

  private apply(): void {
    this.d.dir.replace(this.compose());
  }

  sourceOf(id: string): AgentSource | undefined {
    if (this.d.book.agent(id)) return 'enrolled';
    if (this.config.agents.some((a) => a.id === id)) return 'config';
    if (this.d.simulated.some((a) => a.id === id)) return 'simulator';
    return undefined;
  }

  enrolled(id: string): EnrolledAgent | undefined {
    return this.d.book.agent(id);
  }

  // ---- self-update ------------------------------------------------------------------------------------------

  /** what each plan offers (the same for every agent; each picks its own platform's file) */
  releaseOffer(): PlanRelease | undefined {
    return this.releases.offer(this.d.book.updates);
  }

  releaseInfo(): AgentReleasesInfo {
    const policy = this.d.book.updates;
    return { release: this.releases.current(), problem: this.releases.problem, ...policy, offered: this.releaseOffer()?.version ?? null };
  }

  /** pin or pause, recorded; every connected agent gets a plan with the new offer */
  setUpdates(body: UpdatePolicyBody, by: string): AgentReleasesInfo {
    const before = this.d.book.updates;
    const next: UpdatePolicy = { paused: body.paused ?? before.paused, pin: body.pin === undefined ? before.pin : body.pin };
    this.d.book.setUpdates(next);
    this.d.audit.record(by, 'agent.updates', 'fleet', { before, after: next });
    this.apply();
    return this.releaseInfo();
  }

  // ---- enrolments ------------------------------------------------------------------------------------------

  async createEnrolment(body: EnrollmentBody, by: string, serverBase: string): Promise<EnrollmentCreated> {
    this.checkPlace(body.commune, body.uplinks);
    body.targets?.forEach((t, i) => {
      if (!this.d.dir.targets.has(t)) throw new InvalidError(`targets[${i}]: unknown target "${t}"`);
    });
    const secret = newCodeSecret();
    const t = this.now();
    const e: Enrolment = {
      id: `enr-${randomBytes(6).toString('hex')}`,
      codeHash: await hashCodeSecret(secret, this.d.book.codeSalt),
      commune: body.commune,
      site: body.site,
      uplinks: body.uplinks,
      ...(body.targets ? { targets: body.targets } : {}),
      createdBy: by,
      createdAt: t,
      expiresAt: t + Math.round(this.enrolment.codeTtlHours * 3_600_000),
    };
    this.d.book.addEnrolment(e);
    this.d.audit.record(by, 'enrolment.create', e.id, { commune: e.commune, site: e.site, uplinks: e.uplinks, expiresAt: e.expiresAt });
    const code = formatCode(this.prefix, secret);
    const server = serverBase.replace(/\/+$/, '');
    return {
      ...rowOf(e),
      code,
      server,
      command: {
        linux: `sudo ./ioc-agent-linux-x64 install --server ${server} --code ${code}`,
        windows: `.\\ioc-agent-win-x64.exe install --server ${server} --code ${code}`,
      },
    };
  }

  listEnrolments(): EnrollmentRow[] {
    return this.d.book.openEnrolments().map(rowOf);
  }

  deleteEnrolment(id: string, by: string): void {
    if (!this.d.book.removeEnrolment(id)) throw new NotFoundError(`no open enrolment "${id}"`);
    this.d.audit.record(by, 'enrolment.delete', id);
  }

  /**
   * Redeem a code: the agent's id and token, or null for a code that is wrong, used or expired (the caller counts
   * it; one answer for the three, so a guesser learns nothing).
   */
  async enrol(body: EnrollBody, remote: string | null): Promise<EnrollAnswer | null> {
    const secret = codeSecretOf(body.code);
    if (!secret) return null;
    const e = this.d.book.findOpen(await hashCodeSecret(secret, this.d.book.codeSalt));
    if (!e || this.claiming.has(e.id)) return null;
    this.claiming.add(e.id);
    try {
      const id = this.newAgentId(e.commune, e.site.name);
      const token = randomBytes(32).toString('base64url');
      const agent: EnrolledAgent = {
        id, name: null, commune: e.commune, site: e.site, uplinks: e.uplinks, ...(e.targets ? { targets: e.targets } : {}),
        tokenHash: await hashSecret(token), enrolledAt: this.now(), enrolment: e.id, createdBy: e.createdBy,
        hostname: body.hostname ?? null, platform: body.platform ?? null, version: body.version ?? null,
      };
      this.d.book.enrol(e, agent);
      this.d.audit.record(`enrolment:${e.id}`, 'agent.enrol', id, {
        commune: e.commune, site: e.site, createdBy: e.createdBy, hostname: agent.hostname, platform: agent.platform, version: agent.version, remote,
      });
      this.apply();
      this.d.log.info({ agent: id, commune: e.commune, remote }, 'agent enrolled');
      return { id, token, commune: e.commune, site: e.site };
    } finally {
      this.claiming.delete(e.id);
    }
  }

  // ---- admin actions on enrolled agents -----------------------------------------------------------------------

  revoke(id: string, by: string): void {
    this.mustBeEnrolled(id);
    this.d.book.update(id, (a) => (a.revokedAt = this.now()));
    this.d.audit.record(by, 'agent.revoke', id);
    this.apply();
  }

  async rotate(id: string, by: string): Promise<string> {
    this.mustBeEnrolled(id);
    const token = randomBytes(32).toString('base64url');
    const tokenHash = await hashSecret(token);
    this.d.book.update(id, (a) => (a.tokenHash = tokenHash));
    this.d.audit.record(by, 'agent.rotate', id);
    this.apply();
    return token;
  }

  update(id: string, change: AgentChange, by: string): EnrolledAgent {
    const before = this.mustBeEnrolled(id);
    this.checkPlace(change.commune ?? before.commune, change.uplinks ?? before.uplinks);
    const actions: [action: string, field: keyof AgentChange][] = [
      ['agent.rename', 'name'],
      ['agent.move', 'commune'],
      ['agent.site', 'site'],
      ['agent.uplinks', 'uplinks'],
    ];
    const changed = actions.filter(([, f]) => change[f] !== undefined && JSON.stringify(change[f]) !== JSON.stringify(before[f]));
    if (!changed.length) return before;
    const prev = structuredClone(before);
    const after = this.d.book.update(id, (a) => {
      if (change.name !== undefined) a.name = change.name;
      if (change.commune !== undefined) a.commune = change.commune;
      if (change.site !== undefined) a.site = change.site;
      if (change.uplinks !== undefined) a.uplinks = change.uplinks;
    });
    for (const [action, f] of changed) this.d.audit.record(by, action, id, { from: prev[f], to: after[f] });
    this.apply();
    return after;
  }

  // ---- YAML reload ------------------------------------------------------------------------------------------

  /**
   * Read the config file again and apply what can change while running (targets, thresholds, carriers, commune
   * overrides, YAML agents, users and API tokens). Everything is checked first: a broken file throws ConfigError naming the problems and
   * nothing changes.
   */
  reload(by: string): ReloadResult {
    const file = this.d.configPath;
    if (!file) throw new ConflictError('the server was started without a config file: there is nothing to reload');
    let next: Config;
    try {
      next = loadConfig(file, this.d.env ?? process.env);
      // the communes named must be the running province's (a province change needs a restart anyway)
      loadProvince({ ...next, province: this.config.province });
      const clash = clashes(next.agents, this.d.simulated, this.d.book);
      const routes = checkRouteRefs(next.notifications, buildDirectory(this.compose(next), this.d.province));
      if (clash.length || routes.length) throw new ConfigError(file, [...clash, ...routes]);
    } catch (e) {
      if (e instanceof ConfigError) this.d.audit.record(by, 'config.reload.refused', file, { problems: e.problems });
      throw e;
    }
    const differs = (k: keyof Config) => JSON.stringify(next[k]) !== JSON.stringify(this.config[k]);
    const changed: string[] = LIVE_SECTIONS.filter(differs);
    // users and API tokens are replaced in place (their changed sessions end), unless no user would be left to log in
    const fallback = this.d.defaultUsers ?? [];
    const accountsLive = !!this.d.accounts && (next.users.length > 0 || fallback.length > 0);
    const accountSections = (['users', 'apiTokens'] as const).filter(differs);
    const applied = new Set<string>([...LIVE_SECTIONS, 'server', ...(accountsLive ? accountSections : [])]);
    const restartNeeded = (Object.keys(next) as (keyof Config)[]).filter((k) => !applied.has(k) && differs(k));
    // dataDir is the running one (the command line or IOC_DATA_DIR may have set it); other server fields need a restart
    if (JSON.stringify({ ...next.server, dataDir: '' }) !== JSON.stringify({ ...this.config.server, dataDir: '' })) restartNeeded.push('server');
    const live = Object.fromEntries(LIVE_SECTIONS.map((k) => [k, next[k]]));
    this.config = { ...this.config, ...live };
    this.apply();
    if (accountsLive && accountSections.length) {
      this.config = { ...this.config, users: next.users, apiTokens: next.apiTokens };
      this.d.accounts!.replace(next.users.length ? next.users : fallback, next.apiTokens, by);
      changed.push(...accountSections);
    }
    this.d.audit.record(by, 'config.reload', file, { changed, restartNeeded });
    this.d.log.info({ file, changed, restartNeeded }, 'config reloaded');
    return { file, changed, restartNeeded, agents: this.d.dir.agents.size, targets: this.d.dir.targets.size };
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  private mustBeEnrolled(id: string): EnrolledAgent {
    const a = this.d.book.agent(id);
    if (a) return a;
    const src = this.sourceOf(id);
    if (src === 'config') throw new ConflictError(`agent "${id}" is defined in the config file: change it there and reload`);
    if (src === 'simulator') throw new ConflictError(`agent "${id}" is a simulated demo agent`);
    throw new NotFoundError(`no agent "${id}"`);
  }

  private checkPlace(commune: string, uplinks: UplinkIn[]): void {
    if (!this.d.dir.communes.has(commune)) throw new InvalidError(`commune: "${commune}" is not a commune of ${this.d.province.fullName}`);
    uplinks.forEach((u, i) => {
      if (!this.d.dir.carriers.has(u.carrier)) throw new InvalidError(`uplinks[${i}].carrier: unknown carrier "${u.carrier}"`);
    });
    const names = uplinks.map((u) => u.name);
    if (new Set(names).size !== names.length) throw new InvalidError('uplinks: two uplinks with the same name');
  }

  /** `<commune>-<site name>`, numbered when taken; never an id used before (revoked agents' data carries it) */
  private newAgentId(commune: string, siteName: string): string {
    const slug =
      siteName
        .normalize('NFD')
        .replace(/[\u0300-\u036f]/g, '')
        .replace(/[đĐ]/g, 'd')
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40)
        .replace(/-+$/, '') || 'agent';
    const taken = new Set([...this.d.dir.agents.keys(), ...this.config.agents.map((a) => a.id), ...this.d.book.allAgents().map((a) => a.id)]);
    const base = `${commune}-${slug}`;
    for (let i = 1; ; i++) {
      const id = i === 1 ? base : `${base}-${i}`;
      if (!taken.has(id)) return id;
    }
  }
}

function rowOf(e: Enrolment): EnrollmentRow {
  return { id: e.id, commune: e.commune, site: e.site, uplinks: e.uplinks, ...(e.targets ? { targets: e.targets } : {}), createdBy: e.createdBy, createdAt: e.createdAt, expiresAt: e.expiresAt };
}

/** YAML agents whose id an enrolled (or simulated) agent already has: refused, each named */
function clashes(yaml: AgentConfig[], simulated: AgentConfig[], book: FleetBook): string[] {
  const enrolled = new Set(book.allAgents().map((a) => a.id));
  const sim = new Set(simulated.map((a) => a.id));
  return yaml.flatMap((a, i) =>
    enrolled.has(a.id)
      ? [`agents[${i}].id: "${a.id}" is an agent enrolled at run time (${book.file}); give the YAML agent another id`]
      : sim.has(a.id)
        ? [`agents[${i}].id: "${a.id}" is the id of a simulated agent; give the YAML agent another id`]
        : [],
  );
}
