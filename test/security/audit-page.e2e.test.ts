// In Chromium, the built UI under the server's Content-Security-Policy, which has no 'unsafe-inline' at all: every
// page (map with its tooltip and commune panel, incidents, agents, reports, audit, the public status page) loads
// without a single `securitypolicyviolation` event and the map still draws; an administrator reads the audit trail
// (and its CSV link), an operator has no audit page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, launchChromium, openLoggedIn, pointInside, requireBuiltUi, submitLogin, type PageLog } from '../helpers/browser.ts';
import { PW, startLogged, type LoggedServer } from './server.ts';

const run = chromiumAvailable('test/security/audit-page.e2e.test.ts');
let s: LoggedServer;
let browser: Browser;
const log: PageLog = { requests: [], pageErrors: [], contexts: [] };
/** policy messages on the console of the audit pages */
const consoleViolations: string[] = [];
const pageErrors: string[] = [];

declare global {
  interface Window {
    __csp: string[];
  }
}

/** A page whose policy violations are recorded from before the first script runs. */
async function watched(): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'vi-VN', timezoneId: 'UTC' });
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}
// every violation fails the test, zod's eval probe included (the UI entries switch it off: ui/src/jitless.ts)
const violationsOf = async (page: Page) => page.evaluate(() => window.__csp);

describe.runIf(run)('the built UI under the CSP', () => {
  beforeAll(async () => {
    requireBuiltUi();
    s = await startLogged({}, { ui: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('the policy refuses inline styles and scripts', async () => {
    const csp = (await fetch(`${s.url}/`)).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
  });

  it('map (tooltip, commune panel), incidents, agents, reports and audit pages: no violation', async () => {
    const page = await watched();
    await page.goto(s.url);
    await submitLogin(page, { username: 'quantri', password: PW });
    await page.waitForSelector('path[data-code]', { timeout: 15_000 });
    expect((await page.$$('path[data-code]')).length).toBe(96);
    // the tooltip is positioned at run time; the commune panel holds the latency chart (uPlot)
    const code = '21025';
    const at = await pointInside(page, `path[data-code="${code}"]`);
    expect(at).not.toBeNull();
    await page.mouse.move(at!.x, at!.y);
    await page.waitForSelector('.tip[role=tooltip]');
    const tip = await page.$eval('.tip[role=tooltip]', (el) => ({ left: (el as HTMLElement).style.left, transform: (el as HTMLElement).style.transform }));
    expect(tip.left).toMatch(/px$/);
    expect(tip.transform).toMatch(/^translate\(/);
    await page.mouse.click(at!.x, at!.y);
    await page.waitForTimeout(500);
    for (const [hash, sel] of [['#/incidents', '[data-nav=incidents].active'], ['#/agents', '[data-nav=agents].active'], ['#/reports', '[data-nav=reports].active'], ['#/audit', '[data-audit-row]']] as const) {
      await page.goto(`${s.url}/${hash}`);
      await page.waitForSelector(sel, { timeout: 15_000 });
      await page.waitForTimeout(300);
    }
    expect(await violationsOf(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('the public status page: no violation', async () => {
    const page = await watched();
    await page.goto(`${s.url}/status`);
    await page.waitForLoadState('networkidle');
    expect(await page.textContent('body')).not.toBe('');
    expect(await violationsOf(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  async function open(username: string): Promise<Page> {
    const page = await openLoggedIn(browser, s.url, { username, password: PW }, log, { viewport: { width: 1400, height: 900 }, locale: 'vi-VN' });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) consoleViolations.push(`${username}: ${m.text()}`);
    });
    return page;
  }

  it('an administrator reads who did what, filters it, and gets the CSV link; nothing violates the policy', async () => {
    const page = await open('quantri');
    await page.waitForSelector('[data-nav=map].active, [data-page=map]');
    await page.click('[data-nav=audit]');
    await page.waitForSelector('[data-audit-row="auth.login"]');
    expect(await page.textContent('h1')).toBe('Nhật ký thao tác');
    const row = await page.textContent('[data-audit-row="auth.login"]');
    expect(row).toContain('quantri');
    expect(row).toContain('127.0.0.1');
    await page.selectOption('select[name=action]', 'auth.');
    await page.fill('input[name=who]', 'quantri');
    await page.click('.filters button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-audit-row]')].every((r) => r.getAttribute('data-audit-row')!.startsWith('auth.')));
    expect(await page.getAttribute('[data-audit-csv]', 'href')).toMatch(/^\/api\/audit\/csv\?action=auth\.&who=quantri/);
    expect(consoleViolations).toEqual([]);
    expect(log.pageErrors).toEqual([]);
  });

  it('an operator has no audit page', async () => {
    const page = await open('vanhanh');
    await page.waitForSelector('[data-nav=map]');
    expect(await page.$('[data-nav=audit]')).toBeNull();
    expect(consoleViolations).toEqual([]);
  });
});
