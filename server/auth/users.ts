// Who may log in: users from the config, or, when the config names none, a first admin whose password is
// generated on first start (printed once) or taken from IOC_ADMIN_PASSWORD, its hash kept in the data directory.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiTokenConfig, UserConfig } from '../../config/schema.ts';
import { hashSecret } from './password.ts';
import type { Sessions } from './sessions.ts';

export interface ResolvedUsers {
  users: UserConfig[];
  /** set when this start generated the admin password: print it once */
  generated?: { username: string; password: string };
}

export async function resolveUsers(configured: UserConfig[], dataDir: string, adminPassword?: string): Promise<ResolvedUsers> {
  if (configured.length) return { users: configured };
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'admin.json');
  if (adminPassword) {
    const u: UserConfig = { username: 'admin', role: 'admin', passwordHash: await hashSecret(adminPassword) };
    writeFileSync(file, JSON.stringify(u), { mode: 0o600 });
    return { users: [u] };
  }
  if (existsSync(file)) return { users: [JSON.parse(readFileSync(file, 'utf8')) as UserConfig] };
  const password = randomBytes(9).toString('base64url');
  const u: UserConfig = { username: 'admin', role: 'admin', passwordHash: await hashSecret(password) };
  writeFileSync(file, JSON.stringify(u), { mode: 0o600 });
  return { users: [u], generated: { username: 'admin', password } };
}

/** What the audit trail needs from server/audit/log.ts. */
interface AuditSink {
  record(who: string, action: string, subject: string, details?: Record<string, unknown>): unknown;
}

/** Why a user's sessions ended at a reload. */
export type AccountChange = 'removed' | 'password' | 'role' | 'carrier';

/**
 * The users and API tokens in force. The config file holds them, so a reload replaces them here: every session of a
 * user whose password, role or carrier changed, or who was removed, ends at once (Sessions.endUser: its live sockets
 * close too), and a changed or removed API token stops working (the authenticator checks the hash it verified
 * against, so no cached verification outlives it).
 */
export class Accounts {
  private users = new Map<string, UserConfig>();
  private tokens = new Map<string, ApiTokenConfig>();

  constructor(
    users: UserConfig[],
    tokens: ApiTokenConfig[],
    private readonly sessions: Pick<Sessions, 'endUser'>,
    private readonly audit?: AuditSink,
  ) {
    this.set(users, tokens);
  }

  user(username: string): UserConfig | undefined {
    return this.users.get(username);
  }
  token(id: string): ApiTokenConfig | undefined {
    return this.tokens.get(id);
  }

  /** Take the reloaded lists; `by` is who reloaded (an account or SIGHUP), for the audit trail. */
  replace(users: UserConfig[], tokens: ApiTokenConfig[], by: string): { ended: Record<string, AccountChange>; tokens: Record<string, 'removed' | 'changed'> } {
    const ended: Record<string, AccountChange> = {};
    const next = new Map(users.map((u) => [u.username, u]));
    const what = (u: UserConfig | undefined) => (u ? { role: u.role, ...(u.carrier ? { carrier: u.carrier } : {}) } : null);
    const audits: [string, Record<string, unknown>][] = [];
    for (const [name, before] of this.users) {
      const after = next.get(name);
      const why: AccountChange | null = !after
        ? 'removed'
        : after.passwordHash !== before.passwordHash
          ? 'password'
          : after.role !== before.role
            ? 'role'
            : (after.carrier ?? null) !== (before.carrier ?? null)
              ? 'carrier'
              : null;
      if (!why) continue;
      ended[name] = why;
      // never the hashes: "password" says enough
      audits.push([name, { reason: why, before: what(before), after: what(after) }]);
    }
    const changedTokens: Record<string, 'removed' | 'changed'> = {};
    const nextTokens = new Map(tokens.map((t) => [t.id, t]));
    for (const [id, before] of this.tokens) {
      const after = nextTokens.get(id);
      if (!after) changedTokens[id] = 'removed';
      else if (after.tokenHash !== before.tokenHash || after.role !== before.role || (after.carrier ?? null) !== (before.carrier ?? null)) changedTokens[id] = 'changed';
    }
    // the new lists first: nothing ended below can be renewed with what was just taken away
    this.set(users, tokens);
    for (const [name, details] of audits) {
      this.sessions.endUser(name);
      this.audit?.record(by, 'auth.sessions.ended', name, details);
    }
    for (const [id, why] of Object.entries(changedTokens)) this.audit?.record(by, 'auth.token.changed', id, { reason: why });
    return { ended, tokens: changedTokens };
  }

  private set(users: UserConfig[], tokens: ApiTokenConfig[]) {
    this.users = new Map(users.map((u) => [u.username, u]));
    this.tokens = new Map(tokens.map((t) => [t.id, t]));
  }
}
