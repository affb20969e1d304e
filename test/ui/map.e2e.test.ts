// The operator map in a real headless Chromium against a real server: login form, all communes drawn from
// their polygons, the live indicator, and a real WebSocket agent turning one commune green then red.
// Needs `npm run build` first (the test script does it) and Debian's chromium at /usr/bin/chromium.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { ProvinceFile } from '../../config/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectAgent, icmpOk, icmpLost, type TestAgentClient } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, pointInside, requireBuiltUi, submitLogin } from '../helpers/browser.ts';

const PROVINCE_FILE = fileURLToPath(new URL('../../config/provinces/51.json', import.meta.url));
const SCREENSHOT = '/tmp/ui-map.png';

const hasChromium = chromiumAvailable('test/ui/map.e2e.test.ts');

const USER = { username: 'vanhanh', password: 'mat-khau-thu-nghiem-42', role: 'operator' as const };
// Phường Cẩm Thành (Quảng Ngãi city centre): small, so this also checks tiny polygons are hoverable.
const COMMUNE = '21025';
const AGENT = { id: 'agent-camthanh', commune: COMMUNE, carrier: 'viettel' };
// STATUS_COLORS in ui/src/lib/status.ts, as the browser reports computed fills
const FILL = { up: 'rgb(31, 166, 122)', down: 'rgb(229, 56, 59)', unknown: 'rgb(107, 118, 131)' };

describe.skipIf(!hasChromium)('operator map (chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let agent: TestAgentClient | null = null;
  const requests: string[] = [];
  const pageErrors: string[] = [];
  const province = JSON.parse(readFileSync(PROVINCE_FILE, 'utf8')) as ProvinceFile;

  beforeAll(async () => {
    requireBuiltUi();
    server = await startTestServer({ ui: true, users: [USER], agents: [AGENT] });
    browser = await launchChromium();
    // A browser in UTC: the UI must still show Vietnamese time.
    const ctx = await browser.newContext({ viewport: { width: 1600, height: 900 }, timezoneId: 'UTC', locale: 'en-US' });
    page = await ctx.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('websocket', (ws) => requests.push(ws.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    agent?.close();
    await browser?.close();
    await server?.stop();
  });

  const statusOf = (code: string) => page.getAttribute(`path[data-code="${code}"]`, 'data-status');
  const fillOf = (code: string) =>
    page.$eval(`path[data-code="${code}"]`, (el) => getComputedStyle(el).fill);
  async function waitStatus(code: string, status: string, timeoutMs = 8000) {
    await page.waitForSelector(`path[data-code="${code}"][data-status="${status}"]`, { timeout: timeoutMs });
  }

  it('shows the login form, then draws every commune after a form login', async () => {
    await page.goto(server.url);
    await page.waitForSelector('input[name=username]', { timeout: 10_000 });
    expect(await page.textContent('h1')).toBe('Đăng nhập');

    // Wrong password: stays on the form with a Vietnamese error.
    await submitLogin(page, { username: USER.username, password: 'sai' });
    await page.waitForSelector('[role=alert]:has-text("Sai tên đăng nhập hoặc mật khẩu")', { timeout: 5000 });

    await page.fill('input[name=password]', USER.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('path[data-code]', { timeout: 15_000 });

    const paths = await page.$$eval('path[data-code]', (els) =>
      els.map((e) => ({ code: e.getAttribute('data-code'), d: e.getAttribute('d') ?? '', status: e.getAttribute('data-status') })),
    );
    expect(paths.length).toBe(province.communes.length);
    expect(paths.length).toBe(96);
    expect(new Set(paths.map((p) => p.code))).toEqual(new Set(province.communes.map((c) => c.code)));
    for (const p of paths) {
      expect(p.d.length, `d of ${p.code}`).toBeGreaterThan(10);
      expect(p.code).toMatch(/^\d{5}$/);
    }
    // No agent has reported: everything is grey, nothing pretends to be up.
    expect(paths.every((p) => p.status === 'unknown')).toBe(true);

    // The drawn map fills its area (not a thumbnail in a corner).
    const box = await page.$eval('svg[role=img] g.communes', (g) => {
      const r = g.getBoundingClientRect();
      const a = g.closest('.map-area')!.getBoundingClientRect();
      return { w: r.width / a.width, h: r.height / a.height };
    });
    expect(Math.max(box.w, box.h)).toBeGreaterThan(0.8);

    expect(await page.textContent('.province')).toBe(province.fullName);
  });

  it('says the feed is live', async () => {
    await page.waitForSelector('[data-conn="live"]', { timeout: 10_000 });
    expect((await page.textContent('[data-conn]'))?.trim()).toBe('Trực tiếp');
  });

  it('turns a commune green when its agent reports good rounds, then red after failed rounds', async () => {
    expect(await statusOf(COMMUNE)).toBe('unknown');
    expect(await fillOf(COMMUNE)).toBe(FILL.unknown);
    const unknownBefore = Number(await page.textContent('[data-legend="unknown"] .count'));

    // Record which paths the DOM touches: a delta for one commune must not rewrite the other 95.
    await page.evaluate(() => {
      const w = window as unknown as { __mutated: Set<string> };
      w.__mutated = new Set();
      new MutationObserver((ms) => {
        for (const m of ms) w.__mutated.add((m.target as Element).getAttribute('data-code') ?? '?');
      }).observe(document.querySelector('g.communes')!, { attributes: true, subtree: true, childList: true });
    });

    agent = await connectAgent(server.url, AGENT.id, server.tokens[AGENT.id]!);
    await agent.hello();
    // History first: a good round 20 min ago and a failed one 10 min ago. The server stores results that old as
    // backfilled history without moving the live map (they must not repaint it), but the chart shows them, in
    // buckets (≤ 2 min for 6 h) far enough apart to keep 0 % and 100 % loss separate.
    const past = Date.now() - 20 * 60_000;
    for (const r of [[icmpOk('gw', past, 3), icmpOk('dc', past, 18)], [icmpLost('gw', past + 10 * 60_000), icmpLost('dc', past + 10 * 60_000)]]) {
      const a = await agent.batch(r);
      expect(a.type).toBe('ack');
    }
    await page.waitForTimeout(500);
    expect(await statusOf(COMMUNE)).toBe('unknown');

    // Then live rounds (fresh timestamps): a good one turns the commune green.
    let ts = Date.now() - 4000;
    const ack = await agent.batch([icmpOk('gw', ts, 3), icmpOk('dc', ts, 18)]);
    expect(ack.type).toBe('ack');

    const t0 = Date.now();
    await waitStatus(COMMUNE, 'up', 8000);
    const upAfterMs = Date.now() - t0;
    // Fill follows after its CSS transition.
    await expect.poll(() => fillOf(COMMUNE), { timeout: 3000 }).toBe(FILL.up);
    expect(upAfterMs).toBeLessThan(8000);
    // Only that commune changed, in the DOM too; the legend counts moved with it.
    expect(await page.evaluate(() => [...(window as unknown as { __mutated: Set<string> }).__mutated])).toEqual([COMMUNE]);
    expect(await page.$$eval('path[data-status="up"]', (els) => els.length)).toBe(1);
    expect(Number(await page.textContent('[data-legend="up"] .count'))).toBe(1);
    expect(Number(await page.textContent('[data-legend="unknown"] .count'))).toBe(unknownBefore - 1);

    // Three rounds with every echo lost: degraded, then down (downAfter = 3).
    for (let i = 0; i < 3; i++) {
      ts += 1000;
      const a = await agent.batch([icmpLost('gw', ts), icmpLost('dc', ts)]);
      expect(a.type).toBe('ack');
    }
    await waitStatus(COMMUNE, 'down', 8000);
    await expect.poll(() => fillOf(COMMUNE), { timeout: 3000 }).toBe(FILL.down);
    expect(Number(await page.textContent('[data-legend="down"] .count'))).toBe(1);
    // A down commune is named on the map for the wall screen.
    expect(await page.textContent('g.labels')).toContain(province.communes.find((c) => c.code === COMMUNE)!.name);
  });

  it('shows a tooltip on hover and the targets and chart on click', async () => {
    const c = province.communes.find((x) => x.code === COMMUNE)!;
    // A point inside the polygon that really hits it (the bbox centre of a concave shape might not).
    const pt = await pointInside(page, `path[data-code="${COMMUNE}"]`);
    expect(pt).not.toBeNull();
    await page.mouse.move(pt!.x, pt!.y);
    const tip = page.locator('[role=tooltip]');
    await tip.waitFor({ timeout: 3000 });
    const tipText = (await tip.textContent()) ?? '';
    expect(tipText).toContain(c.fullName);
    expect(tipText).toContain('Viettel');
    expect(tipText).toContain('100 %');
    // last seen: HH:mm:ss dd/mm/yyyy in Asia/Ho_Chi_Minh although the browser runs in UTC
    const vn = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date());
    expect(tipText).toMatch(new RegExp(`\\d{2}:\\d{2}:\\d{2} ${vn.replace(/\//g, '\\/')}`));

    const series = page.waitForResponse((r) => r.url().includes('/api/series?'), { timeout: 10_000 });
    await page.mouse.click(pt!.x, pt!.y);
    await page.waitForSelector('#panel-title', { timeout: 5000 });
    expect(await page.textContent('#panel-title')).toBe(c.fullName);
    const res = await series;
    expect(res.status()).toBe(200);
    const body = (await res.json()) as { points: { lossPct: number | null }[] };
    const losses = body.points.map((p) => p.lossPct).filter((x): x is number => x !== null);
    expect(Math.max(...losses)).toBe(100);
    expect(Math.min(...losses)).toBe(0);
    const rows = await page.$$eval('tr[data-target]', (els) => els.map((e) => [e.getAttribute('data-target'), e.getAttribute('data-status')]));
    expect(rows).toEqual(expect.arrayContaining([['gw', 'down'], ['dc', 'down']]));
    await page.waitForSelector('.uplot canvas', { timeout: 5000 });
    await page.mouse.move(5, 5); // tooltip away for the screenshot
    await page.waitForTimeout(700);
    await page.screenshot({ path: SCREENSHOT });
  });

  it('switches to English and remembers it across a reload', async () => {
    await page.click('button:has-text("English")');
    await page.waitForSelector('[data-conn="live"]:has-text("Live")', { timeout: 3000 });
    await page.reload();
    await page.waitForSelector('path[data-code]', { timeout: 15_000 });
    await page.waitForSelector('[data-conn="live"]', { timeout: 10_000 });
    expect((await page.textContent('[data-conn]'))?.trim()).toBe('Live');
    expect(await page.textContent('[data-legend="down"]')).toContain('Down');
    // state survives the reload: the server's snapshot says down
    expect(await statusOf(COMMUNE)).toBe('down');
    await page.click('button:has-text("Tiếng Việt")');
    await page.waitForSelector('[data-conn="live"]:has-text("Trực tiếp")', { timeout: 3000 });
  });

  it('wall mode hides the side panel and survives ?wall=1', async () => {
    await page.goto(`${server.url}/?wall=1`);
    await page.waitForSelector('path[data-code]', { timeout: 15_000 });
    expect(await page.$('aside.side')).toBeNull();
    expect(await page.evaluate(() => document.documentElement.classList.contains('wall'))).toBe(true);
    await page.screenshot({ path: '/tmp/ui-map-wall.png' });
  });

  it('says "reconnecting" when the server goes away, then "disconnected since" after ~12 s of silence', async () => {
    agent?.close();
    agent = null;
    await server.close();
    await page.waitForSelector('[data-conn="reconnecting"]', { timeout: 5000 });
    expect((await page.textContent('[data-conn]'))?.trim()).toBe('Đang kết nối lại…');
    const t0 = Date.now();
    await page.waitForSelector('[data-conn="stale"]', { timeout: 20_000 });
    // heartbeat every 5 s, stale after 12 s without any message: never sooner than ~7 s after the drop
    expect(Date.now() - t0).toBeGreaterThan(5000);
    expect((await page.textContent('[data-conn]'))?.trim()).toMatch(/^Mất kết nối từ \d{2}:\d{2}:\d{2}$/);
    expect(await page.isVisible('.stale-banner')).toBe(true);
    await page.screenshot({ path: '/tmp/ui-map-stale.png' });
  });

  it('made no request to any other host and threw no page error', () => {
    const origin = new URL(server.url).host;
    const foreign = requests.filter((u) => !u.startsWith('data:') && new URL(u).host !== origin);
    expect(foreign).toEqual([]);
    expect(requests.some((u) => u.endsWith('/ws/live'))).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
