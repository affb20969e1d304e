// Operator sessions: random ids in an HttpOnly cookie, kept in memory (a restart logs everyone out, by design:
// nothing secret is persisted). A session ends on logout, on expiry (swept every few seconds) or when its user's
// password or role changes; whatever hangs on it (live sockets) is told at once through onEnd.
import { randomBytes } from 'node:crypto';
import type { WSEvents } from 'hono/ws';
import type { SessionUser } from '../../config/api.ts';

export type { SessionUser };
export const SESSION_COOKIE = 'ioc_session';

const SWEEP_MS = 5000;
/** WebSocket close code of a socket whose session ended: log in again */
export const SESSION_ENDED = 4401;

export class Sessions {
  private map = new Map<string, { user: SessionUser; expires: number }>();
  private ends = new Map<string, Set<() => void>>();
  private timer: NodeJS.Timeout;

  constructor(private ttlMs: number, private now: () => number = Date.now) {
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  create(user: SessionUser): string {
    const id = randomBytes(32).toString('base64url');
    this.map.set(id, { user, expires: this.now() + this.ttlMs });
    return id;
  }
  get(id: string | undefined): SessionUser | undefined {
    if (!id) return undefined;
    const s = this.map.get(id);
    if (!s) return undefined;
    if (s.expires <= this.now()) {
      this.destroy(id);
      return undefined;
    }
    return s.user;
  }
  destroy(id: string | undefined) {
    if (!id) return;
    this.map.delete(id);
    const fns = this.ends.get(id);
    this.ends.delete(id);
    for (const f of fns ?? []) f();
  }
  /** every session of this user (its password or role changed) */
  endUser(username: string) {
    for (const [id, s] of [...this.map]) if (s.user.username === username) this.destroy(id);
  }
  /** run `fn` once when the session ends; returns the unsubscribe */
  onEnd(id: string, fn: () => void): () => void {
    let set = this.ends.get(id);
    if (!set) this.ends.set(id, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }
  close() {
    clearInterval(this.timer);
  }
  private sweep() {
    const t = this.now();
    for (const [k, v] of [...this.map]) if (v.expires <= t) this.destroy(k);
  }
}

/** A live socket opened with a session closes when the session ends (logout, expiry, password or role change). */
export function closeOnEnd<T>(events: WSEvents<T>, sessions: Sessions, id: string): WSEvents<T> {
  let off = () => {};
  return {
    ...events,
    onOpen(e, ws) {
      // ended between the upgrade's check and now
      if (!sessions.get(id)) return ws.close(SESSION_ENDED, 'session ended');
      off = sessions.onEnd(id, () => ws.close(SESSION_ENDED, 'session ended'));
      events.onOpen?.(e, ws);
    },
    onClose(e, ws) {
      off();
      events.onClose?.(e, ws);
    },
  };
}
