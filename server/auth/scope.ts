// What a user may see. Enforced in every route and in the live feed, not only hidden in the UI.
//   admin, operator: everything live; dost: everything (history and reports);
//   carrier: only the communes it serves and only the figures measured over its own uplinks.
import type { SessionUser } from './sessions.ts';

export interface Scope {
  /** null = all carriers */
  carrier: string | null;
  /** may change things: acknowledge incidents, add notes, maintenance windows */
  canOperate: boolean;
}

export function scopeOf(user: SessionUser): Scope {
  switch (user.role) {
    case 'admin':
    case 'operator':
      return { carrier: null, canOperate: true };
    case 'dost':
      return { carrier: null, canOperate: false };
    case 'carrier':
      // a carrier user without a carrier sees nothing rather than everything
      return { carrier: user.carrier ?? '\u0000none', canOperate: false };
  }
}
