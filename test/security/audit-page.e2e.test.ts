// In Chromium, the built UI under the server's Content-Security-Policy: the map and the audit page work with no
// policy violation; an administrator reads the audit trail (and its CSV link), an operator has no audit page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, launchChromium, openLoggedIn, requireBuiltUi, type PageLog } from '../helpers/browser.ts';
import { PW, startLogged, type LoggedServer } from './server.ts';

const run = chromiumAvailable('test/security/audit-page.e2e.test.ts');
let s: LoggedServer;
let browser: Browser;
const log: PageLog = { requests: [], pageErrors: [], contexts: [] };
const violations: string[] = [];

describe.runIf(run)('audit page under the CSP', () => {
  beforeAll(async () => {
    requireBuiltUi();
    s = await startLogged({}, { ui: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  async function open(username: string): Promise<Page> {
    const page = await openLoggedIn(browser, s.url, { username, password: PW }, log, { viewport: { width: 1400, height: 900 }, locale: 'vi-VN' });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(`${username}: ${m.text()}`);
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
    expect(violations).toEqual([]);
    expect(log.pageErrors).toEqual([]);
  });

  it('an operator has no audit page', async () => {
    const page = await open('vanhanh');
    await page.waitForSelector('[data-nav=map]');
    expect(await page.$('[data-nav=audit]')).toBeNull();
    expect(violations).toEqual([]);
  });
});
