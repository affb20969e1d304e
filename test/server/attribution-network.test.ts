// The government data network (TSLCD) as its own uplink kind in attribution: every commune centre has a TSLCD line
// (run by VNPT) and an Internet line (VNPT in even communes, Viettel in odd ones). The provincial systems (iOffice, the
// online-conference gateway) are probed over TSLCD, the national portal over the Internet.
import { describe, expect, it } from 'vitest';
import { evidenceText } from '../../config/words.ts';
import type { Status } from '../../config/vocabulary.ts';
import { attribute, type CauseFinding, type SlotSnapshot } from '../../server/state/attribution.ts';
import type { Kind } from '../../server/kinds/index.ts';
import { code, World, WORLD_NOW } from '../helpers/attribution-world.ts';

const N = 10;
const ag = (i: number) => `ag-${code(i)}`;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);
const internetCarrier = (i: number) => (i % 2 === 0 ? 'vnpt' : 'viettel');
/** target -> the line it is probed over: wan1 = TSLCD (gw, ioffice, conference), wan2 = Internet (gw, dc, portal) */
const OVER: [string, Kind, 'wan1' | 'wan2'][] = [
  ['ioffice', 'http', 'wan1'],
  ['conference', 'tcp', 'wan1'],
  ['dc', 'icmp', 'wan2'],
  ['portal', 'http', 'wan2'],
];

function slot(i: number, target: string, kind: Kind, uplink: string, carrier: string): SlotSnapshot {
  return { commune: code(i), agent: ag(i), target, kind, uplink, carrier, status: 'up', latencyMs: 12, lossPct: 0, reason: null, since: WORLD_NOW - 600_000, lastKnown: null };
}

function province(): World {
  const w = new World();
  for (let i = 1; i <= N; i++) {
    w.add(ag(i), code(i), ['vnpt', internetCarrier(i)], []);
    w.agents.at(-1)!.uplinks[0]!.network = 'tslcd';
    for (const [t, kind, u] of OVER) w.slots.push(slot(i, t, kind, u, u === 'wan1' ? 'vnpt' : internetCarrier(i)));
  }
  return w;
}

/** every slot of one line of the commune fails (3 failed rounds: down) */
function cutLine(w: World, i: number, uplink: 'wan1' | 'wan2', status: Status = 'down'): World {
  for (const t of ['gw', ...OVER.filter((o) => o[2] === uplink).map((o) => o[0])]) w.set(ag(i), t, status, 100, uplink);
  return w;
}

const brief = (cs: CauseFinding[]) => cs.map((c) => ({ key: c.key, communes: c.communes, severity: c.severity, carrier: c.carrier }));

describe('attribution: the TSLCD network beside the Internet', () => {
  it('everything fine: no cause', () => {
    expect(attribute(province().input())).toEqual([]);
  });

  it('one commune\'s TSLCD line cut, its Internet fine: a local link on the TSLCD uplink, degraded, evidence naming TSLCD', () => {
    const causes = attribute(cutLine(province(), 3, 'wan1').input());
    expect(brief(causes)).toEqual([{ key: `local_link:${code(3)}`, communes: [code(3)], severity: 'degraded', carrier: 'vnpt' }]);
    const [c] = causes;
    expect(c!.hard).toBe(true);
    expect(c!.evidence.items[0]).toEqual({ code: 'network_path', network: 'tslcd', uplink: 'wan1', carrier: 'vnpt', internetOk: true });
    expect(c!.evidence.items[1]).toMatchObject({ code: 'gateway_failing', uplink: 'wan1', carrier: 'vnpt', hard: true });
    expect(c!.evidence.figures).toMatchObject({ network: 'tslcd', internetOk: 1, carrier: 'vnpt', pathsFailing: 1, pathsOk: 1 });
    expect(evidenceText(c!.evidence.items[0]!, 'vi')).toBe('Đường truyền số liệu chuyên dùng (TSLCD) mất kết nối (wan1 (vnpt)), Internet vẫn hoạt động');
    expect(evidenceText(c!.evidence.items[0]!, 'en')).toBe('The TSLCD path is down (wan1 (vnpt)), the Internet is fine');
  });

  it('two communes\' TSLCD lines cut: each waits for a network pattern (peers on the network, not on VNPT)', () => {
    const causes = attribute(cutLine(cutLine(province(), 3, 'wan1'), 4, 'wan1').input());
    expect(causes.map((c) => [c.key, c.peers])).toEqual([
      [`local_link:${code(3)}`, 1],
      [`local_link:${code(4)}`, 1],
    ]);
  });

  it('TSLCD cut in 6 of 10 communes while their Internet works: one cause for the TSLCD network, run by VNPT', () => {
    const w = province();
    for (const i of range(1, 6)) cutLine(w, i, 'wan1');
    const causes = attribute(w.input());
    expect(brief(causes)).toEqual([{ key: 'carrier:tslcd', communes: range(1, 6).map(code), severity: 'down', carrier: 'vnpt' }]);
    const ev = causes[0]!.evidence;
    expect(ev.items).toEqual([{ code: 'network_share', network: 'tslcd', carrier: 'vnpt', failing: 6, of: 10, internetPct: 0 }]);
    expect(ev.figures).toMatchObject({ carrier: 'vnpt', network: 'tslcd', internetShare: 0, communesFailing: 6 });
    expect(evidenceText(ev.items[0]!, 'vi')).toBe(
      '6/10 xã mất mạng truyền số liệu chuyên dùng (TSLCD) của vnpt cùng lúc, trong khi Internet của các xã đó vẫn hoạt động (Internet lỗi: 0 %)',
    );
  });

  it('TSLCD and Internet both cut in 6 of 10 communes (power, the building): no network cause, each commune\'s link is down', () => {
    const w = province();
    for (const i of range(1, 6)) cutLine(cutLine(w, i, 'wan1'), i, 'wan2');
    const causes = attribute(w.input());
    expect(causes.some((c) => c.key === 'carrier:tslcd')).toBe(false);
    expect(causes.filter((c) => c.cause === 'local_link').map((c) => [c.subject, c.severity])).toEqual(range(1, 6).map((i) => [code(i), 'down']));
  });

  it('the reverse, Internet cut and TSLCD fine: today\'s local link (degraded: the commune still has a line), no network words', () => {
    const causes = attribute(cutLine(province(), 3, 'wan2').input());
    expect(brief(causes)).toEqual([{ key: `local_link:${code(3)}`, communes: [code(3)], severity: 'degraded', carrier: 'viettel' }]);
    expect(causes[0]!.evidence.items.map((x) => x.code)).toEqual(['gateway_failing']);
    expect(causes[0]!.evidence.figures.network).toBeUndefined();
  });

  it('VNPT\'s Internet down in 4 of its 5 Internet communes, TSLCD fine: a VNPT carrier cause (its TSLCD lines do not dilute it)', () => {
    const w = province();
    for (const i of [2, 4, 6, 8]) cutLine(w, i, 'wan2');
    const causes = attribute(w.input());
    expect(brief(causes)).toEqual([{ key: 'carrier:vnpt', communes: [2, 4, 6, 8].map(code), severity: 'down', carrier: 'vnpt' }]);
    expect(causes[0]!.evidence.items).toEqual([{ code: 'carrier_share', carrier: 'vnpt', failing: 4, of: 5, otherPct: 0 }]);
  });

  it('iOffice (reached over TSLCD only) down everywhere: one service cause, no link or network cause', () => {
    const w = province();
    for (let i = 1; i <= N; i++) w.set(ag(i), 'ioffice', 'down');
    expect(brief(attribute(w.input()))).toEqual([{ key: 'service:ioffice', communes: range(1, N).map(code), severity: 'down', carrier: null }]);
  });

  it('a province without TSLCD lines is attributed exactly as before', () => {
    const w = province();
    for (const a of w.agents) delete a.uplinks[0]!.network;
    cutLine(w, 3, 'wan1');
    const [c] = attribute(w.input());
    expect(c!.evidence.items.map((x) => x.code)).toEqual(['gateway_failing']);
  });
});
