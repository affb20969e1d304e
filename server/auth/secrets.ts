// Secrets a config file must not start with: admin passwords that are empty or were printed in an example, and
// password/token hashes cheaper than security.minScryptN. Checked when the server is started from a file (the
// `npm start` / systemd path); the demo (simulator on) may keep its defaults but is told when it listens beyond
// this machine.
import type { Logger } from 'pino';
import { ConfigError } from '../../config/errors.ts';
import type { Config } from '../../config/schema.ts';
import { scryptCost, verifySecret } from './password.ts';

/** Passwords printed in shipped files, READMEs and earlier examples: never accepted for an admin. */
export const EXAMPLE_PASSWORDS = [
  'change-me-admin-qn', 'change-me-operator-qn', 'change-me-vnpt-qn', 'change-me-dost-qn',
  'change-me-admin-qt', 'change-me-operator-qt', 'change-me-vnpt-qt', 'change-me-viettel-qt', 'change-me-dost-qt',
  'admin', 'password', 'changeme', 'change-me', '123456', '12345678', 'matkhau', 'ioc',
];

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function checkSecrets(cfg: Config, o: { adminPassword?: string | undefined; host: string; log: Pick<Logger, 'warn'> }): Promise<void> {
  if (cfg.simulator.enabled) {
    if (!LOOPBACK.has(o.host))
      o.log.warn(
        { host: o.host },
        'DEMO CONFIG LISTENING BEYOND THIS MACHINE: the simulator is on and the demo defaults are not meant for a network. ' +
          'Use a config from config/deployments/ with real users, or set server.host: 127.0.0.1.',
      );
    return;
  }
  const problems: string[] = [];
  const min = cfg.security.minScryptN;
  const weak = (hash: string, path: string) => {
    const n = scryptCost(hash);
    if (n !== null && n < min) problems.push(`${path}: scrypt cost N=${n} is below security.minScryptN (${min}); make a new hash with \`npm run hash\``);
  };
  cfg.users.forEach((u, i) => weak(u.passwordHash, `users[${i}].passwordHash`));
  cfg.apiTokens.forEach((t, i) => weak(t.tokenHash, `apiTokens[${i}].tokenHash`));
  cfg.agents.forEach((a, i) => weak(a.tokenHash, `agents[${i}].tokenHash`));

  if (o.adminPassword !== undefined && !cfg.users.length && (o.adminPassword.trim() === '' || EXAMPLE_PASSWORDS.includes(o.adminPassword)))
    problems.push('IOC_ADMIN_PASSWORD: empty or an example password; choose another');
  for (const [i, u] of cfg.users.entries()) {
    if (u.role !== 'admin') continue;
    for (const p of ['', ...EXAMPLE_PASSWORDS]) {
      if (await verifySecret(p, u.passwordHash)) {
        problems.push(`users[${i}].passwordHash: admin "${u.username}" has ${p ? 'an example' : 'an empty'} password; set a new one with \`npm run hash\``);
        break;
      }
    }
  }
  if (problems.length) throw new ConfigError('secrets', problems);
}
