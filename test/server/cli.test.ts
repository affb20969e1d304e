// The operator's commands as run from a shell: check-config names each problem's path and exits 2, hash makes a hash
// the server accepts (npm run hash still works), and the server's systemd unit passes systemd-analyze verify.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifySecret } from '../../server/auth/password.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'ioc-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ioc(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server/cli/index.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('npm run ioc', () => {
  it('check-config prints what the shipped config would serve', () => {
    const r = ioc(['check-config', 'config/default.yaml'], { IOC_DATA_DIR: join(tmp, 'data') });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/config\/default\.yaml: OK/);
    expect(r.out).toMatch(/province\s+\d{2} .+: \d+ communes/);
    expect(r.out).toMatch(/metrics\s+GET \/metrics for 127\.0\.0\.1, ::1/);
  });

  it('check-config exits 2 naming the path of each problem', () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(
      file,
      [
        "province: { code: '51' }",
        'server: { port: 70000 }',
        'carriers: [{ id: vnpt, name: VNPT }]',
        'targets: [{ id: dc, name: DC, kind: icmp, host: 10.0.0.1 }]',
        "agents: [{ id: a1, commune: '21025', tokenHash: nope, uplinks: [{ name: wan1, carrier: viettel }] }]",
        'metrics: { allow: [not-an-address] }',
      ].join('\n'),
    );
    const r = ioc(['check-config', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/server\.port: /);
    expect(r.err).toMatch(/agents\[0\]\.tokenHash: /);
    expect(r.err).toMatch(/metrics\.allow\[0\]: expected an IP address or a CIDR range/);
  });

  it('check-config names a secret whose environment variable is missing', () => {
    const file = join(tmp, 'secret.yaml');
    writeFileSync(file, ["province: { code: '51' }", 'carriers: [{ id: vnpt, name: VNPT }]', 'metrics: { token: { env: IOC_TEST_METRICS_TOKEN } }'].join('\n'));
    const r = ioc(['check-config', file], { IOC_DATA_DIR: join(tmp, 'data') });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/metrics\.token: environment variable IOC_TEST_METRICS_TOKEN is not set/);
    expect(ioc(['check-config', file], { IOC_DATA_DIR: join(tmp, 'data'), IOC_TEST_METRICS_TOKEN: 'x'.repeat(24) }).code).toBe(0);
  });

  it('hash makes a hash the server verifies; npm run hash still works; unknown commands list the commands', async () => {
    const r = ioc(['hash', 'bi-mat-cua-tram']);
    expect(r.code).toBe(0);
    expect(await verifySecret('bi-mat-cua-tram', r.out.trim())).toBe(true);
    const legacy = spawnSync('npm', ['run', '--silent', 'hash', '--', 'bi-mat'], { cwd: ROOT, encoding: 'utf8' });
    expect(await verifySecret('bi-mat', legacy.stdout.trim())).toBe(true);
    const u = ioc(['sao-luu']);
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/unknown command "sao-luu"[\s\S]*check-config[\s\S]*backup DIR[\s\S]*restore DIR[\s\S]*hash/);
  });

  it('the systemd unit passes systemd-analyze verify', () => {
    const r = spawnSync('systemd-analyze', ['verify', join(ROOT, 'config/systemd/ioc-server.service')], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
