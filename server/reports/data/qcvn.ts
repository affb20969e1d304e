// The carrier report's QCVN 34 section: for each line (agent uplink) of the carrier with a contracted speed
// (config uplinks[].contractedMbps), over the period:
//   tests / okTests     speed tests stored (measurement `throughput`, tags agent + uplink), and those that measured
//                       both directions (ok); a failed or aborted test (link busy, timeout) is counted, never judged
//   downOkPct/upOkPct   share of ok tests whose speed reached minSpeedRatio × the contracted speed, %
//   meanDown/UpMbps     mean speed of the ok tests
//   latencyMs           mean of the round medians (rtt_median) of the ICMP rounds over the line, gateway targets left
//                       out: the standard's latency is to a server beyond the access network, not to the LAN gateway
//   availabilityPct     rounds not failed / rounds of every ICMP target over the line: the report's availability
//                       (carrier.ts) taken per line instead of per commune
//   unmet               the standard's figures as compared: mean speed >= ratio × contract (each direction), latency
//                       <= max, availability >= min; only measured figures are judged
// The carrier total pools every line's tests and rounds (no mean speed: contracts differ).
// Speeds come from raw points, so a period older than the raw retention (store.rawRetentionDays, default 30) counts
// only the tests still kept; latency and availability read the rollups like the rest of the report.
import type { Directory } from '../../directory.ts';
import { isGatewayTarget } from '../../kinds/index.ts';
import { emptyFigures, mergeFigures, type RoundClassifier } from '../../stores/rollup.ts';
import type { RollupFigures, Store } from '../../stores/types.ts';
import type { Period, QcvnFigures, QcvnLineRow, QcvnSection, QcvnThresholds } from '../model.ts';
import { fmtNum } from './format.ts';
import { readAggregates } from './rollups.ts';

interface Line {
  agent: string;
  commune: string;
  uplink: string;
  contracted: { down: number; up: number };
}

/** Speed tests of one line (or of all) as counts: ok tests, those at or above the bar, sums of speeds. */
interface Speeds {
  tests: number;
  ok: number;
  downOk: number;
  upOk: number;
  downSum: number;
  upSum: number;
}
const noSpeeds = (): Speeds => ({ tests: 0, ok: 0, downOk: 0, upOk: 0, downSum: 0, upSum: 0 });

const key = (agent: string, uplink: string) => `${agent}\u0000${uplink}`;
const share = (n: number, of: number) => (of > 0 ? (n / of) * 100 : null);

function figures(s: Speeds, icmp: { all: RollupFigures; remote: RollupFigures }, means: boolean): QcvnFigures {
  return {
    tests: s.tests,
    okTests: s.ok,
    downOkPct: share(s.downOk, s.ok),
    upOkPct: share(s.upOk, s.ok),
    meanDownMbps: means && s.ok > 0 ? s.downSum / s.ok : null,
    meanUpMbps: means && s.ok > 0 ? s.upSum / s.ok : null,
    latencyMs: icmp.remote.latN > 0 ? icmp.remote.latSum / icmp.remote.latN : null,
    availabilityPct: icmp.all.rounds > 0 ? ((icmp.all.rounds - icmp.all.failed) / icmp.all.rounds) * 100 : null,
  };
}

function unmet(f: QcvnFigures, c: Line['contracted'], t: QcvnThresholds): string | null {
  const out: string[] = [];
  const bar = (v: number) => `${fmtNum(t.minSpeedRatio * 100)}% × ${fmtNum(v)} Mbit/s`;
  if (f.meanDownMbps !== null && f.meanDownMbps < t.minSpeedRatio * c.down) out.push(`tải xuống trung bình ${fmtNum(f.meanDownMbps, 1)} Mbit/s < ${bar(c.down)}`);
  if (f.meanUpMbps !== null && f.meanUpMbps < t.minSpeedRatio * c.up) out.push(`tải lên trung bình ${fmtNum(f.meanUpMbps, 1)} Mbit/s < ${bar(c.up)}`);
  if (f.latencyMs !== null && f.latencyMs > t.maxLatencyMs) out.push(`độ trễ trung bình ${fmtNum(f.latencyMs, 1)} ms > ${fmtNum(t.maxLatencyMs)} ms`);
  if (f.availabilityPct !== null && f.availabilityPct < t.minAvailabilityPct) out.push(`khả dụng ${fmtNum(f.availabilityPct)}% < ${fmtNum(t.minAvailabilityPct)}%`);
  if (!out.length) return null;
  const s = out.join('; ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The section, or undefined when no line of the carrier has a contracted speed. Rollups are run by the caller. */
export async function buildQcvnSection(
  store: Store,
  dir: Directory,
  carrierId: string,
  period: Period,
  thresholds: QcvnThresholds,
  classify: RoundClassifier,
): Promise<QcvnSection | undefined> {
  const lines: Line[] = [];
  /** a round without an uplink tag comes from a single-uplink agent: it is that uplink's */
  const lineOf = new Map<string, Line>();
  for (const a of dir.agents.values())
    for (const u of a.uplinks) {
      if (u.carrier !== carrierId || !u.contractedMbps) continue;
      const line = { agent: a.id, commune: a.commune, uplink: u.name, contracted: u.contractedMbps };
      lines.push(line);
      lineOf.set(key(a.id, u.name), line);
      if (a.uplinks.length === 1) lineOf.set(key(a.id, ''), line);
    }
  if (!lines.length) return undefined;

  const speeds = new Map<Line, Speeds>(lines.map((l) => [l, noSpeeds()]));
  const total = noSpeeds();
  const tests = await store.queryRaw({ measurement: 'throughput', from: period.from, to: period.to, where: { carrier: carrierId } });
  for (const p of tests) {
    const line = lineOf.get(key(p.tags.agent, p.tags.uplink));
    if (!line) continue;
    const s = speeds.get(line)!;
    const { ok, down_mbps: down, up_mbps: up } = p.fields;
    for (const x of [s, total]) {
      x.tests++;
      if (ok !== true || typeof down !== 'number' || typeof up !== 'number') continue;
      x.ok++;
      x.downSum += down;
      x.upSum += up;
      if (down >= thresholds.minSpeedRatio * line.contracted.down) x.downOk++;
      if (up >= thresholds.minSpeedRatio * line.contracted.up) x.upOk++;
    }
  }

  const icmp = new Map<Line, { all: RollupFigures; remote: RollupFigures }>(lines.map((l) => [l, { all: emptyFigures(false), remote: emptyFigures(false) }]));
  const pooled = { all: emptyFigures(false), remote: emptyFigures(false) };
  const q = { measurement: 'icmp' as const, from: period.from, to: period.to, where: { carrier: carrierId }, groupBy: ['agent' as const, 'uplink' as const, 'target' as const] };
  for (const a of await readAggregates(store, q, classify)) {
    const line = lineOf.get(key(a.tags.agent ?? '', a.tags.uplink ?? ''));
    if (!line) continue;
    const target = dir.targets.get(a.tags.target ?? '');
    const remote = !target || !isGatewayTarget(target);
    for (const f of [icmp.get(line)!, pooled]) {
      mergeFigures(f.all, a);
      if (remote) mergeFigures(f.remote, a);
    }
  }

  const rows: QcvnLineRow[] = lines.map((l) => {
    const f = figures(speeds.get(l)!, icmp.get(l)!, true);
    return {
      commune: l.commune,
      name: dir.communes.get(l.commune)?.fullName ?? l.commune,
      agent: l.agent,
      uplink: l.uplink,
      contractedMbps: { ...l.contracted },
      ...f,
      unmet: unmet(f, l.contracted, thresholds),
    };
  });
  rows.sort((a, b) => (a.commune < b.commune ? -1 : a.commune > b.commune ? 1 : a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : a.uplink < b.uplink ? -1 : a.uplink > b.uplink ? 1 : 0));
  return { thresholds: { ...thresholds }, rows, total: figures(total, pooled, false) };
}
