import { Hono } from 'hono';
import { z } from 'zod';
import { formatIssues } from '../../config/wire.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { scopeOf } from '../auth/scope.ts';
import type { Directory } from '../directory.ts';
import { describesLink, KINDS } from '../kinds/index.ts';
import type { Store } from '../stores/types.ts';

const HOUR = 3_600_000;
const MAX_RANGE = 400 * 24 * HOUR;

const query = z
  .object({
    commune: z.string().regex(/^\d{5}$/, 'expected a 5-digit commune code'),
    target: z.string().optional(),
    uplink: z.string().optional(),
    from: z.coerce.number().int().nonnegative().optional(),
    to: z.coerce.number().int().positive().optional(),
    bucket: z.coerce.number().int().min(1000).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] });

/** GET /api/series: a commune/target's latency and loss over a time range, bucketed (mean per bucket). */
export function seriesRoutes(dir: Directory, store: Store, now: () => number = Date.now) {
  return new Hono<AuthEnv>().get('/', async (c) => {
    const q = query.safeParse(c.req.query());
    if (!q.success) return c.json({ error: formatIssues(q.error.issues) }, 400);
    const { commune } = q.data;
    const { carrier } = scopeOf(c.get('user'));
    if (!dir.communes.has(commune) || (carrier && !dir.communesOfCarrier(carrier).has(commune)))
      return c.json({ error: `commune: no commune "${commune}" in this province${carrier ? ' served by your carrier' : ''}` }, 404);
    const targetId = q.data.target ?? [...dir.targets.values()].find(describesLink)?.id;
    const target = targetId ? dir.targets.get(targetId) : undefined;
    if (!target) return c.json({ error: `target: unknown target "${targetId ?? ''}"` }, 404);
    const to = q.data.to ?? now();
    const from = q.data.from ?? to - 6 * HOUR;
    if (to - from > MAX_RANGE) return c.json({ error: 'from/to: range longer than 400 days' }, 400);
    // ~240 buckets by default, rounded to whole seconds
    const bucketMs = q.data.bucket ?? Math.max(1000, Math.ceil((to - from) / 240 / 1000) * 1000);
    if ((to - from) / bucketMs > 5000) return c.json({ error: 'bucket: too many buckets (more than 5000), use a larger bucket' }, 400);
    const f = KINDS[target.kind].chart;
    const fields = [f.latency, ...(f.loss ? [f.loss] : [])];
    const rows = await store.querySeries({
      measurement: target.kind, fields, from, to, bucketMs,
      // a carrier user only ever reads its own uplinks' figures
      where: { commune, target: target.id, ...(q.data.uplink ? { uplink: q.data.uplink } : {}), ...(carrier ? { carrier } : {}) },
    });
    return c.json({
      commune, target: target.id, kind: target.kind, bucketMs, from, to,
      points: rows.map((r) => ({ t: r.t, latencyMs: r.values[f.latency] ?? null, lossPct: f.loss ? (r.values[f.loss] ?? null) : null })),
    });
  });
}
