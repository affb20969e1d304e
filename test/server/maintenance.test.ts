import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { maintenanceWindowSchema, parseVnTime, type MaintenanceWindow } from '../../config/schema.ts';
import { activeSpan, activeWindows, covers, MaintenanceBook, MaintenanceError, type MaintenanceScope } from '../../server/incidents/maintenance.ts';

/** Asia/Ho_Chi_Minh wall time -> epoch ms (UTC+7, no DST) */
const vn = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h - 7, mi);

const once: MaintenanceWindow = { id: 'once', kind: 'once', from: '2025-07-01T08:00', to: '2025-07-01T10:00' };
// Sunday 22:00 for 3 h: runs past midnight into Monday
const sundayNight: MaintenanceWindow = { id: 'sun-night', kind: 'weekly', days: ['sun'], start: '22:00', durationMin: 180 };
// Monday 01:00-03:00 Vietnam time is still Sunday in UTC
const mondayEarly: MaintenanceWindow = { id: 'mon-early', kind: 'weekly', days: ['mon'], start: '01:00', durationMin: 120 };
// 2025-07-06 is a Sunday, 2025-07-07 a Monday

describe('maintenance: when a window is active', () => {
  it.each<[string, MaintenanceWindow, number, boolean]>([
    ['one-off: before', once, vn(2025, 7, 1, 7, 59), false],
    ['one-off: from is inclusive', once, vn(2025, 7, 1, 8, 0), true],
    ['one-off: inside', once, vn(2025, 7, 1, 9, 30), true],
    ['one-off: to is exclusive', once, vn(2025, 7, 1, 10, 0), false],
    ['one-off with an explicit offset', { ...once, from: '2025-07-01T01:00Z', to: '2025-07-01T03:00+00:00' }, vn(2025, 7, 1, 9, 0), true],
    ['weekly: just before the start', sundayNight, vn(2025, 7, 6, 21, 59), false],
    ['weekly: at the start', sundayNight, vn(2025, 7, 6, 22, 0), true],
    ['weekly: after midnight, next day', sundayNight, vn(2025, 7, 7, 0, 30), true],
    ['weekly: at the end', sundayNight, vn(2025, 7, 7, 1, 0), false],
    ['weekly: other days are not in it', sundayNight, vn(2025, 7, 5, 22, 30), false],
    ['weekly: the same hour a week later', sundayNight, vn(2025, 7, 13, 23, 0), true],
    ['weekly: days are Vietnamese days (Monday 02:00 VN = Sunday 19:00 UTC)', mondayEarly, vn(2025, 7, 7, 2, 0), true],
    ['weekly: Sunday 02:00 VN is not Monday', mondayEarly, vn(2025, 7, 6, 2, 0), false],
  ])('%s', (_n, w, now, active) => {
    expect(activeSpan(w, now) !== null).toBe(active);
  });

  it('gives the occurrence span', () => {
    expect(activeSpan(sundayNight, vn(2025, 7, 7, 0, 30))).toEqual({ from: vn(2025, 7, 6, 22, 0), to: vn(2025, 7, 7, 1, 0) });
  });
});

describe('maintenance: scope', () => {
  const local: MaintenanceScope = { communes: ['21484'], carrier: 'vnpt', targets: ['gw'] };
  const carrierInc: MaintenanceScope = { communes: ['21484', '21500', '21520'], carrier: 'vnpt', targets: ['gw'] };
  const service: MaintenanceScope = { communes: ['21484', '21500'], carrier: null, targets: ['dvc'] };
  const base = { id: 'w', kind: 'once', from: '2025-07-01T08:00', to: '2025-07-01T10:00' } as const;
  it.each<[string, MaintenanceWindow, MaintenanceScope, boolean]>([
    ['no scope: the whole province', base, carrierInc, true],
    ['commune window covers that commune\'s local link', { ...base, communes: ['21484'] }, local, true],
    ['commune window does not cover a carrier incident that also hits other communes', { ...base, communes: ['21484'] }, carrierInc, false],
    ['carrier window covers its carrier incident', { ...base, carriers: ['vnpt'] }, carrierInc, true],
    ['carrier window covers local links on that carrier', { ...base, carriers: ['vnpt'] }, local, true],
    ['carrier window does not cover a service', { ...base, carriers: ['vnpt'] }, service, false],
    ['target window covers that service', { ...base, targets: ['dvc'] }, service, true],
    ['target window does not cover another target', { ...base, targets: ['ioffice'] }, service, false],
    ['commune + carrier: both must hold', { ...base, communes: ['21484'], carriers: ['viettel'] }, local, false],
    ['commune + carrier: both hold', { ...base, communes: ['21484'], carriers: ['vnpt'] }, local, true],
  ])('%s', (_n, w, scope, expected) => {
    expect(covers(w, scope)).toBe(expected);
  });

  it('activeWindows filters by time and scope', () => {
    const ws: MaintenanceWindow[] = [
      { ...base, id: 'a', carriers: ['vnpt'] },
      { ...base, id: 'b', targets: ['dvc'] },
      { ...sundayNight, id: 'c' },
    ];
    const t = vn(2025, 7, 1, 9, 0);
    expect(activeWindows(ws, t).map((w) => w.id)).toEqual(['a', 'b']);
    expect(activeWindows(ws, t, local).map((w) => w.id)).toEqual(['a']);
    expect(activeWindows(ws, t, service).map((w) => w.id)).toEqual(['b']);
    expect(activeWindows(ws, vn(2025, 7, 6, 23, 0)).map((w) => w.id)).toEqual(['c']);
  });
});

describe('maintenance: validation', () => {
  it('parses Vietnam wall time and refuses impossible dates', () => {
    expect(parseVnTime('2025-07-01T08:00')).toBe(Date.UTC(2025, 6, 1, 1, 0));
    expect(parseVnTime('2025-07-01 08:00:30')).toBe(Date.UTC(2025, 6, 1, 1, 0, 30));
    expect(parseVnTime('2025-07-01T08:00+07:00')).toBe(Date.UTC(2025, 6, 1, 1, 0));
    expect(parseVnTime('2025-02-30T08:00')).toBeNaN();
    expect(parseVnTime('2025-07-01T24:00')).toBeNaN();
    expect(parseVnTime('tomorrow')).toBeNaN();
  });
  it.each<[string, unknown, RegExp]>([
    ['to before from', { id: 'x', kind: 'once', from: '2025-07-01T10:00', to: '2025-07-01T08:00' }, /to: expected `to` after `from`/],
    ['bad day', { id: 'x', kind: 'weekly', days: ['monday'], start: '01:00', durationMin: 10 }, /days/],
    ['bad start', { id: 'x', kind: 'weekly', days: ['mon'], start: '25:00', durationMin: 10 }, /start: expected HH:MM/],
    ['bad commune', { id: 'x', kind: 'once', from: '2025-07-01T08:00', to: '2025-07-01T09:00', communes: ['123'] }, /communes/],
    ['unknown key', { id: 'x', kind: 'once', from: '2025-07-01T08:00', to: '2025-07-01T09:00', carrier: 'vnpt' }, /carrier/],
  ])('refuses %s', (_n, input, msg) => {
    const r = maintenanceWindowSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')).toMatch(msg);
  });
});

describe('MaintenanceBook: config windows + runtime windows in a JSON file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sub', 'maintenance.json');

  it('adds, lists, persists, reloads and removes', () => {
    const book = new MaintenanceBook([once], file);
    const w = book.add({ id: 'vnpt-night', kind: 'weekly', title: 'Bảo trì tuyến cáp VNPT', days: ['sat'], start: '23:00', durationMin: 120, carriers: ['vnpt'] });
    expect(w.id).toBe('vnpt-night');
    expect(book.list().map((x) => [x.window.id, x.source])).toEqual([
      ['once', 'config'],
      ['vnpt-night', 'runtime'],
    ]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([w]);

    const again = new MaintenanceBook([once], file);
    expect(again.all().map((x) => x.id)).toEqual(['once', 'vnpt-night']);
    expect(again.all()[1]).toMatchObject({ title: 'Bảo trì tuyến cáp VNPT' });

    expect(() => again.add({ ...w })).toThrow(/already exists/);
    expect(() => again.add({ id: 'once', kind: 'weekly', days: ['mon'], start: '01:00', durationMin: 5 })).toThrow(/already exists/);
    const bad = (() => {
      try {
        again.add({ id: 'y', kind: 'weekly' });
      } catch (e) {
        return e;
      }
    })();
    expect(bad).toBeInstanceOf(MaintenanceError);
    expect((bad as MaintenanceError).status).toBe(400);
    expect(() => again.remove('once')).toThrow(/config file/);
    expect(() => again.remove('nope')).toThrow(/no maintenance window/);
    again.remove('vnpt-night');
    expect(new MaintenanceBook([once], file).all().map((x) => x.id)).toEqual(['once']);
  });
});
