// Operator sessions: random ids in an HttpOnly cookie, kept in memory (a restart logs everyone out, by design:
// nothing secret is persisted). Expired sessions are swept lazily.
import { randomBytes } from 'node:crypto';
import type { SessionUser } from '../../config/api.ts';

export type { SessionUser };
export const SESSION_COOKIE = 'ioc_session';

export class Sessions {
  private map = new Map<string, { user: SessionUser; expires: number }>();
  constructor(private ttlMs: number, private now: () => number = Date.now) {}

  create(user: SessionUser): string {
    const id = randomBytes(32).toString('base64url');
    this.map.set(id, { user, expires: this.now() + this.ttlMs });
    if (this.map.size % 100 === 0) this.sweep();
    return id;
  }
  get(id: string | undefined): SessionUser | undefined {
    if (!id) return undefined;
    const s = this.map.get(id);
    if (!s) return undefined;
    if (s.expires <= this.now()) {
      this.map.delete(id);
      return undefined;
    }
    return s.user;
  }
  destroy(id: string | undefined) {
    if (id) this.map.delete(id);
  }
  private sweep() {
    const t = this.now();
    for (const [k, v] of this.map) if (v.expires <= t) this.map.delete(k);
  }
}
