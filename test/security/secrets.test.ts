// Secrets a config must not start with: an admin whose password is empty or a documented example, cheap hashes;
// the demo is told loudly when it listens beyond this machine. Checked by the real CLI entry point too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../config/errors.ts';
import { parseConfig } from '../../config/load.ts';
import type { ConfigInput } from '../../config/schema.ts';
import { hashSecret } from '../../server/auth/password.ts';
import { checkSecrets } from '../../server/auth/secrets.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const base = (users: ConfigInput['users'], extra: Partial<ConfigInput> = {}): ConfigInput => ({
  province: { code: '51' }, carriers: [{ id: 'vnpt', name: 'VNPT' }], users, simulator: { enabled: false }, ...extra,
});
const silent = () => {
  const warned: string[] = [];
  return { warned, log: { warn: (_o: unknown, m?: string) => void warned.push(String(m ?? _o)) } };
};
const problems = async (cfg: ConfigInput, adminPassword?: string) => {
  try {
    await checkSecrets(parseConfig(cfg), { adminPassword, host: '0.0.0.0', log: silent().log });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
};

describe('checkSecrets', () => {
  it('refuses an admin with an example or empty password, and hashes below the minimum cost', async () => {
    const example = await hashSecret('change-me-admin-qn');
    const empty = await hashSecret('');
    const weak = await hashSecret('mot-mat-khau-rat-dai-va-la', { N: 1024 });
    expect(await problems(base([{ username: 'admin', role: 'admin', passwordHash: example }]))).toEqual([expect.stringMatching(/^users\[0\]\.passwordHash: admin "admin" has an example password/)]);
    expect(await problems(base([{ username: 'admin', role: 'admin', passwordHash: empty }]))).toEqual([expect.stringMatching(/has an empty password/)]);
    expect(await problems(base([{ username: 'ops', role: 'operator', passwordHash: weak }]))).toEqual([expect.stringMatching(/^users\[0\]\.passwordHash: scrypt cost N=1024 is below security\.minScryptN \(16384\)/)]);
    // the operator may lower the minimum knowingly
    expect(await problems(base([{ username: 'ops', role: 'operator', passwordHash: weak }], { security: { minScryptN: 1024 } }))).toEqual([]);
  });

  it('refuses IOC_ADMIN_PASSWORD empty or an example when the config names no users; accepts a real one', async () => {
    expect(await problems(base([]), 'change-me')).toEqual([expect.stringMatching(/^IOC_ADMIN_PASSWORD/)]);
    expect(await problems(base([]), ' ')).toEqual([expect.stringMatching(/^IOC_ADMIN_PASSWORD/)]);
    expect(await problems(base([{ username: 'admin', role: 'admin', passwordHash: await hashSecret('Ngựa-ô-chạy-qua-cầu-7') }]))).toEqual([]);
  });

  it('the demo starts but warns loudly when it listens beyond this machine', async () => {
    const demo = parseConfig(base([], { simulator: { enabled: true } }));
    const open = silent();
    await checkSecrets(demo, { host: '0.0.0.0', log: open.log });
    expect(open.warned.join()).toMatch(/DEMO CONFIG LISTENING BEYOND THIS MACHINE/);
    const local = silent();
    await checkSecrets(demo, { host: '127.0.0.1', log: local.log });
    expect(local.warned).toEqual([]);
  });
});

describe('the server command', () => {
  it('refuses to start from a config whose admin has the example password, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ioc-secrets-'));
    dirs.push(dir);
    const file = join(dir, 'ioc.yaml');
    writeFileSync(file, stringify({ ...base([{ username: 'admin', role: 'admin', passwordHash: await hashSecret('change-me-admin-qn') }]), server: { dataDir: join(dir, 'data'), port: 0, host: '127.0.0.1' } }));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/main.ts', '--config', file], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'silent' } });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/users\[0\]\.passwordHash: admin "admin" has an example password/);
  });
});
