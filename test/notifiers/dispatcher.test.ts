// Dispatcher behaviour with a fake clock and recording notifiers: routing, dedupe, reminders, rate limit
// with digests, retries, maintenance, restart priming, and that dispatch() never waits on a channel.
// The channels themselves are tested against real servers in the other files of this folder.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../config/schema.ts';
import type { Incident } from '../../server/incidents/types.ts';
import { createDispatcher, routeMatches, type Dispatcher } from '../../server/notifiers/dispatcher.ts';
import { NotifierError, type Notifier } from '../../server/notifiers/types.ts';
import { AN_PHU, BINH_SON, CAM_THANH, ev, FakeClock, incident, MIN, names, notificationsConfig, recorder, T0 } from './fixtures.ts';

type N = NonNullable<ConfigInput['notifications']>;
const hook = (id: string) => ({ id, kind: 'webhook' as const, url: `http://127.0.0.1:9/${id}`, secret: 'a-shared-secret-of-16+' });

let current: Dispatcher | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

function setup(n: N, notifiers: Notifier[], clock = new FakeClock(T0)) {
  const config = notificationsConfig(n);
  const d = createDispatcher({ config, notifiers: new Map(notifiers.map((x) => [x.id, x])), names, clock });
  current = d;
  const tick = (ms: number) => clock.advance(ms, () => d.settled());
  return { d, clock, tick, config };
}

const carrierInc = (over: Partial<Incident> = {}) => incident(over);
const serviceInc = (over: Partial<Incident> = {}) =>
  incident({ id: `service:dvc-quocgia:${T0}`, cause: 'service', subject: 'dvc-quocgia', carrier: null, targets: ['dvc-quocgia'], ...over });

describe('routeMatches', () => {
  const inc = carrierInc();
  it.each([
    [{}, true],
    [{ causes: ['carrier'] }, true],
    [{ causes: ['service', 'agent'] }, false],
    [{ carriers: ['vnpt', 'viettel'] }, true],
    [{ carriers: ['vnpt'] }, false],
    [{ communes: [BINH_SON] }, true],
    [{ communes: ['21061'] }, false],
    [{ targets: ['dvc-quocgia'] }, true],
    [{ targets: ['ioffice'] }, false],
    [{ severity: ['degraded'] }, false],
    [{ severity: ['down'], carriers: ['viettel'], causes: ['carrier'] }, true],
    [{ severity: ['down'], carriers: ['viettel'], causes: ['service'] }, false],
  ] as const)('%o -> %s', (m, want) => {
    expect(routeMatches(m as never, inc)).toBe(want);
  });
  it('an incident without a carrier never matches a carriers list', () => {
    expect(routeMatches({ carriers: ['viettel'] }, serviceInc())).toBe(false);
  });
});

describe('dispatcher', () => {
  it('routes by rule: a carrier to its channel, everything to the IOC, one message per destination', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock);
    const tg = recorder('tg', clock, { recipientMode: 'one', defaultRecipients: ['-100'] });
    const { d, tick } = setup(
      {
        channels: [hook('ioc'), { id: 'tg', kind: 'telegram', botToken: 'x', chatId: '-100' }],
        routes: [
          { match: {}, channels: ['ioc'] },
          { match: { causes: ['service'] }, channels: ['ioc'] }, // overlaps the first: still one message
          { match: { carriers: ['viettel'] }, channels: [{ channel: 'tg', to: ['-1001', '-1002'] }] },
          { match: { carriers: ['vnpt'] }, channels: ['tg'] },
        ],
      },
      [ioc, tg],
      clock,
    );
    d.dispatch(ev('opened', carrierInc()));
    d.dispatch(ev('opened', serviceInc()));
    await tick(0);
    expect(ioc.calls.map((c) => c.msg.events[0]!.incident.id)).toEqual([carrierInc().id, serviceInc().id]);
    // 'one' recipient mode: each chat is its own destination (a retry never repeats to the other)
    expect(tg.calls.map((c) => c.ctx.recipients)).toEqual([['-1001'], ['-1002']]);
    expect(tg.calls.every((c) => c.msg.subject === '[SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường')).toBe(true);
    d.dispatch(ev('opened', carrierInc({ id: 'carrier:vnpt:1', subject: 'vnpt', carrier: 'vnpt' })));
    await tick(0);
    expect(tg.calls.at(-1)!.ctx.recipients).toEqual(['-100']); // the channel's default chat
  });

  it('deduplicates: repeated engine events give one opening and one recovery', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock);
    const { d, tick } = setup({ reminderMinutes: 0, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] }, [ioc], clock);
    const inc = carrierInc();
    d.dispatch(ev('opened', inc));
    d.dispatch(ev('opened', inc));
    await tick(1000);
    d.dispatch(ev('updated', { ...inc, evidence: { summary: 'more', figures: {} } }));
    d.dispatch(ev('noted', inc));
    const done = { ...inc, resolvedAt: T0 + 30 * MIN };
    d.dispatch(ev('resolved', done));
    d.dispatch(ev('resolved', done));
    d.dispatch(ev('updated', done)); // late update after recovery
    await tick(1000);
    d.dispatch(ev('opened', inc)); // stale re-emit after recovery
    await tick(1000);
    expect(ioc.calls.map((c) => c.msg.events.map((e) => e.message))).toEqual([['opened'], ['resolved']]);
    expect(d.status().counters.deduplicated).toBeGreaterThanOrEqual(1); // the second recovery
  });

  it('an update that brings a commune into a route sends that route its opening, once', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock);
    const cam = recorder('cam', clock);
    const { d, tick } = setup(
      { reminderMinutes: 0, channels: [hook('ioc'), hook('cam')], routes: [{ channels: ['ioc'] }, { match: { communes: ['21061'] }, channels: ['cam'] }] },
      [ioc, cam],
      clock,
    );
    const inc = carrierInc();
    d.dispatch(ev('opened', inc));
    await tick(0);
    expect(cam.calls).toHaveLength(0);
    d.dispatch(ev('updated', { ...inc, communes: [...inc.communes, '21061'] }));
    d.dispatch(ev('updated', { ...inc, communes: [...inc.communes, '21061'] }));
    await tick(0);
    expect(cam.calls).toHaveLength(1);
    expect(cam.calls[0]!.msg.text).toContain('Xã/phường bị ảnh hưởng (4): Phường Cẩm Thành, Xã An Phú, Xã Bình Sơn, Xã Vạn Tường');
    expect(ioc.calls).toHaveLength(1);
    d.dispatch(ev('resolved', { ...inc, communes: [...inc.communes, '21061'], resolvedAt: T0 + 5 * MIN }));
    await tick(0);
    expect(cam.calls.map((c) => c.msg.events[0]!.message)).toEqual(['opened', 'resolved']);
    expect(ioc.calls.map((c) => c.msg.events[0]!.message)).toEqual(['opened', 'resolved']);
  });

  it('reminds every reminderMinutes while open and unacknowledged, at most maxReminders', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock);
    const { d, tick } = setup({ reminderMinutes: 30, maxReminders: 2, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] }, [ioc], clock);
    d.dispatch(ev('opened', carrierInc()));
    await tick(29 * MIN);
    expect(ioc.calls).toHaveLength(1);
    await tick(1 * MIN);
    expect(ioc.calls).toHaveLength(2);
    expect(ioc.calls[1]!.at).toBe(T0 + 30 * MIN);
    expect(ioc.calls[1]!.msg.text.split('\n')[1]).toBe('Sự cố chưa được tiếp nhận, đã kéo dài 30 phút (nhắc lần 1).');
    await tick(30 * MIN);
    expect(ioc.calls[2]!.msg.text.split('\n')[1]).toBe('Sự cố chưa được tiếp nhận, đã kéo dài 1 giờ (nhắc lần 2).');
    await tick(120 * MIN);
    expect(ioc.calls).toHaveLength(3); // stopped after 2 reminders
    d.dispatch(ev('resolved', carrierInc({ resolvedAt: clock.now() })));
    await tick(0);
    expect(ioc.calls.map((c) => c.msg.events[0]!.message)).toEqual(['opened', 'reminder', 'reminder', 'resolved']);
  });

  it('acknowledgement and recovery stop reminders; engine "reminder" events are ignored', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock);
    const { d, tick } = setup({ reminderMinutes: 10, maxReminders: 0, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] }, [ioc], clock);
    const a = carrierInc();
    const b = serviceInc();
    d.dispatch(ev('opened', a));
    d.dispatch(ev('opened', b));
    await tick(10 * MIN); // one reminder each
    d.dispatch(ev('acknowledged', { ...a, acknowledgedBy: 'trucban', acknowledgedAt: clock.now() }));
    d.dispatch(ev('reminder', b));
    await tick(15 * MIN); // b: second reminder at 20 min
    d.dispatch(ev('resolved', { ...b, resolvedAt: clock.now() }));
    await tick(60 * MIN);
    const kinds = (id: string) => ioc.calls.flatMap((c) => c.msg.events).filter((e) => e.incident.id === id).map((e) => e.message);
    expect(kinds(a.id)).toEqual(['opened', 'reminder']);
    expect(kinds(b.id)).toEqual(['opened', 'reminder', 'reminder', 'resolved']);
    expect(d.status().counters.ignored).toBe(1);
    expect(clock.pending).toBe(0); // no reminder timer left behind
  });

  it('skips maintenance incidents; an incident announced before its window still gets its recovery', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock);
    const { d, tick } = setup({ reminderMinutes: 10, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] }, [ioc], clock);
    const m = serviceInc({ maintenance: true });
    d.dispatch(ev('opened', m));
    await tick(30 * MIN);
    d.dispatch(ev('resolved', { ...m, resolvedAt: clock.now() }));
    await tick(0);
    expect(ioc.calls).toHaveLength(0);
    expect(d.status().counters.skippedMaintenance).toBe(1);

    const a = carrierInc({ openedAt: clock.now() });
    d.dispatch(ev('opened', a));
    await tick(1 * MIN);
    d.dispatch(ev('updated', { ...a, maintenance: true }));
    await tick(60 * MIN); // no reminders during maintenance
    d.dispatch(ev('resolved', { ...a, maintenance: true, resolvedAt: clock.now() }));
    await tick(0);
    expect(ioc.calls.map((c) => c.msg.events[0]!.message)).toEqual(['opened', 'resolved']);
  });

  it('rate limit: the last slot of a window carries one digest; later messages wait for the window; none lost', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock);
    const { d, tick } = setup({ rateLimitPerMinute: 3, reminderMinutes: 0, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] }, [ioc], clock);
    const incs = [CAM_THANH, AN_PHU, BINH_SON, '21061', '21085', '21028'].map((c) =>
      incident({ id: `local_link:${c}:${T0}`, cause: 'local_link', subject: c, communes: [c], carrier: 'vnpt' }),
    );
    for (const i of incs) d.dispatch(ev('opened', i)); // a burst in one tick
    await tick(0);
    expect(ioc.calls.map((c) => c.msg.events.length)).toEqual([1, 1, 4]);
    const digest = ioc.calls[2]!.msg;
    expect(digest.digest).toBe(true);
    expect(digest.subject).toBe('[TỔNG HỢP] 4 thông báo sự cố');
    expect(digest.text).toContain('- [SỰ CỐ] Mất kết nối đường truyền xã – Phường Nghĩa Lộ');

    const late = incident({ id: 'agent:21034:x', cause: 'agent', subject: AN_PHU, communes: [AN_PHU] });
    d.dispatch(ev('opened', late));
    await tick(59_999);
    expect(ioc.calls).toHaveLength(3);
    expect(d.status().destinations[0]).toMatchObject({ queued: 1, nextAttemptAt: T0 + 60_000, attemptsLastMinute: 3 });
    await tick(1);
    expect(ioc.calls).toHaveLength(4);
    expect(ioc.calls[3]!.at).toBe(T0 + 60_000);
    // every event arrived exactly once, and no 60 s window held more than 3 attempts
    const ids = ioc.calls.flatMap((c) => c.msg.events.map((e) => e.incident.id)).sort();
    expect(ids).toEqual([...incs.map((i) => i.id), late.id].sort());
    const times = ioc.calls.map((c) => c.at);
    for (const t of times) expect(times.filter((x) => x >= t && x < t + 60_000).length).toBeLessThanOrEqual(3);
    expect(d.status().destinations[0]).toMatchObject({ sent: 7, digests: 1, failed: 0 });
  });

  it('retries with backoff, same delivery id, then succeeds; status shows failure then success', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock, {
      behave: (n) => {
        if (n <= 2) throw new Error(`connect ECONNREFUSED (attempt ${n})`);
      },
    });
    const { d, tick } = setup(
      { reminderMinutes: 0, retry: { attempts: 5, baseDelaySec: 5 }, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] },
      [ioc],
      clock,
    );
    d.dispatch(ev('opened', carrierInc()));
    await tick(0);
    expect(ioc.calls).toHaveLength(1);
    let s = d.status();
    expect(s.channels[0]).toMatchObject({ id: 'ioc', queued: 1, lastError: 'connect ECONNREFUSED (attempt 1)', lastSuccessAt: null, lastFailureAt: T0 });
    await tick(4_999);
    expect(ioc.calls).toHaveLength(1);
    await tick(1);
    expect(ioc.calls).toHaveLength(2); // +5 s
    await tick(15_000);
    expect(ioc.calls).toHaveLength(3); // +15 s more
    expect(ioc.calls.map((c) => c.at - T0)).toEqual([0, 5_000, 20_000]);
    expect(new Set(ioc.calls.map((c) => c.ctx.deliveryId)).size).toBe(1);
    expect(ioc.calls.map((c) => c.ctx.attempt)).toEqual([1, 2, 3]);
    s = d.status();
    expect(s.channels[0]).toMatchObject({ queued: 0, sent: 1, failed: 0, lastSuccessAt: T0 + 20_000, lastFailureAt: T0 + 5_000 });
    expect(s.recent.map((r) => r.ok)).toEqual([true, false, false]);
  });

  it('gives up after the last attempt, or at once on a permanent error, and says so', async () => {
    const clock = new FakeClock(T0);
    const flaky = recorder('flaky', clock, {
      behave: () => {
        throw new Error('HTTP 503');
      },
    });
    const bad = recorder('bad', clock, {
      behave: () => {
        throw new NotifierError('telegram tg: HTTP 401: Unauthorized', { permanent: true });
      },
    });
    const { d, tick } = setup(
      { reminderMinutes: 0, retry: { attempts: 3, baseDelaySec: 1 }, channels: [hook('flaky'), hook('bad')], routes: [{ channels: ['flaky', 'bad'] }] },
      [flaky, bad],
      clock,
    );
    d.dispatch(ev('opened', carrierInc()));
    await tick(10 * MIN);
    expect(flaky.calls).toHaveLength(3);
    expect(bad.calls).toHaveLength(1);
    const s = d.status();
    expect(s.channels.map((c) => [c.id, c.failed, c.queued])).toEqual([
      ['flaky', 1, 0],
      ['bad', 1, 0],
    ]);
    expect(s.recent.filter((r) => r.gaveUp).map((r) => [r.channel, r.attempt, r.error])).toEqual(
      expect.arrayContaining([
        ['flaky', 3, 'HTTP 503'],
        ['bad', 1, 'telegram tg: HTTP 401: Unauthorized'],
      ]),
    );
  });

  it('waits as long as the API asks (retry-after) when that is longer than the backoff', async () => {
    const clock = new FakeClock(T0);
    const tg = recorder('tg', clock, {
      behave: (n) => {
        if (n === 1) throw new NotifierError('HTTP 429', { retryAfterMs: 40_000 });
      },
    });
    const { d, tick } = setup({ reminderMinutes: 0, channels: [hook('tg')], routes: [{ channels: ['tg'] }] }, [tg], clock);
    d.dispatch(ev('opened', carrierInc()));
    await tick(39_999);
    expect(tg.calls).toHaveLength(1);
    await tick(1);
    expect(tg.calls).toHaveLength(2);
  });

  it('messages queued behind a failing message keep their order and are merged when the limit bites', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock, {
      behave: (n) => {
        if (n <= 2) throw new Error('down');
      },
    });
    const { d, tick } = setup(
      { rateLimitPerMinute: 3, reminderMinutes: 0, retry: { baseDelaySec: 1 }, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] },
      [ioc],
      clock,
    );
    const inc = carrierInc();
    d.dispatch(ev('opened', inc));
    await tick(0);
    d.dispatch(ev('opened', serviceInc()));
    d.dispatch(ev('resolved', { ...inc, resolvedAt: T0 + 1000 }));
    await tick(2 * MIN);
    const sent = ioc.calls.slice(2).map((c) => c.msg.events.map((e) => `${e.incident.cause}:${e.message}`));
    // 3 attempts fill the first window; when it frees, its one free slot carries the backlog as a digest
    expect(sent).toEqual([['carrier:opened'], ['service:opened', 'carrier:resolved']]);
  });

  it('dispatch() returns at once even when a channel hangs, and never throws', async () => {
    const clock = new FakeClock(T0);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = recorder('slow', clock, { behave: () => gate });
    const broken: Notifier = {
      id: 'broken',
      kind: 'webhook',
      recipientMode: 'none',
      defaultRecipients: [],
      send() {
        throw new TypeError('synchronous bug in a channel');
      },
    };
    const { d } = setup({ reminderMinutes: 0, retry: { attempts: 1 }, channels: [hook('slow'), hook('broken')], routes: [{ channels: ['slow', 'broken'] }] }, [slow, broken], clock);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) d.dispatch(ev('opened', carrierInc({ id: `carrier:viettel:${i}` })));
    const took = performance.now() - t0;
    console.log(`dispatch: 200 events in ${took.toFixed(1)} ms while the channel hangs`);
    expect(took).toBeLessThan(500);
    // a malformed event is logged, not thrown into ingest
    expect(() => d.dispatch({ kind: 'opened', at: 0, incident: null as never })).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(slow.calls).toHaveLength(1); // one request at a time per destination
    expect(d.status().destinations.find((x) => x.channel === 'slow')).toMatchObject({ inFlight: true, queued: 200 });
    expect(d.status().channels.find((c) => c.id === 'broken')).toMatchObject({ lastError: 'synchronous bug in a channel' });
    release();
    await d.settled();
    expect(slow.calls.length).toBeGreaterThan(1);
  });

  it('after a restart, prime() keeps open incidents from being announced twice and resumes reminders', async () => {
    const clock = new FakeClock(T0 + 45 * MIN);
    const ioc = recorder('ioc', clock);
    const { d, tick } = setup({ reminderMinutes: 30, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] }, [ioc], clock);
    const inc = carrierInc();
    d.prime([inc, serviceInc({ maintenance: true }), carrierInc({ id: 'done', resolvedAt: T0 + MIN })]);
    d.dispatch(ev('opened', inc)); // the engine rebuilds its state and re-emits
    await tick(30 * MIN);
    d.dispatch(ev('resolved', { ...inc, resolvedAt: clock.now() }));
    await tick(0);
    expect(ioc.calls.map((c) => c.msg.events[0]!.message)).toEqual(['reminder', 'resolved']);
    expect(ioc.calls[0]!.msg.text).toContain('đã kéo dài 1 giờ 15 phút');
    expect(ioc.calls[1]!.msg.text).toContain('Kết thúc: 09:20 15/03/2026, kéo dài 1 giờ 15 phút');
  });

  it('enabled: false sends nothing', async () => {
    const clock = new FakeClock(T0);
    const ioc = recorder('ioc', clock);
    const { d, tick } = setup({ enabled: false, channels: [hook('ioc')], routes: [{ channels: ['ioc'] }] }, [ioc], clock);
    d.dispatch(ev('opened', carrierInc()));
    await tick(2 * 60 * MIN);
    expect(ioc.calls).toHaveLength(0);
  });
});
