import { Hono } from 'hono';
import { API, type ApiResponseIn } from '../../config/api.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { scopeOf } from '../auth/scope.ts';
import type { Directory } from '../directory.ts';
import { InvalidError, NotFoundError } from '../errors.ts';
import { valid } from '../http/validate.ts';
import { describesLink, KINDS } from '../kinds/index.ts';
import type { Store } from '../stores/types.ts';

const HOUR = 3_600_000;
const MAX_RANGE = 400 * 24 * HOUR;

/** GET /api/series: a commune/target's latency and loss over a time range, bucketed (mean per bucket). */
export function seriesRoutes(dir: Directory, store: Store, now: () => number = Date.now) {
  return new Hono<AuthEnv>().get('/', valid('query', API['GET /api/series'].query), async (c) => {
    const q = c.req.valid('query');
    const { commune } = q;
    const { carrier } = scopeOf(c.get('user'));
    if (!dir.communes.has(commune) || (carrier && !dir.communesOfCarrier(carrier).has(commune)))
      throw new NotFoundError(`commune: no commune "${commune}" in this province${carrier ? ' served by your carrier' : ''}`);
    const targetId = q.target ?? [...dir.targets.values()].find(describesLink)?.id;
    const target = targetId ? dir.targets.get(targetId) : undefined;
    if (!target) throw new NotFoundError(`target: unknown target "${targetId ?? ''}"`);
    const to = q.to ?? now();
    const from = q.from ?? to - 6 * HOUR;
    if (to - from > MAX_RANGE) throw new InvalidError('from/to: range longer than 400 days');
    // ~240 buckets by default, rounded to whole seconds
    const bucketMs = q.bucket ?? Math.max(1000, Math.ceil((to - from) / 240 / 1000) * 1000);
    if ((to - from) / bucketMs > 5000) throw new InvalidError('bucket: too many buckets (more than 5000), use a larger bucket');
    const f = KINDS[target.kind].chart;
    const fields = [f.latency, ...(f.loss ? [f.loss] : [])];
    const rows = await store.querySeries({
      measurement: target.kind, fields, from, to, bucketMs,
      // a carrier user only ever reads its own uplinks' figures
      where: { commune, target: target.id, ...(q.uplink ? { uplink: q.uplink } : {}), ...(carrier ? { carrier } : {}) },
    });
    const res: ApiResponseIn<'GET /api/series'> = {
      commune, target: target.id, kind: target.kind, bucketMs, from, to,
      points: rows.map((r) => ({ t: r.t, latencyMs: r.values[f.latency] ?? null, lossPct: f.loss ? (r.values[f.loss] ?? null) : null })),
    };
    return c.json(res);
  });
}
