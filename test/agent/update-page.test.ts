// Self-update on the agents page, in a real headless Chromium against a real server serving a release: the page shows
// the offered version; an admin pauses updates (the next plan offers nothing) and resumes them; an agent's failed
// update shows in its row with the reason. Needs `npm run build` first and Debian's chromium at /usr/bin/chromium.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../config/wire.ts';
import { connectAgent } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, openLoggedIn, requireBuiltUi, type PageLog } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const hasChromium = chromiumAvailable('test/agent/update-page.test.ts');
const ADMIN = { username: 'quantri', password: 'mat-khau-cap-nhat-4', role: 'admin' as const };

describe.skipIf(!hasChromium)('agents page: self-update (chromium)', () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  let dir = '';
  const log: PageLog = { contexts: [], requests: [], pageErrors: [] };

  beforeAll(async () => {
    requireBuiltUi();
    dir = mkdtempSync(join(tmpdir(), 'ioc-release-'));
    const body = 'console.log("0.3.0")\n';
    writeFileSync(join(dir, 'ioc-agent.mjs'), body);
    const sha256 = createHash('sha256').update(body).digest('hex');
    writeFileSync(join(dir, 'release.json'), JSON.stringify({ version: '0.3.0', node: '20.20.2', artefacts: [{ platform: 'mjs', file: 'ioc-agent.mjs', sha256, size: body.length }] }));
    s = await startTestServer({ ui: true, users: [ADMIN], agents: [{ id: 'tram-cap-nhat', commune: '21548', carrier: 'vnpt' }], server: { agentReleasesDir: dir } });
    browser = await launchChromium();
    page = await openLoggedIn(browser, `${s.url}/#/agents`, ADMIN, log, { viewport: { width: 1600, height: 900 }, locale: 'vi-VN' });
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the offered version, pauses and resumes, and shows a failed update', async () => {
    await page.goto(`${s.url}/#/agents`);
    await page.waitForSelector('[data-releases][data-offered="0.3.0"]', { timeout: 8000 });
    expect(await page.textContent('[data-releases]')).toContain('Máy chủ đang cung cấp phiên bản 0.3.0');

    const c = await connectAgent(s.url, 'tram-cap-nhat', s.tokens['tram-cap-nhat']!);
    expect((await c.hello()).release?.version).toBe('0.3.0');

    await page.click('button[data-action="pause-updates"]');
    await page.waitForSelector('[data-releases][data-offered=""] [data-update-state="paused"]', { timeout: 5000 });
    expect(await page.textContent('[data-update-state="paused"]')).toContain('Đang tạm dừng');
    expect(s.control.releaseOffer()).toBeUndefined();
    await page.click('button[data-action="pause-updates"]');
    await page.waitForSelector('[data-releases][data-offered="0.3.0"]', { timeout: 5000 });

    c.sendRaw(JSON.stringify({ type: 'update', v: PROTOCOL_VERSION, state: 'failed', from: 'test', to: '0.3.0', error: 'SHA-256 mismatch for ioc-agent.mjs' }));
    await page.waitForSelector('tr[data-agent="tram-cap-nhat"] td[data-update="failed"]', { timeout: 8000 });
    expect(await page.textContent('tr[data-agent="tram-cap-nhat"] td[data-update="failed"]')).toContain('Cập nhật lên 0.3.0 thất bại, vẫn chạy test: SHA-256 mismatch');
    c.close();
    expect(log.pageErrors).toEqual([]);
  });
});
