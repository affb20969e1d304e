// A seeded model of a province's links for the demo and for load tests: plausible per-carrier latency and loss,
// a few weak-signal communes, occasional outages. Pure and deterministic for a given seed; it never probes anything.
// What a round of each kind looks like is the kind's `simulate` (server/kinds/); this file keeps the commune's state.
import type { PlanTarget, ProbeResult } from '../../config/wire.ts';
import { kindOf } from '../../server/kinds/index.ts';
import type { SimContext } from '../../server/kinds/types.ts';

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
    const ctx: SimContext = {
      rnd: this.rnd,
      down: this.inOutage,
      baseMs: (CARRIER_BASE_MS[this.p.carrier] ?? 15) + this.p.remoteMs,
      remoteMs: this.p.remoteMs,
      baseLoss: this.p.baseLoss,
    };
    return kindOf(t.kind).simulate(t, ctx, { target: t.id, ts, uplink });
  }
}
