// Incidents, alerts, roles and agents in a real headless Chromium against a real server and real WebSocket agents:
// a commune's link fails -> one incident in the feed, named in Vietnamese, with a banner (and a beep on the wall
// screen); hovering it highlights the commune; an operator acknowledges it and adds a note (a read-only role can't);
// the history page lists it, filters it and exports it as CSV; it resolves and moves to "vừa khắc phục".
// Also: the agents page shows dropped/backfilled/skew figures sent by an agent; a carrier user sees its scope.
// Needs `npm run build` first (the test script does it) and Debian's chromium at /usr/bin/chromium.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ProvinceFile } from '../../config/schema.ts';
import { PROTOCOL_VERSION, incidentSchema, type IncidentWire } from '../../config/wire.ts';
import { startTestServer, login, type TestServer } from '../helpers/server.ts';
import { connectAgent, icmpOk, icmpLost, type TestAgentClient } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, openLoggedIn, pointInside, requireBuiltUi } from '../helpers/browser.ts';

const province = JSON.parse(readFileSync(fileURLToPath(new URL('../../config/provinces/51.json', import.meta.url)), 'utf8')) as ProvinceFile;

const hasChromium = chromiumAvailable('test/ui/incidents.e2e.test.ts');

const PW = 'mat-khau-thu-nghiem-42';
const OPERATOR = { username: 'vanhanh', password: PW, role: 'operator' as const };
const ANALYST = { username: 'phantich', password: PW, role: 'dost' as const };
const CARRIER = { username: 'kysu-vnpt', password: PW, role: 'carrier' as const, carrier: 'vnpt' };
// Real communes of Quảng Ngãi (config/provinces/51.json): Cẩm Thành on Viettel fails; Nghĩa Lộ on VNPT stays up.
const FAILING = { id: 'agent-camthanh', commune: '21025', carrier: 'viettel' };
const HEALTHY = { id: 'agent-nghialo', commune: '21028', carrier: 'vnpt' };
const nameOf = (code: string) => province.communes.find((c) => c.code === code)!.fullName;

describe.skipIf(!hasChromium)('incidents, alerts, roles and agents (chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let desk: Page;
  let wall: Page;
  let failing: TestAgentClient;
  let healthy: TestAgentClient;
  let incident: IncidentWire | null = null;
  let ts = Date.now() - 10_000;
  const pageErrors: string[] = [];
  const requests: string[] = [];
  const contexts: BrowserContext[] = [];

  async function openAs(user: { username: string; password: string }, path = '/', viewport = { width: 1600, height: 900 }): Promise<Page> {
    const page = await openLoggedIn(browser, server.url + path, user, { requests, pageErrors, contexts }, { viewport, locale: 'vi-VN' });
    await page.waitForSelector('[data-conn="live"]', { timeout: 15_000 });
    if (!path.includes('#/')) await page.waitForSelector('path[data-code]', { timeout: 15_000 });
    return page;
  }

  async function apiGet<T>(path: string, user = OPERATOR): Promise<{ status: number; body: T }> {
    const cookie = await login(server.url, user.username, user.password);
    const r = await fetch(server.url + path, { headers: { cookie } });
    return { status: r.status, body: (await r.json()) as T };
  }

  /** strictly increasing and never far behind now: results older than ~90 s are history and don't move the live map */
  const nextTs = () => (ts = Math.max(ts + 1000, Date.now() - 2000));
  async function goodRound(agent: TestAgentClient) {
    nextTs();
    const a = await agent.batch([icmpOk('gw', ts, 4), icmpOk('dc', ts, 15)]);
    expect(a.type).toBe('ack');
  }

  beforeAll(async () => {
    requireBuiltUi();
    server = await startTestServer({ ui: true, users: [OPERATOR, ANALYST, CARRIER], agents: [FAILING, HEALTHY] });
    browser = await launchChromium();
    failing = await connectAgent(server.url, FAILING.id, server.tokens[FAILING.id]!);
    healthy = await connectAgent(server.url, HEALTHY.id, server.tokens[HEALTHY.id]!);
    await failing.hello();
    await healthy.hello();
    await goodRound(failing);
    await goodRound(healthy);
    desk = await openAs(OPERATOR);
    wall = await openAs(OPERATOR, '/?wall=1', { width: 1920, height: 1080 });
  });

  afterAll(async () => {
    failing?.close();
    healthy?.close();
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  it('starts with no incident, sound off at the desk and on at the wall', async () => {
    await desk.waitForSelector(`path[data-code="${FAILING.commune}"][data-status="up"]`, { timeout: 8000 });
    expect(await desk.textContent('#feed-title')).toContain('Sự cố đang diễn ra (0)');
    expect(await desk.textContent('.feed')).toContain('Không có sự cố nào đang diễn ra');
    expect(await desk.getAttribute('[data-sound]', 'data-sound')).toBe('off');
    expect(await wall.getAttribute('[data-sound]', 'data-sound')).toBe('on');
    // The wall screen has no side panel but keeps the feed.
    expect(await wall.$('aside.side')).toBeNull();
    expect(await wall.isVisible('aside.wall-feed .feed')).toBe(true);
    // Browsers keep audio locked until a user gesture: the first click anywhere unlocks it.
    await wall.mouse.click(20, 20);
  });

  it('a failing commune link opens one incident, named in Vietnamese, with a banner and a beep on the wall', async () => {
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      nextTs();
      const a = await failing.batch([icmpLost('gw', ts), icmpLost('dc', ts)]);
      expect(a.type).toBe('ack');
    }
    await goodRound(healthy);
    await desk.waitForSelector(`path[data-code="${FAILING.commune}"][data-status="down"]`, { timeout: 8000 });
    const item = desk.locator('.feed ul.open [data-incident]');
    await item.first().waitFor({ timeout: 20_000 });
    const faultToFeedMs = Date.now() - t0;
    console.log(`incident e2e: failed rounds -> incident in the browser's feed: ${faultToFeedMs} ms`);

    expect(await item.count()).toBe(1);
    const id = (await item.getAttribute('data-incident'))!;
    expect(await item.getAttribute('data-cause')).toBe('local_link');
    expect(await item.getAttribute('data-severity')).toBe('down');
    expect(await item.getAttribute('data-acked')).toBe('no');
    const text = (await item.textContent()) ?? '';
    expect(text).toContain('Mất kết nối đường truyền xã');
    expect(text).toContain(`1 xã, phường: ${nameOf(FAILING.commune)}`);
    expect(text).toContain('Chưa tiếp nhận');
    // start time HH:mm dd/mm/yyyy in Vietnamese time although the browser runs in UTC
    const api = await apiGet<unknown>(`/api/incidents/${encodeURIComponent(id)}`);
    expect(api.status).toBe(200);
    incident = incidentSchema.parse(api.body);
    const vn = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', day: '2-digit', month: '2-digit', year: 'numeric', hourCycle: 'h23' })
      .formatToParts(new Date(incident.openedAt))
      .reduce<Record<string, string>>((o, p) => ((o[p.type] = p.value), o), {});
    expect(text).toContain(`từ ${vn.hour}:${vn.minute} ${vn.day}/${vn.month}/${vn.year}`);
    expect(text).toMatch(/đã \d+ giây|đã \d+ phút/);
    expect(await desk.getAttribute('[data-nav-open]', 'data-nav-open')).toBe('1');

    // The banner, on both screens; the wall screen beeped, the desk (muted by default) did not.
    await desk.waitForSelector(`[data-banner="${id}"]`, { timeout: 5000 });
    expect(await desk.textContent(`[data-banner="${id}"]`)).toContain('Sự cố mới');
    await wall.waitForSelector(`[data-banner="${id}"]`, { timeout: 5000 });
    await expect.poll(() => wall.getAttribute('[data-sound]', 'data-beeps'), { timeout: 3000 }).toBe('1');
    expect(await desk.getAttribute('[data-sound]', 'data-beeps')).toBe('0');
    await wall.screenshot({ path: '/tmp/ui-incident-wall.png' });
    await desk.click(`[data-banner="${id}"] button[aria-label="Đóng thông báo"]`);
    await desk.waitForSelector(`[data-banner="${id}"]`, { state: 'detached', timeout: 2000 });
  });

  it('hovering the incident highlights its commune on the map; the commune says it belongs to the incident', async () => {
    const id = incident!.id;
    expect(await desk.$('g.highlight')).toBeNull();
    await desk.hover(`.feed [data-incident="${id}"]`);
    await desk.waitForSelector('g.highlight', { timeout: 2000 });
    expect(await desk.getAttribute('g.highlight', 'data-highlight')).toBe(FAILING.commune);
    expect(await desk.getAttribute('g.communes', 'class')).toContain('dimmed');
    expect(await desk.textContent('g.labels')).toBe(province.communes.find((c) => c.code === FAILING.commune)!.name);
    await desk.screenshot({ path: '/tmp/ui-incident-hover.png' });
    await desk.mouse.move(5, 400);
    await desk.waitForSelector('g.highlight', { state: 'detached', timeout: 2000 });

    // The commune's tooltip shows the incident.
    const pt = await pointInside(desk, `path[data-code="${FAILING.commune}"]`);
    await desk.mouse.move(pt!.x, pt!.y);
    await desk.waitForSelector(`[role=tooltip] [data-tip-incident="${id}"]`, { timeout: 3000 });
    expect(await desk.textContent(`[data-tip-incident="${id}"]`)).toContain('Thuộc sự cố: Mất kết nối đường truyền xã');
    await desk.mouse.move(5, 400);
  });

  it('an operator acknowledges the incident and adds a note from its detail panel', async () => {
    const id = incident!.id;
    await desk.click(`.feed [data-incident="${id}"]`);
    await desk.waitForSelector('#incident-title', { timeout: 3000 });
    expect(await desk.textContent('#incident-title')).toBe('Mất kết nối đường truyền xã');
    // opening it keeps its commune highlighted on the map
    expect(await desk.getAttribute('g.highlight', 'data-highlight')).toBe(FAILING.commune);
    expect(await desk.textContent('[data-event="opened"]')).toContain('Phát hiện sự cố');

    const ack = desk.waitForResponse((r) => r.url().endsWith('/ack') && r.request().method() === 'POST');
    await desk.click('[data-action="ack"]');
    expect((await ack).status()).toBe(200);
    await desk.waitForSelector('[data-ack="yes"]', { timeout: 3000 });
    expect(await desk.textContent('[data-ack="yes"]')).toContain(`Đã tiếp nhận: ${OPERATOR.username}`);

    const note = 'Đã gọi kỹ thuật Viettel, đang kiểm tra cáp quang';
    await desk.fill('textarea[name=note]', note);
    await desk.click('[data-action="note"]');
    await desk.waitForSelector(`[data-event="note"]:has-text("${note}")`, { timeout: 3000 });
    expect(await desk.inputValue('textarea[name=note]')).toBe('');

    // Stored by the server, not just shown.
    const { body } = await apiGet<IncidentWire>(`/api/incidents/${encodeURIComponent(id)}`);
    expect(body.acknowledgedBy).toBe(OPERATOR.username);
    expect(body.notes.map((n) => [n.by, n.text])).toEqual([[OPERATOR.username, note]]);
    // The feed item follows.
    await desk.click('button[aria-label="Đóng"]');
    await desk.waitForSelector(`.feed [data-incident="${id}"][data-acked="yes"]`, { timeout: 3000 });
    await desk.screenshot({ path: '/tmp/ui-incident-feed.png' });
  });

  it('a read-only role sees the incident but no operate buttons, and the server refuses it anyway', async () => {
    const id = incident!.id;
    const page = await openAs(ANALYST, `/#/incidents/${encodeURIComponent(id)}`);
    await page.waitForSelector('#incident-title', { timeout: 5000 });
    expect(await page.getAttribute('[data-role]', 'data-role')).toBe('dost');
    expect(await page.$('[data-action="ack"]')).toBeNull();
    expect(await page.$('textarea[name=note]')).toBeNull();
    expect(await page.textContent('[data-incident-detail]')).toContain('Vai trò của bạn chỉ được xem');
    const status = await page.evaluate(async (u) => (await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' })).status, `/api/incidents/${encodeURIComponent(id)}/notes`);
    expect(status).toBe(403);
  });

  it('the history page lists it, filters it, and exports the table as CSV', async () => {
    const id = incident!.id;
    await desk.click('[data-nav="incidents"]');
    await desk.waitForSelector(`[data-incident-row="${id}"]`, { timeout: 5000 });
    const row = (await desk.textContent(`[data-incident-row="${id}"]`)) ?? '';
    expect(row).toContain('Mất kết nối đường truyền xã');
    expect(row).toContain('đang diễn ra');
    expect(row).toContain(OPERATOR.username);
    expect(await desk.$(`rect[data-bar="${id}"]`)).not.toBeNull();

    // Commune filter by name (searchable), then a cause that does not match.
    const listed = (q: string) => desk.waitForResponse((r) => r.url().includes('/api/incidents?') && r.url().includes(q));
    let res = listed(`commune=${FAILING.commune}`);
    await desk.fill('input[name=commune]', nameOf(FAILING.commune));
    expect((await res).status()).toBe(200);
    await desk.waitForSelector(`[data-incident-row="${id}"]`);
    res = listed('cause=carrier');
    await desk.selectOption('select[name=cause]', 'carrier');
    expect((await res).status()).toBe(200);
    await desk.waitForSelector(`[data-incident-row="${id}"]`, { state: 'detached', timeout: 3000 });
    expect(await desk.textContent('.history')).toContain('Không có sự cố nào trong khoảng này');
    res = listed('cause=local_link');
    await desk.selectOption('select[name=cause]', 'local_link');
    await res;
    await desk.waitForSelector(`[data-incident-row="${id}"]`);
    await desk.screenshot({ path: '/tmp/ui-incident-history.png' });

    const dl = desk.waitForEvent('download');
    await desk.click('button.export');
    const download = await dl;
    expect(download.suggestedFilename()).toMatch(/^su-co_\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const lines = csv.slice(1).trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^id,Bắt đầu,Kết thúc,/);
    expect(lines[1]).toContain(id);
    expect(lines[1]).toContain('Mất kết nối đường truyền xã');
    expect(lines[1]).toContain(nameOf(FAILING.commune));

    await desk.click(`[data-incident-row="${id}"]`);
    await desk.waitForSelector(`[data-incident-detail="${id}"]`, { timeout: 3000 });
    expect(await desk.evaluate(() => location.hash)).toBe(`#/incidents/${encodeURIComponent(id)}`);
    await desk.click('[data-nav="map"]');
    await desk.waitForSelector('path[data-code]');
  });

  it('the incident resolves when the link is back, and moves to "vừa khắc phục"', async () => {
    const id = incident!.id;
    const t0 = Date.now();
    // Good rounds every 2 s until the server resolves it (resolveSec: cause absent for 60 s by default).
    const deadline = Date.now() + 100_000;
    while (Date.now() < deadline && !(await desk.$(`.feed ul.recent [data-incident="${id}"]`))) {
      await goodRound(failing);
      await goodRound(healthy);
      await desk.waitForTimeout(2000);
    }
    await desk.waitForSelector(`.feed ul.recent [data-incident="${id}"]`, { timeout: 1000 });
    console.log(`incident e2e: link back -> resolved in the browser's feed: ${Date.now() - t0} ms`);
    expect(await desk.$(`.feed ul.open [data-incident="${id}"]`)).toBeNull();
    expect(await desk.textContent('.feed')).toContain('Vừa khắc phục');
    expect(await desk.textContent('#feed-title')).toContain('(0)');
    expect(await desk.$(`[data-banner="${id}"]`)).toBeNull();
  }, 120_000);

  it('the agents page shows dropped, backfilled and clock-skew figures the agent reported', async () => {
    // A heartbeat: 42 results dropped from a full spool, 120 pending, the agent's clock 5 s behind the server.
    failing.sendRaw(JSON.stringify({ type: 'heartbeat', v: PROTOCOL_VERSION, clock: Date.now() - 5000, pending: 120, dropped: 42, uptimeSec: 3600, offsetMs: 5000, rttMs: 12, spoolBytes: 300_000, oldestPendingTs: Date.now() - 2 * 3_600_000 }));
    await failing.next('pong', 5000);
    // Two results replayed from the spool 20 min late: stored as history (backfilled).
    const old = Date.now() - 20 * 60_000;
    expect((await failing.batch([icmpOk('gw', old), icmpOk('dc', old)])).type).toBe('ack');

    await desk.click('[data-nav="agents"]');
    const row = `[data-agent="${FAILING.id}"]`;
    await desk.waitForSelector(row, { timeout: 5000 });
    await expect.poll(() => desk.textContent(`${row} [data-col="dropped"]`), { timeout: 8000 }).toBe('42');
    expect(await desk.$eval(`${row} [data-col="dropped"]`, (el) => getComputedStyle(el).color)).toBe('rgb(255, 107, 107)');
    expect(await desk.getAttribute(`${row} [data-col="dropped"]`, 'title')).toContain('bộ đệm trên máy trạm đầy');
    expect(Number(await desk.textContent(`${row} [data-col="backfilled"]`))).toBeGreaterThanOrEqual(2);
    expect(await desk.textContent(`${row} [data-col="pending"]`)).toBe('120');
    expect(await desk.getAttribute(`${row} [data-col="clock"]`, 'data-skewed')).toBe('yes');
    expect(await desk.textContent(`${row} [data-col="clock"]`)).toContain('+5 s');
    expect(await desk.textContent(`${row}`)).toContain(nameOf(FAILING.commune));
    expect(await desk.getAttribute(`${row} [data-col="conn"]`, 'data-connected')).toBe('yes');
    // The healthy agent: nothing lost, clock fine.
    expect(await desk.textContent(`[data-agent="${HEALTHY.id}"] [data-col="dropped"]`)).toBe('0');
    expect(await desk.getAttribute(`[data-agent="${HEALTHY.id}"] [data-col="clock"]`, 'data-skewed')).toBe('no');
    await desk.screenshot({ path: '/tmp/ui-agents.png' });
  });

  it('a carrier user sees its scope: its communes coloured, the others hatched as out of scope', async () => {
    const page = await openAs(CARRIER);
    expect(await page.textContent('[data-scope-carrier]')).toBe('Phạm vi: VNPT');
    await page.waitForSelector(`path[data-code="${HEALTHY.commune}"][data-status="up"]`, { timeout: 8000 });
    const paths = await page.$$eval('path[data-code]', (els) => els.map((e) => [e.getAttribute('data-code'), e.getAttribute('data-scope')]));
    const out = paths.filter(([, s]) => s === 'out').map(([c]) => c);
    expect(paths).toHaveLength(96);
    expect(out).not.toContain(HEALTHY.commune);
    expect(out).toContain(FAILING.commune); // Viettel's commune is not theirs
    expect(out.length).toBeGreaterThan(80);
    expect(await page.$eval(`path[data-code="${FAILING.commune}"]`, (el) => getComputedStyle(el).fill)).toMatch(/url\(/);
    expect(await page.textContent('[data-legend="out"] .label')).toBe('Ngoài phạm vi');
    expect(await page.textContent('[data-legend="out"] .count')).toBe(String(out.length));
    // counts cover only their communes
    const counted = await page.$$eval('[data-legend]:not([data-legend="out"]) .count', (els) => els.reduce((s, e) => s + Number(e.textContent), 0));
    expect(counted).toBe(96 - out.length);
    expect(await page.$('[data-action="ack"]')).toBeNull();
    await page.screenshot({ path: '/tmp/ui-carrier-scope.png' });
  });

  it('made no request to any other host and threw no page error', () => {
    const origin = new URL(server.url).host;
    expect(requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).host !== origin)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
