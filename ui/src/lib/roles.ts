// What the UI offers each role. The server enforces the same roles (config/api.ts): hiding a button here is
// courtesy, the server answers 403 anyway.
import { OPERATOR_ROLES } from '../../../config/api.ts';
import type { Role } from '../../../config/schema.ts';

/** may acknowledge incidents and add notes */
export function canOperate(role: Role): boolean {
  return (OPERATOR_ROLES as readonly Role[]).includes(role);
}

/** may see and generate the DOST outage-history report (carrier users get only their own carrier's reports) */
export function canReportDost(role: Role): boolean {
  return role !== 'carrier';
}

/** the carrier a user's reports are fixed to, or null when it may pick any */
export function reportCarrier(user: { role: Role; carrier?: string | undefined }): string | null {
  return user.role === 'carrier' ? (user.carrier ?? '') : null;
}
