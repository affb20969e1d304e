// REST calls for incidents (server/routes/incidents.ts). Answers are validated: a server of another version
// shows an error instead of a half-drawn incident.
import { z } from 'zod';
import { formatIssues, incidentSchema, type IncidentWire } from '../../../config/wire.ts';
import { api, ApiError } from './api.ts';

const listSchema = z.array(incidentSchema);

function check<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) throw new ApiError(0, `${what}: ${formatIssues(r.error.issues, 2)}`);
  return r.data;
}

export async function listIncidents(query: string, signal?: AbortSignal): Promise<IncidentWire[]> {
  return check(listSchema, await api<unknown>(`/api/incidents?${query}`, signal ? { signal } : {}), 'GET /api/incidents');
}
export async function getIncident(id: string, signal?: AbortSignal): Promise<IncidentWire> {
  return check(incidentSchema, await api<unknown>(`/api/incidents/${encodeURIComponent(id)}`, signal ? { signal } : {}), 'GET /api/incidents/:id');
}
export async function ackIncident(id: string): Promise<IncidentWire> {
  return check(incidentSchema, await api<unknown>(`/api/incidents/${encodeURIComponent(id)}/ack`, { method: 'POST', body: {} }), 'ack');
}
export async function noteIncident(id: string, text: string): Promise<IncidentWire> {
  return check(incidentSchema, await api<unknown>(`/api/incidents/${encodeURIComponent(id)}/notes`, { method: 'POST', body: { text } }), 'note');
}
