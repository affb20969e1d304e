// Who may log in: users from the config, or, when the config names none, a first admin whose password is
// generated on first start (printed once) or taken from IOC_ADMIN_PASSWORD, its hash kept in the data directory.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserConfig } from '../../config/schema.ts';
import { hashSecret } from './password.ts';

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
