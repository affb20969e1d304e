// The `notifications` config section: optional with defaults, and path-qualified errors for the
// mistakes a person makes (unknown channel, missing recipient, bad address, weak webhook secret).
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../config/load.ts';
import type { ConfigInput } from '../../config/schema.ts';

const base = { province: { code: '51' }, carriers: [{ id: 'viettel', name: 'Viettel' }] };
const problems = (n: ConfigInput['notifications']): string[] => {
  try {
    parseConfig({ ...base, notifications: n });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
};

describe('notifications config', () => {
  it('is optional: defaults when absent', () => {
    expect(parseConfig(base).notifications).toEqual({
      enabled: true,
      reminderMinutes: 30,
      maxReminders: 4,
      rateLimitPerMinute: 10,
      retry: { attempts: 5, baseDelaySec: 5, maxDelaySec: 300 },
      channels: [],
      routes: [],
    });
  });

  it('fills channel defaults (language vi, API bases, SMTP port)', () => {
    const n = parseConfig({
      ...base,
      notifications: {
        channels: [
          { id: 'tg', kind: 'telegram', botToken: { env: 'TG' }, chatId: -100123 },
          { id: 'zl', kind: 'zalo', accessToken: 'x', userId: '123' },
          { id: 'mail', kind: 'email', host: 'smtp.example', from: 'ioc@example.vn', to: ['a@example.vn'] },
        ],
        routes: [{ channels: ['tg', { channel: 'zl', language: 'en' }, 'mail'] }],
      },
    }).notifications;
    expect(n.channels.map((c) => [c.id, c.language, c.timeoutMs])).toEqual([
      ['tg', 'vi', 10_000],
      ['zl', 'vi', 10_000],
      ['mail', 'vi', 10_000],
    ]);
    expect(n.channels[0]).toMatchObject({ apiBase: 'https://api.telegram.org' });
    expect(n.channels[1]).toMatchObject({ apiBase: 'https://openapi.zalo.me' });
    expect(n.channels[2]).toMatchObject({ port: 587, secure: false, requireTLS: false });
    expect(n.routes[0]!.match).toEqual({});
  });

  it.each([
    [
      'unknown channel in a route',
      { channels: [], routes: [{ channels: ['nope'] }] },
      'notifications.routes[0].channels[0]: unknown channel "nope"',
    ],
    [
      'telegram without any chat id',
      { channels: [{ id: 'tg', kind: 'telegram', botToken: 'x' }], routes: [{ channels: ['tg'] }] },
      'notifications.routes[0].channels[0]: channel "tg" has no chatId: give `to` here',
    ],
    [
      'zalo recipient that is not a user id',
      { channels: [{ id: 'zl', kind: 'zalo', accessToken: 'x' }], routes: [{ channels: [{ channel: 'zl', to: 'bob' }] }] },
      'notifications.routes[0].channels[0]: "bob" is not a Zalo user id',
    ],
    [
      'email route recipient that is not an address',
      { channels: [{ id: 'm', kind: 'email', host: 'h', from: 'ioc@x.vn' }], routes: [{ channels: [{ channel: 'm', to: ['truc ban'] }] }] },
      'notifications.routes[0].channels[0]: "truc ban" is not an email address',
    ],
    [
      'a webhook with a short literal secret',
      { channels: [{ id: 'h', kind: 'webhook', url: 'https://x.example/h', secret: 'short' }] },
      'notifications.channels[0].secret: expected at least 16 characters',
    ],
    [
      'duplicate channel ids',
      { channels: [{ id: 'h', kind: 'webhook', url: 'https://x.example/h', secret: { env: 'S' } }, { id: 'h', kind: 'webhook', url: 'https://x.example/i', secret: { env: 'S' } }] },
      'notifications.channels[1].id: duplicate id "h"',
    ],
    [
      'an unknown match key (typo)',
      { channels: [{ id: 'h', kind: 'webhook', url: 'https://x.example/h', secret: { env: 'S' } }], routes: [{ match: { carrier: ['viettel'] }, channels: ['h'] }] },
      'notifications.routes[0].match: Unrecognized key: "carrier"',
    ],
    [
      'a bad env name',
      { channels: [{ id: 'h', kind: 'webhook', url: 'https://x.example/h', secret: { env: 'MY-SECRET' } }] },
      'notifications.channels[0].secret',
    ],
  ])('%s', (_what, n, want) => {
    const p = problems(n as ConfigInput['notifications']);
    expect(p.some((x) => x.startsWith(want)), p.join('\n')).toBe(true);
  });
});
