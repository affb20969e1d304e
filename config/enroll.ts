// The enrolment exchange between `ioc-agent enroll` and POST /api/enroll: pure zod with no other import, so the
// agent bundle can use it without pulling in the server's config schema. config/api.ts lists the route with these.
import { z } from 'zod';

/** what the agent sends: the one-time code and a little about the machine (shown on the agents page) */
export const enrollBodySchema = z.object({
  code: z.string().min(1).max(64),
  hostname: z.string().max(255).optional(),
  platform: z.string().max(64).optional(),
  version: z.string().max(64).optional(),
});
export type EnrollBody = z.infer<typeof enrollBodySchema>;

/** what the agent gets once: its id and token (the server keeps only the token's hash) */
export const enrollAnswerSchema = z.object({
  id: z.string().min(1),
  token: z.string().min(1),
  commune: z.string(),
  site: z.object({ name: z.string(), kind: z.string() }).optional(),
});
export type EnrollAnswer = z.infer<typeof enrollAnswerSchema>;
