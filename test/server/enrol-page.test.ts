// The agents page in a real headless Chromium against a real server: an operator creates an enrolment with the
// form (commune typed by name from the province list, site, uplink) and sees the code and both install commands;
// the code works for an agent, which then shows on the page, where the filters find it.
// Needs `npm run build` first and Debian's chromium at /usr/bin/chromium.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, icmpOk } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, openLoggedIn, requireBuiltUi, type PageLog } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const hasChromium = chromiumAvailable('test/server/enrol-page.test.ts');
const USER = { username: 'vanhanh', password: 'mat-khau-trang-tram-5', role: 'operator' as const };

describe.skipIf(!hasChromium)('agents page: enrolment form (chromium)', () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  const log: PageLog = { contexts: [], requests: [], pageErrors: [] };

  beforeAll(async () => {
    requireBuiltUi();
    s = await startTestServer({ ui: true, users: [USER], agents: [{ id: 'yaml-ly-son', commune: '21548', carrier: 'vnpt' }] });
    browser = await launchChromium();
    page = await openLoggedIn(browser, `${s.url}/#/agents`, USER, log, { viewport: { width: 1600, height: 900 }, locale: 'vi-VN' });
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('creates a code with its install commands, in Vietnamese', async () => {
    await page.goto(`${s.url}/#/agents`);
    await page.click('button[data-action="enrol"]');
    await page.fill('input[name="commune"]', 'Phường Cẩm Thành');
    await page.fill('input[name="site"]', 'Trạm y tế phường Cẩm Thành');
    await page.selectOption('select[name="siteKind"]', 'health_station');
    await page.selectOption('select[name="uplink-carrier"]', 'viettel');
    await page.click('form button[type="submit"]');
    const code = (await page.textContent('[data-code]', { timeout: 5000 }))!.trim();
    expect(code).toMatch(/^QNG-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
    expect(await page.textContent('[data-command="linux"]')).toBe(`sudo ./ioc-agent-linux-x64 install --server ${s.url} --code ${code}`);
    expect(await page.textContent('[data-command="windows"]')).toContain(`--code ${code}`);
    expect(await page.textContent('.enrol')).toContain('chỉ dùng được một lần');

    const r = await fetch(`${s.url}/api/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    const { id, token } = (await r.json()) as { id: string; token: string };
    expect(id).toBe('21025-tram-y-te-phuong-cam-thanh');
    const c = await connectAgent(s.url, id, token);
    await c.hello();
    await c.batch([icmpOk('dc', Date.now())]);
    await page.waitForSelector(`tr[data-agent="${id}"][data-source="enrolled"] td[data-connected="yes"]`, { timeout: 8000 });
    // filter by carrier: only the new agent (Viettel) stays
    await page.selectOption('select[name="carrier"]', 'viettel');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-agent]').length === 1);
    expect(await page.getAttribute('tr[data-agent]', 'data-agent')).toBe(id);
    c.close();
    expect(log.pageErrors).toEqual([]);
  });
});
