// A commune with several sites (commune centre, school, health station), in a real headless Chromium against a
// real server fed by real WebSocket agents: the panel lists the sites with their state, a site can be opened
// (only its targets), and a change at one site arrives as a site-sized delta that leaves the others alone.
// Needs `npm run build` first and Debian's chromium at /usr/bin/chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { AgentConfig, Site } from '../../config/schema.ts';
import { liveMessageSchema } from '../../config/wire.ts';
import { connectAgent, icmpLost, icmpOk, type TestAgentClient } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, openLoggedIn, pointInside, requireBuiltUi, type PageLog } from '../helpers/browser.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';
import WebSocket from 'ws';

const hasChromium = chromiumAvailable('test/ui/sites.e2e.test.ts');
const USER = { username: 'vanhanh', password: 'mat-khau-thu-nghiem-42', role: 'operator' as const };
const COMMUNE = '21025'; // Phường Cẩm Thành
const SITES: Record<string, Site> = {
  'camthanh-ubnd': { name: 'UBND phường Cẩm Thành', kind: 'commune_centre' },
  'camthanh-thcs': { name: 'Trường THCS Nguyễn Nghiêm', kind: 'school' },
  'camthanh-tyt': { name: 'Trạm y tế phường Cẩm Thành', kind: 'health_station' },
};

describe.skipIf(!hasChromium)('sites of a commune (chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const agents: Record<string, TestAgentClient> = {};
  const log: PageLog = { requests: [], pageErrors: [], contexts: [] };
  let ts = Date.now() - 60_000;

  const round = (id: string, dcOk: boolean) => {
    ts += 1000;
    return agents[id]!.batch([icmpOk('gw', ts, 2), dcOk ? icmpOk('dc', ts, 20) : icmpLost('dc', ts)]);
  };
  const siteButton = (id: string) => page.locator(`button[data-site="${id}"]`);

  beforeAll(async () => {
    requireBuiltUi();
    server = await startTestServer({ ui: true, users: [USER], agents: Object.keys(SITES).map((id) => ({ id, commune: COMMUNE, carrier: 'viettel' })) });
    // the sites, as the YAML or an enrolment gives them, through the directory's run-time replacement
    const withSites: AgentConfig[] = [...server.dir.agents.values()].map((a) => ({ ...a, site: SITES[a.id] }));
    server.dir.replace({ ...server.config, agents: withSites });
    for (const id of Object.keys(SITES)) {
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

  it('the API names each site with its kind and state', async () => {
    const cookie = await login(server.url, USER.username, USER.password);
    const r = await fetch(`${server.url}/api/communes/${COMMUNE}`, { headers: { cookie } });
    expect(r.status).toBe(200);
    const c = (await r.json()) as { sites: { agent: string; name: string; kind: string; status: string }[] };
    expect(c.sites).toEqual(Object.entries(SITES).map(([agent, s]) => ({ agent, ...s, status: 'up' })));
  });

  it('the panel lists the sites; a failing school turns its site and the commune red, and can be opened', async () => {
    const pt = await pointInside(page, `path[data-code="${COMMUNE}"]`);
    expect(pt).not.toBeNull();
    await page.mouse.click(pt!.x, pt!.y);
    await page.waitForSelector('#panel-title', { timeout: 5000 });
    await expect.poll(() => page.locator('button[data-site]').count(), { timeout: 5000 }).toBe(3);
    for (const [id, s] of Object.entries(SITES)) {
      expect(await siteButton(id).textContent()).toContain(s.name);
      expect(await siteButton(id).getAttribute('data-status')).toBe('up');
    }
    expect(await siteButton('camthanh-thcs').textContent()).toContain('Trường học');
    expect(await siteButton('camthanh-tyt').textContent()).toContain('Trạm y tế');

    for (let i = 0; i < 3; i++) expect((await round('camthanh-thcs', false)).type).toBe('ack');
    await page.waitForSelector('button[data-site="camthanh-thcs"][data-status="down"]', { timeout: 8000 });
    await page.waitForSelector(`path[data-code="${COMMUNE}"][data-status="down"]`, { timeout: 8000 });
    expect(await siteButton('camthanh-ubnd').getAttribute('data-status')).toBe('up');
    expect(await siteButton('camthanh-tyt').getAttribute('data-status')).toBe('up');
    // every site's targets: 3 sites x (gw, dc)
    expect(await page.locator('tr[data-target]').count()).toBe(6);

    await siteButton('camthanh-thcs').click();
    expect(await page.textContent('[data-site-open="camthanh-thcs"]')).toContain('Trường THCS Nguyễn Nghiêm');
    await expect.poll(() => page.locator('tr[data-target]').count()).toBe(2);
    expect(await page.getAttribute('tr[data-target="dc"]', 'data-status')).toBe('down');
    await siteButton('camthanh-thcs').click(); // closes it again
    await expect.poll(() => page.locator('tr[data-target]').count()).toBe(6);
  });

  it('a change at one site travels as that site only, and the screen merges it', async () => {
    const cookie = await login(server.url, USER.username, USER.password);
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/ws/live', { headers: { cookie, origin: server.url } });
    const deltas: unknown[] = [];
    ws.on('message', (d) => {
      const m = liveMessageSchema.parse(JSON.parse(String(d)));
      if (m.type === 'delta') deltas.push(m);
    });
    await new Promise((r) => ws.once('open', r));
    for (let i = 0; i < 2; i++) expect((await round('camthanh-thcs', true)).type).toBe('ack');
    await page.waitForSelector('button[data-site="camthanh-thcs"][data-status="up"]', { timeout: 8000 });
    await page.waitForSelector(`path[data-code="${COMMUNE}"][data-status="up"]`, { timeout: 8000 });
    expect(await page.locator('tr[data-target]').count()).toBe(6);
    ws.close();
    const frames = deltas as { communes: { code: string; only?: string[]; targets: { agent?: string }[]; sites?: { agent: string }[] }[] }[];
    const mine = frames.flatMap((f) => f.communes).filter((c) => c.code === COMMUNE);
    expect(mine.length).toBeGreaterThan(0);
    for (const c of mine) {
      expect(c.only).toEqual(['camthanh-thcs']);
      expect(c.targets.every((t) => t.agent === 'camthanh-thcs')).toBe(true);
      expect(c.sites?.map((s) => s.agent)).toEqual(['camthanh-thcs']);
    }
    expect(log.pageErrors).toEqual([]);
  });
});
