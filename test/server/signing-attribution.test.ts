// Signing services (ocsp, tsa) are services like the portals: a certificate authority down for every commune is one
// service cause (one incident), and one commune failing to reach it while its link works is that commune's path.
import { describe, expect, it } from 'vitest';
import { attribute } from '../../server/state/attribution.ts';
import { CARRIER_OF, code, World } from '../helpers/attribution-world.ts';

const ag = (i: number) => `ag-${code(i)}`;
const TARGETS = [['dc', 'icmp'], ['portal', 'http'], ['ioffice', 'http'], ['ca-ocsp', 'ocsp'], ['ca-tsa', 'tsa']] as const;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);

function province(): World {
  const w = new World();
  for (let i = 1; i <= 20; i++) w.add(ag(i), code(i), [CARRIER_OF(i)], TARGETS);
  return w;
}
const brief = (w: World) => attribute(w.input()).map((c) => ({ key: c.key, communes: c.communes, severity: c.severity, hard: c.hard }));

describe('signing services in attribution', () => {
  it('the CA\'s OCSP responder down in every commune: one service cause listing every commune, no local link', () => {
    const w = province();
    for (let i = 1; i <= 20; i++) w.set(ag(i), 'ca-ocsp', 'down');
    expect(brief(w)).toEqual([{ key: 'service:ca-ocsp', communes: range(1, 20).map(code), severity: 'down', hard: true }]);
  });

  it('OCSP and TSA of the CA both down everywhere: two service causes, nothing about links or carriers', () => {
    const w = province();
    for (let i = 1; i <= 20; i++) w.set(ag(i), 'ca-ocsp', 'down').set(ag(i), 'ca-tsa', 'down');
    expect(brief(w).map((c) => c.key)).toEqual(['service:ca-ocsp', 'service:ca-tsa']);
  });

  it('one commune cannot reach the CA while its portals and the data centre answer: no province-wide cause', () => {
    const w = province().set(ag(4), 'ca-ocsp', 'down');
    const causes = brief(w);
    expect(causes.filter((c) => c.key.startsWith('service:') || c.key.startsWith('carrier:'))).toEqual([]);
    // its link works (every other target answers): not a down local link either
    expect(causes.some((c) => c.key === `local_link:${code(4)}` && c.severity === 'down')).toBe(false);
  });

  it('a commune whose link is cut: its signing services fail with it, and the cause is its link, not the CA', () => {
    expect(brief(province().cut(ag(7)))).toEqual([{ key: `local_link:${code(7)}`, communes: [code(7)], severity: 'down', hard: true }]);
  });
});
