// /api/reports: the archive, on-demand generation with progress, downloads.
// Roles: admin, operator and dost see and generate every report (DOST's and every carrier's); a carrier user
// (or carrier API token) sees and generates only its own carrier's dead-zone reports, never DOST's. Another
// carrier's report answers 404 like a missing one, so ids cannot be probed.
import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import type { z } from 'zod';
import { API, instantSchema, type ApiResponseIn } from '../../config/api.ts';
import { formatIssues } from '../../config/wire.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { scopeOf } from '../auth/scope.ts';
import type { Directory } from '../directory.ts';
import { ForbiddenError, InvalidError, NotFoundError } from '../errors.ts';
import { valid } from '../http/validate.ts';
import type { ArchiveEntry, ReportArchive } from '../reports/archive.ts';
import type { PeriodHelpers } from '../reports/cron.ts';
import type { JobProgress, ReportRequest, ReportRunner, RequestPeriod } from '../reports/runner.ts';

const DAY = 86_400_000;
const MAX_SPAN = 400 * DAY;

const isDay = (v: unknown) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v);
const generateBody = API['POST /api/reports'].body;

export interface ReportRouteDeps {
  archive: ReportArchive;
  runner: Pick<ReportRunner, 'submit' | 'job'>;
  dir: Directory;
  periods: PeriodHelpers;
  now?: () => number;
}

/** RFC 6266 / RFC 5987: an ASCII fallback plus the UTF-8 name, so browsers save "Báo cáo … Tháng 10-2026.pdf". */
export function contentDisposition(name: string, asciiName: string): string {
  const enc = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${asciiName.replace(/["\\]/g, '_')}"; filename*=UTF-8''${enc}`;
}

/** What the archive says about a job this process no longer (or never) ran. */
function progressOf(e: ArchiveEntry): JobProgress {
  const finished = e.status === 'done' || e.status === 'failed';
  return {
    id: e.id,
    status: e.status,
    stage: e.status === 'done' ? 'done' : e.status === 'failed' ? 'failed' : e.status === 'retrying' ? 'retry' : 'queued',
    stageLabel: e.status === 'done' ? 'Hoàn tất' : e.status === 'failed' ? 'Thất bại' : 'Đang chờ',
    percent: finished ? 100 : 0,
    attempts: e.attempts,
    maxAttempts: e.attempts,
    error: e.error,
    nextAttemptAt: e.nextAttemptAt,
    delivery: e.delivery.status,
  };
}

export function reportRoutes(d: ReportRouteDeps) {
  const now = d.now ?? Date.now;
  const visible = (c: Context<AuthEnv>, e: ArchiveEntry | null): e is ArchiveEntry => {
    const { carrier } = scopeOf(c.get('user'));
    return !!e && (carrier === null || (e.kind === 'carrier' && e.carrier === carrier));
  };
  const notFound = (id: string) => new NotFoundError(`no report "${id}"`);
  /** recipients are for admins, operators and DOST: a carrier user sees its report, not who else gets it */
  const out = (c: Context<AuthEnv>, e: ArchiveEntry): ApiResponseIn<'GET /api/reports/:id'> =>
    scopeOf(c.get('user')).carrier === null ? e : { ...e, delivery: { ...e.delivery, to: [] }, requestedBy: null };

  const period = (p: z.infer<typeof generateBody>['period']): RequestPeriod | string => {
    const t = now();
    const parse = (v: string | number | undefined, name: string) => {
      if (v === undefined) return undefined;
      const r = instantSchema.safeParse(v);
      return r.success ? r.data : `period.${name}: ${formatIssues(r.error.issues)}`;
    };
    const from = parse(p.from, 'from');
    if (typeof from === 'string') return from;
    if (p.type !== 'custom') {
      if (p.to !== undefined) return `period.to: only for a custom period`;
      const per = from === undefined ? d.periods.previous(p.type, t) : d.periods.containing(p.type, from);
      if (per.from > t) return 'period: starts in the future';
      return { ...per, type: p.type };
    }
    const to = parse(p.to, 'to');
    if (typeof to === 'string') return to;
    if (from === undefined || to === undefined) return 'period: a custom period needs `from` and `to`';
    // a day given as `to` is the last day reported: the period ends at the next midnight
    const end = isDay(p.to) ? to + DAY : to;
    if (end <= from) return 'period: `to` must be after `from`';
    if (end - from > MAX_SPAN) return 'period: longer than 400 days';
    if (from > t) return 'period: starts in the future';
    return { ...d.periods.custom(from, end), type: 'custom' };
  };

  return new Hono<AuthEnv>()
    .get('/', valid('query', API['GET /api/reports'].query), (c) => {
      const q = c.req.valid('query');
      const list = d.archive
        .list((e) => visible(c, e) && (!q.kind || e.kind === q.kind) && (!q.carrier || e.carrier === q.carrier))
        .slice(0, q.limit);
      return c.json(list.map((e) => out(c, e)));
    })
    .post('/', valid('json', generateBody), (c) => {
      const { carrier: scoped } = scopeOf(c.get('user'));
      const body = c.req.valid('json');
      if (scoped !== null && (body.kind !== 'carrier' || (body.carrier !== undefined && body.carrier !== scoped)))
        throw new ForbiddenError('a carrier account may only generate its own carrier reports');
      const p = period(body.period);
      if (typeof p === 'string') throw new InvalidError(p);
      let req: ReportRequest;
      if (body.kind === 'carrier') {
        const carrier = scoped ?? body.carrier;
        if (!carrier) throw new InvalidError('carrier: required for a carrier report');
        if (!d.dir.carriers.has(carrier)) throw new InvalidError(`carrier: unknown carrier "${carrier}"`);
        if (body.commune || body.target) throw new InvalidError('commune/target: only for a DOST report');
        req = { kind: 'carrier', carrier, period: p };
      } else {
        if (body.carrier) throw new InvalidError('carrier: not for a DOST report');
        if (body.commune && !d.dir.communes.has(body.commune)) throw new InvalidError(`commune: unknown commune "${body.commune}"`);
        if (body.target && !d.dir.targets.has(body.target)) throw new InvalidError(`target: unknown target "${body.target}"`);
        req = { kind: 'dost', scope: { ...(body.commune ? { commune: body.commune } : {}), ...(body.target ? { target: body.target } : {}) }, period: p };
      }
      const e = d.runner.submit(req, { trigger: 'manual', requestedBy: c.get('user').username });
      return c.json({ id: e.id, job: `/api/reports/jobs/${e.id}`, status: e.status, period: e.period } satisfies ApiResponseIn<'POST /api/reports'>, 202);
    })
    .get('/jobs/:id', (c) => {
      const id = c.req.param('id');
      const e = d.archive.get(id);
      if (!visible(c, e)) throw notFound(id);
      return c.json((d.runner.job(id) ?? progressOf(e)) satisfies ApiResponseIn<'GET /api/reports/jobs/:id'>);
    })
    .get('/:id', (c) => {
      const id = c.req.param('id');
      const e = d.archive.get(id);
      if (!visible(c, e)) throw notFound(id);
      return c.json(out(c, e));
    })
    .get('/:id/:format', valid('param', API['GET /api/reports/:id/:format'].params), (c) => {
      const { id, format } = c.req.valid('param');
      const e = d.archive.get(id);
      if (!visible(c, e)) throw notFound(id);
      const f = d.archive.file(id, format);
      if (!f) throw new NotFoundError(e.status === 'done' ? `report "${id}" has no ${format} file` : `report "${id}" is ${e.status}`);
      const body = readFileSync(f.path);
      return c.body(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), 200, {
        'Content-Type': f.contentType,
        'Content-Length': String(body.length),
        'Content-Disposition': contentDisposition(f.name, f.asciiName),
        'Cache-Control': 'private, no-store',
        'X-Content-Type-Options': 'nosniff',
      });
    });
}
