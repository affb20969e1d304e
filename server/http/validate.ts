// Request validation, one way for every route: a middleware per request part, with the route's schema from
// config/api.ts. A refusal is 400 `{ error: "field: message" }`; handlers read the parsed value with
// c.req.valid('query' | 'param' | 'json').
import type { MiddlewareHandler } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import { formatIssues } from '../../config/wire.ts';

type Part = 'json' | 'query' | 'param';

export function valid<P extends Part, S extends z.ZodType>(
  part: P,
  schema: S,
): MiddlewareHandler<any, string, { in: { [K in P]: z.input<S> }; out: { [K in P]: z.output<S> } }> {
  return validator(part, async (value, c) => {
    // The body is read whatever its Content-Type (curl and scripts often leave it out); none or bad JSON is
    // `undefined`, which the schema refuses by name.
    const input = part === 'json' ? await c.req.json().catch(() => undefined) : value;
    const r = await schema.safeParseAsync(input);
    if (!r.success) return c.json({ error: formatIssues(r.error.issues) }, 400);
    return r.data as z.output<S>;
  }) as unknown as MiddlewareHandler<any, string, { in: { [K in P]: z.input<S> }; out: { [K in P]: z.output<S> } }>;
}
