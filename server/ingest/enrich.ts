// Probe result -> store point. Tags come from the config (province, commune, carrier), never from the agent,
// so an agent cannot write for a commune that is not its own. Every point the ingest writes is built here. Pure.
import type { AgentHeartbeat, ProbeResult } from '../../config/wire.ts';
import type { Directory } from '../directory.ts';
import { MEASUREMENTS } from '../stores/measurements.ts';
import type { FieldValue, Point } from '../stores/types.ts';

/** `backfilled`: the result arrived late (replayed from the agent's spool); set by the server, never by the agent. */
export function toPoint(dir: Directory, agentId: string, r: ProbeResult, backfilled = false): Point {
  const def = MEASUREMENTS[r.kind];
  const src = r as unknown as Record<string, unknown>;
  const fields: Record<string, FieldValue> = {};
  for (const name of Object.keys(def.fields)) {
    const v = src[name];
    fields[name] = v === undefined ? null : (v as FieldValue);
  }
  fields.backfilled = backfilled;
  return { measurement: r.kind, ts: r.ts, tags: tagsOf(dir, agentId, r.target, r.uplink), fields };
}

/**
 * An agent's health from its heartbeat -> `agent` point, stamped with the server's clock (`ts`).
 * `clockOffsetMs` is the server's estimate of the agent's clock offset, not a field of the heartbeat.
 */
export function agentPoint(dir: Directory, agentId: string, hb: AgentHeartbeat, clockOffsetMs: number, ts: number): Point {
  return {
    measurement: 'agent',
    ts,
    tags: tagsOf(dir, agentId, '', undefined),
    fields: { pending: hb.pending, dropped: hb.dropped, uptime_s: hb.uptimeSec, clock_offset_ms: clockOffsetMs, rtt_ms: hb.rttMs ?? null, spool_bytes: hb.spoolBytes ?? null },
  };
}

function tagsOf(dir: Directory, agentId: string, target: string, uplink: string | undefined): Point['tags'] {
  const agent = dir.agents.get(agentId);
  if (!agent) throw new Error(`unknown agent ${agentId}`);
  return {
    province: dir.province.code,
    commune: agent.commune,
    carrier: dir.carrierOf(agentId, uplink),
    agent: agentId,
    target,
    uplink: uplink ?? '',
  };
}
