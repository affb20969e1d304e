// What the UI offers each role. Mirrors server/auth/scope.ts, which enforces it: hiding a button here is
// courtesy, the server answers 403 anyway.
import type { Role } from '../../../config/schema.ts';

/** may acknowledge incidents and add notes */
export function canOperate(role: Role): boolean {
  return role === 'admin' || role === 'operator';
}
