// A seeded model of a province's links for the demo and for load tests: plausible per-carrier latency and loss,
// a few weak-signal communes, occasional outages. Pure and deterministic for a given seed; it never probes anything.
import type { PlanTarget, ProbeResult } from '../../config/wire.ts';
import { rttStats } from '../probes/icmp.ts';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Base one-way-ish RTT to the provincial data centre by carrier, ms (backbone differences, not a claim about any real network). */
const CARRIER_BASE_MS: Record<string, number> = { vnpt: 12, viettel: 10, mobifone: 18, fpt: 14 };

export interface CommuneProfile {
  code: string;
  carrier: string;
  /** extra RTT for remote/mountain communes, ms */
  remoteMs: number;
  /** steady background loss %, high in weak-signal communes */
  baseLoss: number;
}

export function profileFor(code: string, type: string, carriers: string[], rnd: () => number): CommuneProfile {
  const r = rnd();
  // Weighted carrier share, roughly like a rural province: VNPT and Viettel dominate fixed uplinks.
  const weights = carriers.map((c) => (c === 'vnpt' ? 4 : c === 'viettel' ? 3.5 : c === 'mobifone' ? 1.5 : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0, carrier = carriers[0]!;
  for (let i = 0; i < carriers.length; i++) {
    acc += weights[i]! / total;
    if (r < acc) { carrier = carriers[i]!; break; }
  }
  const rural = type === 'Xã' ? 1 : 0.2;
  const remoteMs = Math.round(rural * rnd() * 40);
  const weak = rnd() < 0.06;
  // Most links lose almost nothing; a 10-echo round reads one lost echo as 10 % loss, so keep background loss low.
  return { code, carrier, remoteMs, baseLoss: weak ? 8 + rnd() * 12 : rnd() < 0.3 ? rnd() * 0.5 : 0 };
}

export class CommuneSim {
  private outageLeft = 0;
  private rnd: () => number;
  constructor(readonly p: CommuneProfile, seed: number, private outageChance: number) {
    this.rnd = mulberry32(seed);
  }

  /** Advance one round: maybe start or end an outage. */
  tick() {
    if (this.outageLeft > 0) this.outageLeft--;
    else if (this.rnd() < this.outageChance) this.outageLeft = 4 + Math.floor(this.rnd() * 16);
  }

  get inOutage() {
    return this.outageLeft > 0;
  }

  result(t: PlanTarget, ts: number, uplink: string | undefined): ProbeResult {
    const rnd = this.rnd;
    const down = this.inOutage;
    const gauss = () => (rnd() + rnd() + rnd() - 1.5) * 2;
    switch (t.kind) {
      case 'icmp': {
        const gw = t.uplink !== undefined; // gateway targets are per uplink and close by
        const base = gw ? 1.2 : (CARRIER_BASE_MS[this.p.carrier] ?? 15) + this.p.remoteMs;
        // occasional congestion spikes in loss
        // the LAN gateway stays clean: weak signal and congestion are beyond it
        const loss = down ? 100 : gw ? 0 : Math.min(100, this.p.baseLoss + (rnd() < 0.02 ? 10 + rnd() * 20 : 0));
        const rtts: (number | null)[] = [];
        for (let i = 0; i < t.count; i++) {
          if (rnd() * 100 < loss) rtts.push(null);
          else rtts.push(Math.max(0.2, +(base * (1 + 0.08 * gauss()) + (rnd() < 0.05 ? rnd() * base : 0)).toFixed(2)));
        }
        const received = rtts.filter((x) => x !== null).length;
        return { kind: 'icmp', target: t.id, ts, uplink, sent: t.count, received, loss: ((t.count - received) / t.count) * 100, ...rttStats(rtts), rtts };
      }
      case 'http': {
        if (down) return { kind: 'http', target: t.id, ts, uplink, ok: false, status: null, total_ms: null, error: 'timeout' };
        const dns = 2 + rnd() * 20, connect = 10 + this.p.remoteMs + rnd() * 30, tls = 30 + rnd() * 60, ttfb = 80 + rnd() * 400;
        const total = dns + connect + tls + ttfb + rnd() * 50;
        const r2 = (x: number) => Math.round(x * 10) / 10;
        return {
          kind: 'http', target: t.id, ts, uplink, ok: true, status: 200,
          total_ms: r2(total), dns_ms: r2(dns), connect_ms: r2(connect), tls_ms: r2(tls), ttfb_ms: r2(ttfb), cert_days_left: 60 + Math.floor(rnd() * 30),
        };
      }
      case 'dns':
        if (down) return { kind: 'dns', target: t.id, ts, uplink, ok: false, total_ms: null, answers: 0, rcode: 'TIMEOUT', error: 'timeout' };
        return { kind: 'dns', target: t.id, ts, uplink, ok: true, total_ms: Math.round((3 + this.p.remoteMs / 2 + rnd() * 25) * 10) / 10, answers: 1 + Math.floor(rnd() * 3), rcode: 'NOERROR' };
      case 'tcp':
        if (down) return { kind: 'tcp', target: t.id, ts, uplink, ok: false, connect_ms: null, error: 'timeout' };
        return { kind: 'tcp', target: t.id, ts, uplink, ok: true, connect_ms: Math.round((10 + this.p.remoteMs + rnd() * 30) * 10) / 10 };
    }
  }
}
