// REST calls for reports (server/routes/reports.ts; entry shape: server/reports/archive.ts). Answers are checked:
// a server of another version shows an error instead of a half-drawn list. Unknown fields pass through.
import { z } from 'zod';
import { formatIssues } from '../../../config/wire.ts';
import { api, ApiError } from './api.ts';
import type { GenerateBody } from './reports.ts';

const format = z.enum(['pdf', 'xlsx', 'csv']);
const status = z.enum(['queued', 'running', 'retrying', 'done', 'failed']);
const file = z.object({ name: z.string(), asciiName: z.string(), contentType: z.string(), bytes: z.number() });

export const entrySchema = z.object({
  id: z.string(),
  kind: z.enum(['carrier', 'dost']),
  carrier: z.string().nullable(),
  scope: z.object({ commune: z.string().optional(), target: z.string().optional() }).default({}),
  period: z.object({ type: z.enum(['week', 'month', 'custom']), from: z.number(), to: z.number(), label: z.string() }),
  formats: z.array(format),
  files: z.object({ pdf: file.optional(), xlsx: file.optional(), csv: file.optional() }),
  title: z.string().nullable(),
  trigger: z.enum(['schedule', 'manual']),
  schedule: z.string().nullable(),
  requestedBy: z.string().nullable(),
  createdAt: z.number(),
  generatedAt: z.number().nullable(),
  status,
  error: z.string().nullable(),
  attempts: z.number(),
  nextAttemptAt: z.number().nullable(),
  delivery: z.object({ status: z.enum(['none', 'pending', 'sent', 'failed']), error: z.string().nullable(), at: z.number().nullable() }),
});
export type ReportEntry = z.infer<typeof entrySchema>;

export const progressSchema = z.object({
  id: z.string(),
  status,
  /** a stage name (server/reports/runner.ts Stage); kept open so a new stage doesn't break the page */
  stage: z.string(),
  stageLabel: z.string(),
  percent: z.number(),
  attempts: z.number(),
  maxAttempts: z.number(),
  error: z.string().nullable(),
  nextAttemptAt: z.number().nullable(),
});
export type JobProgress = z.infer<typeof progressSchema>;

const submitted = z.object({ id: z.string(), job: z.string(), status });
export type Submitted = z.infer<typeof submitted>;

function check<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) throw new ApiError(-1, `${what}: ${formatIssues(r.error.issues, 2)}`);
  return r.data;
}

export async function listReports(query: string, signal?: AbortSignal): Promise<ReportEntry[]> {
  return check(z.array(entrySchema), await api<unknown>(`/api/reports?${query}`, signal ? { signal } : {}), 'GET /api/reports');
}
export async function generateReport(body: GenerateBody): Promise<Submitted> {
  return check(submitted, await api<unknown>('/api/reports', { method: 'POST', body }), 'POST /api/reports');
}
export async function jobProgress(id: string, signal?: AbortSignal): Promise<JobProgress> {
  return check(progressSchema, await api<unknown>(`/api/reports/jobs/${encodeURIComponent(id)}`, signal ? { signal } : {}), 'GET /api/reports/jobs/:id');
}
