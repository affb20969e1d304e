// An incident at one site of a commune with several, in a real headless Chromium against a real server and real
// WebSocket agents: the school's link fails while the commune centre works -> one local-link incident that names the
// school, in the feed and in the detail panel.
// Needs `npm run build` first and Debian's chromium at /usr/bin/chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { AgentConfig, Site } from '../../config/schema.ts';
import { connectAgent, icmpLost, icmpOk, type TestAgentClient } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, openLoggedIn, requireBuiltUi, type PageLog } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const hasChromium = chromiumAvailable('test/ui/incidents-sites.e2e.test.ts');
const USER = { username: 'vanhanh', password: 'mat-khau-thu-nghiem-42', role: 'operator' as const };
const COMMUNE = '21025'; // Phường Cẩm Thành
const SCHOOL: Site = { name: 'Trường THCS Nguyễn Nghiêm', kind: 'school' };

describe.skipIf(!hasChromium)('an incident names its site (chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const agents: Record<string, TestAgentClient> = {};
  const log: PageLog = { requests: [], pageErrors: [], contexts: [] };
  let ts = Date.now() - 10_000;
  const round = (id: string, ok: boolean) => {
    ts = Math.max(ts + 1000, Date.now() - 2000);
    return agents[id]!.batch(ok ? [icmpOk('gw', ts, 2), icmpOk('dc', ts, 20)] : [icmpLost('gw', ts), icmpLost('dc', ts)]);
  };

  beforeAll(async () => {
    requireBuiltUi();
    server = await startTestServer({
      ui: true,
      users: [USER],
      agents: [
        { id: 'camthanh-ubnd', commune: COMMUNE, carrier: 'viettel' },
        { id: 'camthanh-thcs', commune: COMMUNE, carrier: 'viettel' },
      ],
    });
    const withSites: AgentConfig[] = [...server.dir.agents.values()].map((a) => (a.id === 'camthanh-thcs' ? { ...a, site: SCHOOL } : a));
    server.dir.replace({ ...server.config, agents: withSites });
    for (const id of ['camthanh-ubnd', 'camthanh-thcs']) {
      agents[id] = await connectAgent(server.url, id, server.tokens[id]!);
      await agents[id].hello();
      expect((await round(id, true)).type).toBe('ack');
    }
    browser = await launchChromium();
    page = await openLoggedIn(browser, server.url, USER, log, { viewport: { width: 1600, height: 900 }, locale: 'vi-VN' });
    await page.waitForSelector(`path[data-code="${COMMUNE}"][data-status="up"]`, { timeout: 15_000 });
  });

  afterAll(async () => {
    for (const a of Object.values(agents)) a.close();
    await browser?.close();
    await server?.stop();
  });

  it("the school's link fails: the incident names the school beside its commune, in the feed and in the detail", async () => {
    const item = page.locator('.feed ul.open [data-incident]');
    for (let i = 0; i < 15 && !(await item.count()); i++) {
      expect((await round('camthanh-thcs', false)).type).toBe('ack');
      expect((await round('camthanh-ubnd', true)).type).toBe('ack');
      await page.waitForTimeout(1000);
    }
    await item.first().waitFor({ timeout: 10_000 });
    expect(await item.count()).toBe(1);
    expect(await item.getAttribute('data-cause')).toBe('local_link');
    expect(await item.textContent()).toContain('Phường Cẩm Thành — Trường THCS Nguyễn Nghiêm');

    await item.click();
    const chip = page.locator('.chips .chip').first();
    await chip.waitFor({ timeout: 5000 });
    expect(await chip.textContent()).toBe('Phường Cẩm Thành — Trường THCS Nguyễn Nghiêm');
    expect(await chip.getAttribute('title')).toBe('Trường THCS Nguyễn Nghiêm: Trường học');
    expect(log.pageErrors).toEqual([]);
  });
});
