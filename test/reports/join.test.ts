// Identical report requests made while one is queued or being generated join it: the same job id, one generation.
// A request for another period is a job of its own. Through the real server and POST /api/reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

describe('identical report requests', () => {
  let s: TestServer;
  let operator = '';
  let dost = '';
  beforeAll(async () => {
    s = await startTestServer({
      users: [
        { username: 'vanhanh', password: 'mat-khau-van-hanh-1', role: 'operator' },
        { username: 'sokhcn', password: 'mat-khau-so-khcn-1', role: 'dost' },
      ],
    });
    [operator, dost] = await Promise.all([login(s.url, 'vanhanh', 'mat-khau-van-hanh-1'), login(s.url, 'sokhcn', 'mat-khau-so-khcn-1')]);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const post = async (cookie: string, body: unknown) => {
    const r = await fetch(`${s.url}/api/reports`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(r.status).toBe(202);
    return (await r.json()) as { id: string; status: string };
  };

  it('join the queued or running job; another period is another job; once generated a new request is a new job', async () => {
    const week = { kind: 'dost', period: { type: 'week' } };
    const a = await post(operator, week);
    const b = await post(dost, week);
    const c = await post(operator, { kind: 'dost', period: { type: 'month' } });
    expect(['queued', 'running']).toContain(b.status);
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);

    await s.reports.runner.idle();
    const weekly = s.reports.archive.list((e) => e.kind === 'dost' && e.period.type === 'week');
    expect(weekly).toHaveLength(1);
    expect(weekly[0]).toMatchObject({ id: a.id, status: 'done', attempts: 1, requestedBy: 'vanhanh' });
    expect(s.reports.archive.get(c.id)).toMatchObject({ status: 'done', period: { type: 'month' } });

    // the finished report is in the archive; asking again generates it afresh
    const d = await post(dost, week);
    expect(d.id).not.toBe(a.id);
    await s.reports.runner.idle();
  }, 120_000);
});
