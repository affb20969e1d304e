// What a user may see. Enforced in every route and in the live feed, not only hidden in the UI.
//   admin, operator, dost: everything;
//   carrier: only the communes it serves and only the figures measured over its own uplinks.
// What a user may change is per route: its `roles` in config/api.ts, checked by requireRole.
import type { SessionUser } from './sessions.ts';

export interface Scope {
  /** null = all carriers */
  carrier: string | null;
}

export function scopeOf(user: SessionUser): Scope {
  switch (user.role) {
    case 'admin':
    case 'operator':
    case 'dost':
      return { carrier: null };
    case 'carrier':
      // a carrier user without a carrier sees nothing rather than everything
      return { carrier: user.carrier ?? '\u0000none' };
  }
}
