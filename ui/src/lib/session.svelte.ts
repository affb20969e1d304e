// Who is logged in. `checked` is false until GET /api/auth/me answered, so the app shows neither the
// login form nor the map while it doesn't know yet (no flash of the login page on reload).
import type { SessionUser } from '../../../config/api.ts';
import { ApiError, call, setUnauthorizedHandler } from './api.ts';

/** the logged-in user; a later server may add a display name */
export type User = SessionUser & { displayName?: string };

export class Session {
  user = $state<User | null>(null);
  checked = $state(false);
  /** set when the session could not be checked for another reason than 401 (server down) */
  error = $state<string | null>(null);

  constructor() {
    setUnauthorizedHandler(() => {
      this.user = null;
    });
  }

  async check(): Promise<void> {
    try {
      this.user = await call('GET /api/auth/me', { quiet401: true });
      this.error = null;
    } catch (e) {
      this.user = null;
      this.error = e instanceof ApiError && e.status === 401 ? null : (e as Error).message;
    } finally {
      this.checked = true;
    }
  }

  /** Resolves on success; throws ApiError (401 = wrong credentials). */
  async login(username: string, password: string): Promise<void> {
    const res = await call('POST /api/auth/login', { body: { username, password }, quiet401: true });
    this.user = res.user;
    this.error = null;
  }

  async logout(): Promise<void> {
    try {
      await call('POST /api/auth/logout', { quiet401: true });
    } finally {
      this.user = null;
    }
  }
}

export const session = new Session();
