// Wrong passwords, API tokens and agent tokens, counted per source address and per account within a sliding window
// (config `security`). Past either limit the attempt is refused with 429 + Retry-After before any secret is checked,
// so the right password after too many wrong ones is refused too until the window passes.
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { SecurityConfig } from '../../config/schema.ts';
import { FailureThrottle } from '../fleet/throttle.ts';

/** what was being guessed: the log line and the counters say it */
export type Credential = 'password' | 'api_token' | 'agent_token';

export class AuthThrottle {
  private byAddress: FailureThrottle;
  private byAccount: FailureThrottle;
  readonly counters = { failures: 0, throttled: 0 };

  constructor(
    limits: Pick<SecurityConfig, 'maxFailuresPerAddress' | 'maxFailuresPerAccount' | 'failureWindowSec'>,
    private readonly log: Pick<Logger, 'warn'>,
    now: () => number = Date.now,
  ) {
    const windowMs = limits.failureWindowSec * 1000;
    // `total` is not a limit here: one busy attacker must not lock every operator out
    this.byAddress = new FailureThrottle({ perAddress: limits.maxFailuresPerAddress, total: Number.MAX_SAFE_INTEGER, windowMs }, now);
    this.byAccount = new FailureThrottle({ perAddress: limits.maxFailuresPerAccount, total: Number.MAX_SAFE_INTEGER, windowMs }, now);
  }

  /** seconds until this address may try this account again, or 0; a refusal is counted and logged */
  check(kind: Credential, address: string, account: string): number {
    const wait = Math.max(this.byAddress.retryAfter(address), this.byAccount.retryAfter(`${kind}:${account}`));
    if (wait > 0) {
      this.counters.throttled++;
      this.log.warn({ credential: kind, account, source: address, retryAfterSec: wait }, 'authentication throttled');
    }
    return wait;
  }

  /** a wrong secret: counted against the address and the account, logged without the secret */
  fail(kind: Credential, address: string, account: string): void {
    this.counters.failures++;
    this.byAddress.fail(address);
    this.byAccount.fail(`${kind}:${account}`);
    this.log.warn({ credential: kind, account, source: address }, 'authentication failed');
  }
}

/** The 429 answer of a throttled attempt. */
export function throttled(c: Context, retryAfterSec: number): Response {
  c.header('Retry-After', String(retryAfterSec));
  return c.json({ error: `too many failed attempts; try again in ${retryAfterSec} s` }, 429);
}
