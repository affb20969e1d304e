// Administration: a YAML reload without a restart (POST /api/admin/reload, the same as SIGHUP). A broken file is
// refused with the path of each problem and the running config stays. The audit trail: server/routes/audit.ts.
import { Hono } from 'hono';
import { API, type ApiResponseIn } from '../../config/api.ts';
import { ConfigError } from '../../config/errors.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { requireRole } from '../auth/require-role.ts';
import { InvalidError } from '../errors.ts';
import type { FleetControl } from '../fleet/control.ts';
import { valid } from '../http/validate.ts';

const REFUSED = 'administrators only';

export function adminRoutes(control: FleetControl) {
  return new Hono<AuthEnv>().post('/reload', requireRole(API['POST /api/admin/reload'].roles, REFUSED), (c) => {
    try {
      return c.json(control.reload(c.get('user').username) satisfies ApiResponseIn<'POST /api/admin/reload'>);
    } catch (e) {
      // the file, not the request, is wrong; the message lists each problem with its path
      if (e instanceof ConfigError) throw new InvalidError(`${e.message}\nthe running config is unchanged`);
      throw e;
    }
  });
}
