// Enrolment: operators create one-time codes (/api/enrollments); an agent trades its code for an id and a token
// (POST /api/enroll, no session: the code is the credential). Wrong codes are counted and throttled per address.
import { Hono, type Context } from 'hono';
import { API, type ApiResponseIn } from '../../config/api.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { requireRole } from '../auth/require-role.ts';
import type { FleetControl } from '../fleet/control.ts';
import type { FailureThrottle } from '../fleet/throttle.ts';
import { valid } from '../http/validate.ts';
import type { AgentRegistry } from '../ingest/agents.ts';

const REFUSED = 'your role may not enrol agents';
/** one answer for a wrong, used or expired code: a guesser learns nothing from it */
const BAD_CODE = 'unknown, used or expired enrolment code';

export interface EnrolDeps {
  control: FleetControl;
  throttle: FailureThrottle;
  registry: AgentRegistry;
}

/** POST /api/enroll, mounted outside the session check */
export function enrolRoute(d: EnrolDeps) {
  return new Hono().post('/', async (c, next) => {
    // before the body is read or any hash computed: a throttled address costs the server nothing
    const wait = d.throttle.retryAfter(remoteOf(c));
    if (wait > 0) {
      d.registry.counters.enrolThrottled++;
      c.header('Retry-After', String(wait));
      return c.json({ error: `too many wrong enrolment codes: try again in ${wait} s` }, 429);
    }
    await next();
  }, valid('json', API['POST /api/enroll'].body), async (c) => {
    const remote = remoteOf(c);
    const answer = await d.control.enrol(c.req.valid('json'), remote);
    if (!answer) {
      d.throttle.fail(remote);
      d.registry.counters.enrolFailures++;
      return c.json({ error: BAD_CODE }, 404);
    }
    d.registry.counters.enrolments++;
    return c.json(answer satisfies ApiResponseIn<'POST /api/enroll'>);
  });
}

/** /api/enrollments: create, list, withdraw */
export function enrollmentRoutes(control: FleetControl, publicUrl: string | undefined) {
  const roles = requireRole(API['POST /api/enrollments'].roles, REFUSED);
  return new Hono<AuthEnv>()
    .get('/', roles, (c) => c.json(control.listEnrolments() satisfies ApiResponseIn<'GET /api/enrollments'>))
    .post('/', roles, valid('json', API['POST /api/enrollments'].body), async (c) => {
      const created = await control.createEnrolment(c.req.valid('json'), c.get('user').username, publicUrl ?? new URL(c.req.url).origin);
      return c.json(created satisfies ApiResponseIn<'POST /api/enrollments'>, 201);
    })
    .delete('/:id', roles, valid('param', API['DELETE /api/enrollments/:id'].params), (c) => {
      control.deleteEnrolment(c.req.valid('param').id, c.get('user').username);
      return c.body(null, 204);
    });
}

/** the peer's address (a proxy in front makes every attempt its own: give it its own limits) */
export function remoteOf(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}
