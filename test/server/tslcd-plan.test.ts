// Network-scoped targets in the plan (server/directory.ts): a target that names a network runs on that network's lines
// only, pinned to each; an agent without such a line does not run it; with every line matching, nothing changes.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { buildDirectory } from '../../server/directory.ts';
import { province } from '../reports/fixtures.ts';

const HASH = 'scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNo';
const base = {
  province: { code: '51' },
  carriers: [
    { id: 'vnpt', name: 'VNPT' },
    { id: 'viettel', name: 'Viettel' },
  ],
  targets: [
    { id: 'gw', name: 'Gateway', kind: 'icmp', host: 'gateway' },
    { id: 'gw-tslcd', name: 'Gateway TSLCD', kind: 'icmp', host: 'gateway', network: 'tslcd' },
    { id: 'ioffice', name: 'iOffice', kind: 'http', url: 'https://ioffice.example.vn/' },
    { id: 'hoinghi', name: 'Hội nghị truyền hình', kind: 'tcp', host: 'hoinghi.example.vn', port: 1720, network: 'tslcd' },
    { id: 'dvc', name: 'Cổng DVC quốc gia', kind: 'http', url: 'https://dichvucong.example.vn/', network: 'internet' },
  ],
  agents: [
    {
      id: 'both',
      commune: '21025',
      tokenHash: HASH,
      uplinks: [
        { name: 'tslcd', carrier: 'vnpt', network: 'tslcd', interface: 'eth1', gateway: '10.0.0.1' },
        { name: 'ftth', carrier: 'viettel', interface: 'eth0', gateway: '192.168.1.1' },
        { name: '4g', carrier: 'vnpt', interface: 'wwan0', gateway: '192.168.8.1' },
      ],
    },
    { id: 'internet-only', commune: '21028', tokenHash: HASH, uplinks: [{ name: 'ftth', carrier: 'viettel', gateway: '192.168.1.1' }] },
    { id: 'tslcd-only', commune: '21034', tokenHash: HASH, uplinks: [{ name: 'tslcd', carrier: 'vnpt', network: 'tslcd', gateway: '10.0.0.1' }] },
  ],
};
const dir = buildDirectory(configSchema.parse(base), province);
const planned = (agent: string) => dir.planFor(agent, 0, 5)!.targets.map((t) => `${t.id}@${t.uplink ?? '*'}`);

describe('network-scoped targets in the plan', () => {
  it('an agent with a TSLCD line and two Internet lines: each target on its network\'s lines', () => {
    expect(planned('both')).toEqual([
      'gw@tslcd', 'gw@ftth', 'gw@4g', // every line's own gateway
      'gw-tslcd@tslcd', // a per-uplink target keeps only its network's lines
      'ioffice@*', // unscoped: every line, as before
      'hoinghi@tslcd',
      'dvc@ftth', 'dvc@4g',
    ]);
  });

  it('an agent with Internet lines only: TSLCD targets are not planned, Internet ones as if unscoped', () => {
    expect(planned('internet-only')).toEqual(['gw@ftth', 'ioffice@*', 'dvc@*']);
  });

  it('an agent on TSLCD only: no Internet target', () => {
    expect(planned('tslcd-only')).toEqual(['gw@tslcd', 'gw-tslcd@tslcd', 'ioffice@*', 'hoinghi@*']);
  });

  it('the directory tells a line\'s network (absent = internet)', () => {
    expect([dir.networkOf('both', 'tslcd'), dir.networkOf('both', 'ftth'), dir.networkOf('both', undefined), dir.networkOf('tslcd-only', undefined)]).toEqual([
      'tslcd', 'internet', 'internet', 'tslcd',
    ]);
    expect([...dir.communesOfCarrier('vnpt', 'tslcd')].sort()).toEqual(['21025', '21034']);
    expect([...dir.communesOfCarrier('vnpt', 'internet')]).toEqual(['21025']);
  });

  it('a carrier may not take a network\'s name', () => {
    const r = configSchema.safeParse({ ...base, carriers: [...base.carriers, { id: 'tslcd', name: 'TSLCD' }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message)).toContain('"tslcd" names a network, not a carrier');
  });
});
