// Probe result -> store point. Tags come from the config (province, commune, carrier), never from the agent,
// so an agent cannot write for a commune that is not its own. Pure.
import type { ProbeResult } from '../../config/wire.ts';
import type { Directory } from '../directory.ts';
import { MEASUREMENTS } from '../stores/measurements.ts';
import type { FieldValue, Point } from '../stores/types.ts';

/** `backfilled`: the result arrived late (replayed from the agent's spool); set by the server, never by the agent. */
export function toPoint(dir: Directory, agentId: string, r: ProbeResult, backfilled = false): Point {
  const agent = dir.agents.get(agentId);
  if (!agent) throw new Error(`unknown agent ${agentId}`);
  const def = MEASUREMENTS[r.kind];
  const src = r as unknown as Record<string, unknown>;
  const fields: Record<string, FieldValue> = {};
  for (const name of Object.keys(def.fields)) {
    const v = src[name];
    fields[name] = v === undefined ? null : (v as FieldValue);
  }
  fields.backfilled = backfilled;
  return {
    measurement: r.kind,
    ts: r.ts,
    tags: {
      province: dir.province.code,
      commune: agent.commune,
      carrier: dir.carrierOf(agentId, r.uplink),
      agent: agentId,
      target: r.target,
      uplink: r.uplink ?? '',
    },
    fields,
  };
}
