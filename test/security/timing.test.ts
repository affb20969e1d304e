// Guessing API-token ids by timing: an unknown id costs one scrypt like a wrong secret for a real id, so the answer
// time does not tell which ids exist. Measured with the configured cost (16384), where a skipped scrypt would make
// the unknown id answer tens of times faster than the wrong secret.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { requireSession, type AuthEnv } from '../../server/auth/middleware.ts';
import { hashSecret } from '../../server/auth/password.ts';
import { Sessions } from '../../server/auth/sessions.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('API token timing', () => {
  it('an unknown token id takes as long as a wrong secret for a real one', async () => {
    const app = new Hono<AuthEnv>()
      .use('*', requireSession(new Sessions(60_000), [{ id: 'grafana', role: 'dost', tokenHash: await hashSecret('s3cret-grafana') }]))
      .get('/x', (c) => c.text('ok'));
    const time = async (auth: string) => {
      const t0 = performance.now();
      const r = await app.request('/x', { headers: { authorization: `Bearer ${auth}` } });
      expect(r.status).toBe(401);
      return performance.now() - t0;
    };
    const unknown: number[] = [];
    const wrong: number[] = [];
    // interleaved, so a busy moment of the machine falls on both
    for (let i = 0; i < 7; i++) {
      unknown.push(await time(`nobody-${i}.s3cret-grafana`));
      wrong.push(await time(`grafana.wrong-${i}`));
    }
    const ratio = median(unknown) / median(wrong);
    expect(ratio, `unknown id ${median(unknown).toFixed(1)} ms, wrong secret ${median(wrong).toFixed(1)} ms`).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  }, 60_000);
});
