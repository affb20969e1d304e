// The incident's cause and evidence and a degraded commune's reasons, in a real Chromium against a real server and
// real WebSocket agents, in both UI languages: the English page shows no Vietnamese sentence from the server, the
// Vietnamese page no English reason. Needs `npm run build` first and Debian's chromium at /usr/bin/chromium.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ProvinceFile } from '../../config/schema.ts';
import type { ProbeResult } from '../../config/wire.ts';
import type { Lang } from '../../config/words.ts';
import { startTestServer, login, type TestServer } from '../helpers/server.ts';
import { connectAgent, icmpOk, icmpLost, type TestAgentClient } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, pointInside, requireBuiltUi, submitLogin } from '../helpers/browser.ts';

const province = JSON.parse(readFileSync(fileURLToPath(new URL('../../config/provinces/51.json', import.meta.url)), 'utf8')) as ProvinceFile;

const hasChromium = chromiumAvailable('test/ui/languages.e2e.test.ts');

const OPERATOR = { username: 'vanhanh', password: 'mat-khau-thu-nghiem-42', role: 'operator' as const };
// Cẩm Thành (Viettel) is cut: an incident. Nghĩa Lộ (VNPT) loses 30 % of its echoes: a degraded commune.
const CUT = { id: 'agent-camthanh', commune: '21025', carrier: 'viettel' };
const LOSSY = { id: 'agent-nghialo', commune: '21028', carrier: 'vnpt' };

/** Vietnamese letters outside ASCII: an English text has none (names are taken out first). */
const VIETNAMESE = /[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]/i;
/** English words of reasons and evidence that the Vietnamese page must not show. */
const ENGLISH = /\b(loss|timeout|slow|silent|answering|answers|reach|failing|fails|recovering|province-wide|link|communes?)\b/i;

function lossy(target: string, ts: number): ProbeResult {
  return { kind: 'icmp', target, ts, uplink: 'wan1', sent: 10, received: 7, loss: 30, rtt_min: 14, rtt_median: 15, rtt_avg: 15, rtt_max: 17, jitter: 1 };
}

describe.skipIf(!hasChromium)('evidence, causes and reasons in the UI language (chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let cut: TestAgentClient;
  let lossyAgent: TestAgentClient;
  let incidentId = '';
  let ts = Date.now() - 10_000;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const nextTs = () => (ts = Math.max(ts + 1000, Date.now() - 2000));

  async function openIn(lang: Lang): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1600, height: 900 }, timezoneId: 'UTC', locale: 'vi-VN' });
    contexts.push(ctx);
    await ctx.addInitScript((l) => localStorage.setItem('ioc.lang', l), lang);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url + '/');
    await submitLogin(page, OPERATOR);
    await page.waitForSelector('[data-conn="live"]', { timeout: 15_000 });
    await page.waitForSelector('path[data-code]', { timeout: 15_000 });
    return page;
  }

  const texts = (page: Page, selector: string) => page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()).filter(Boolean));

  /** Names are proper nouns in either language: take them out before looking at the words around them. */
  const withoutNames = (s: string) =>
    province.communes.reduce((acc, c) => acc.split(c.fullName).join(' ').split(c.name).join(' '), s).replace(/Trung tâm dữ liệu tỉnh/g, ' ');

  async function seen(lang: Lang): Promise<{ cause: string[]; evidence: string[]; feed: string[]; reasons: string[] }> {
    const page = await openIn(lang);
    // the degraded commune's panel: its targets' reasons
    await page.waitForSelector(`path[data-code="${LOSSY.commune}"][data-status="degraded"]`, { timeout: 10_000 });
    const pt = await pointInside(page, `path[data-code="${LOSSY.commune}"]`);
    expect(pt).not.toBeNull();
    await page.mouse.click(pt!.x, pt!.y);
    await page.waitForSelector('#panel-title', { timeout: 5000 });
    await page.waitForSelector('tr[data-target] .reason', { timeout: 5000 });
    const reasons = await texts(page, 'tr[data-target] .reason');
    const feed = await texts(page, '.feed [data-incident] .cause, .feed [data-incident] .evidence');
    // the incident's page
    await page.goto(`${server.url}/#/incidents/${encodeURIComponent(incidentId)}`);
    await page.waitForSelector('.evidence', { timeout: 10_000 });
    const cause = await texts(page, '#incident-title');
    const evidence = await texts(page, '.evidence');
    return { cause, evidence, feed, reasons };
  }

  beforeAll(async () => {
    requireBuiltUi();
    server = await startTestServer({ ui: true, users: [OPERATOR], agents: [CUT, LOSSY] });
    browser = await launchChromium();
    cut = await connectAgent(server.url, CUT.id, server.tokens[CUT.id]!);
    lossyAgent = await connectAgent(server.url, LOSSY.id, server.tokens[LOSSY.id]!);
    await cut.hello();
    await lossyAgent.hello();
    nextTs();
    expect((await cut.batch([icmpOk('gw', ts, 4), icmpOk('dc', ts, 15)])).type).toBe('ack');
    for (let i = 0; i < 3; i++) {
      nextTs();
      expect((await cut.batch([icmpLost('gw', ts), icmpLost('dc', ts)])).type).toBe('ack');
      expect((await lossyAgent.batch([lossy('gw', ts), lossy('dc', ts)])).type).toBe('ack');
    }
    const cookie = await login(server.url, OPERATOR.username, OPERATOR.password);
    const deadline = Date.now() + 30_000;
    while (!incidentId && Date.now() < deadline) {
      const r = await fetch(`${server.url}/api/incidents?open=1&from=0&to=${Date.now() + 60_000}`, { headers: { cookie } });
      const body = (await r.json()) as { items?: { id: string; cause: string }[] } | { id: string; cause: string }[];
      const list = Array.isArray(body) ? body : (body.items ?? []);
      incidentId = list.find((i) => i.cause === 'local_link')?.id ?? '';
      if (!incidentId) await new Promise((r) => setTimeout(r, 500));
    }
    expect(incidentId).not.toBe('');
    // Keep both agents talking while the pages are looked at (a silent agent turns its commune grey after 20 s):
    // one more failing round every 3 s, at most 100.
    let rounds = 0;
    keepAlive = setInterval(() => {
      if (++rounds > 100) return clearInterval(keepAlive);
      nextTs();
      void cut.batch([icmpLost('gw', ts), icmpLost('dc', ts)]).catch(() => {});
      void lossyAgent.batch([lossy('gw', ts), lossy('dc', ts)]).catch(() => {});
    }, 3000);
  }, 60_000);

  afterAll(async () => {
    clearInterval(keepAlive);
    cut?.close();
    lossyAgent?.close();
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  it('English: the cause, the evidence and the reasons are English', async () => {
    const s = await seen('en');
    expect(s.cause.join(' ')).toContain('Commune link down');
    expect(s.evidence.join(' ')).toContain('gateway not answering');
    expect(s.reasons.join(' ')).toContain('loss 30%');
    for (const text of [...s.cause, ...s.evidence, ...s.feed, ...s.reasons]) expect(withoutNames(text), text).not.toMatch(VIETNAMESE);
  });

  it('Vietnamese: no English reason or evidence', async () => {
    const s = await seen('vi');
    expect(s.cause.join(' ')).toContain('Mất kết nối đường truyền xã');
    expect(s.evidence.join(' ')).toContain('không phản hồi');
    expect(s.reasons.join(' ')).toContain('mất gói 30 %');
    for (const text of [...s.cause, ...s.evidence, ...s.feed, ...s.reasons]) expect(text, text).not.toMatch(ENGLISH);
    expect(pageErrors).toEqual([]);
  });
});
