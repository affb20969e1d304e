// The public status page (/status) in a real headless Chromium against a real server fed by real WebSocket agents:
// no login, published services only (portals, iOffice, signing), a portal outage shown within one round (the
// portal's 60 s interval), nothing about communes, carriers, links or unpublished targets, and an answer cached so
// that a flood of requests computes it once. Needs `npm run build` first and Debian's chromium at /usr/bin/chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { publicStatusSchema, type PublicStatus } from '../../config/api.ts';
import type { ProbeResult } from '../../config/wire.ts';
import { connectAgent, icmpOk, type TestAgentClient } from '../helpers/agent-client.ts';
import { chromiumAvailable, launchChromium, requireBuiltUi } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const hasChromium = chromiumAvailable('test/ui/status.e2e.test.ts');

const AGENTS = [
  { id: 'agent-camthanh', commune: '21025', carrier: 'viettel' },
  { id: 'agent-nghialo', commune: '21028', carrier: 'vnpt' },
  { id: 'agent-anphu', commune: '21034', carrier: 'vnpt' },
];
const TARGETS = [
  { id: 'gw', name: 'Gateway', kind: 'icmp' as const, host: 'gateway' },
  { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp' as const, host: '127.0.0.1' },
  { id: 'portal', name: 'Cổng Dịch vụ công tỉnh', kind: 'http' as const, url: 'http://127.0.0.1:9/' },
  { id: 'ioffice', name: 'Hệ thống quản lý văn bản iOffice', kind: 'http' as const, url: 'http://127.0.0.1:9/ioffice' },
  { id: 'kyso-crl', name: 'Ký số: CRL CA chuyên dùng', kind: 'ocsp' as const, crlUrl: 'http://127.0.0.1:9/ca.crl' },
  { id: 'kyso-tsa', name: 'Ký số: dấu thời gian', kind: 'tsa' as const, url: 'http://127.0.0.1:9/tsa' },
  { id: 'smtp', name: 'Thư điện tử nội bộ', kind: 'tcp' as const, host: '127.0.0.1', port: 25 },
  { id: 'intranet', name: 'Mạng nội bộ sở (không công bố)', kind: 'http' as const, url: 'http://127.0.0.1:9/intranet', public: false },
];
const PUBLISHED = ['portal', 'ioffice', 'kyso-crl', 'kyso-tsa'];

describe.skipIf(!hasChromium)('public status page (chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const agents: TestAgentClient[] = [];
  const pageErrors: string[] = [];
  const requests: string[] = [];
  let ts = Date.now() - 10_000;
  // agents report every few seconds, as real ones do (a silent agent's slots go unknown after agentTimeoutSec)
  let portalOk = true;
  let timer: ReturnType<typeof setInterval> | undefined;
  let sending: Promise<void> = Promise.resolve();
  const tick = () => (sending = sending.then(() => round(portalOk)).catch(() => {}));

  const http = (target: string, ok: boolean, t: number): ProbeResult =>
    ok ? { kind: 'http', target, ts: t, ok: true, status: 200, total_ms: 120 } : { kind: 'http', target, ts: t, ok: false, status: null, total_ms: null, error: 'timeout' };
  /** one round of every target from every agent, the portal failing when asked */
  async function round(portalOk: boolean) {
    ts = Math.max(ts + 1000, Date.now() - 2000);
    for (const a of agents) {
      const ack = await a.batch([
        icmpOk('gw', ts, 4),
        icmpOk('dc', ts, 15),
        http('portal', portalOk, ts),
        http('ioffice', true, ts),
        http('intranet', false, ts),
        { kind: 'ocsp', target: 'kyso-crl', ts, ok: true, cert_status: null, total_ms: 80, crl_ok: true, crl_ms: 80, crl_bytes: 20_000, crl_next_update_s: 86_000 },
        { kind: 'tsa', target: 'kyso-tsa', ts, ok: true, total_ms: 150, tsa_status: 0, skew_ms: -300 },
        { kind: 'tcp', target: 'smtp', ts, ok: false, connect_ms: null, error: 'refused' },
      ]);
      expect(ack.type).toBe('ack');
    }
  }
  const stateOf = (id: string) => page.getAttribute(`[data-testid="service"][data-id="${id}"]`, 'data-state');

  beforeAll(async () => {
    requireBuiltUi();
    server = await startTestServer({ ui: true, agents: AGENTS, targets: TARGETS });
    for (const a of AGENTS) {
      const c = await connectAgent(server.url, a.id, server.tokens[a.id]!);
      await c.hello();
      agents.push(c);
    }
    await round(true);
    timer = setInterval(tick, 4000);
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN', timezoneId: 'UTC' });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
  });

  afterAll(async () => {
    clearInterval(timer);
    await sending;
    for (const a of agents) a.close();
    await browser?.close();
    await server?.stop();
  });

  it('opens without a login: the published services, up, and when the figures were updated', async () => {
    await page.goto(`${server.url}/status`);
    await page.waitForSelector('[data-testid="service"]', { timeout: 15_000 });
    const ids = await page.$$eval('[data-testid="service"]', (els) => els.map((e) => e.getAttribute('data-id')));
    expect(ids).toEqual(PUBLISHED);
    for (const id of PUBLISHED) expect(await stateOf(id)).toBe('up');
    const text = await page.innerText('main');
    expect(text).toContain('Trạng thái hệ thống dịch vụ công trực tuyến');
    expect(text).toContain('Dịch vụ ký số');
    expect(text).toContain('Hoạt động bình thường');
    expect(text).toMatch(/Cập nhật lúc \d\d:\d\d:\d\d \d\d\/\d\d\/\d{4}/);
    expect(text).toMatch(/Hôm nay: 100 %/);
    // no login form, no operators' app
    expect(await page.$('input[type="password"]')).toBeNull();
    expect(pageErrors).toEqual([]);
    // offline: nothing but the server itself was asked for
    expect(requests.filter((u) => !u.startsWith(server.url))).toEqual([]);
  });

  it('hides what is not published: links, internal checks, communes, carriers', async () => {
    const text = await page.innerText('main');
    for (const hidden of ['Gateway', 'Trung tâm dữ liệu', 'Thư điện tử', 'không công bố', 'Cẩm Thành', 'Nghĩa Lộ', 'An Phú', 'VNPT', 'Viettel', '21025'])
      expect(text).not.toContain(hidden);
    const r = await fetch(`${server.url}/api/public/status`);
    expect(r.status).toBe(200);
    const raw = await r.text();
    for (const hidden of ['"gw"', '"dc"', '"smtp"', '"intranet"', '21025', '21028', 'vnpt', 'viettel', 'agent-']) expect(raw).not.toContain(hidden);
    const body = publicStatusSchema.parse(JSON.parse(raw));
    expect(body.services.map((s) => s.id)).toEqual(PUBLISHED);
    expect(body.services.map((s) => s.group)).toEqual(['service', 'service', 'signing', 'signing']);
    expect(body.services[0]!.days).toHaveLength(90);
  });

  it('is cached: requests within the cache time get the same answer, computed once', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${server.url}/api/public/status`).then((r) => r.json() as Promise<PublicStatus>)));
    expect(new Set(answers.map((a) => a.updatedAt)).size).toBe(1);
    const r = await fetch(`${server.url}/api/public/status`);
    expect(r.headers.get('cache-control')).toBe(`public, max-age=${answers[0]!.cacheSec}`);
  });

  it('a portal failing in every commune shows within one round, then its recovery', async () => {
    portalOk = false;
    await tick();
    const failedAt = Date.now();
    await page.waitForSelector('[data-testid="service"][data-id="portal"]:not([data-state="up"])', { timeout: 45_000 });
    // one round of the portal is 60 s: the page (server cache + poll) shows it well within that
    expect(Date.now() - failedAt).toBeLessThan(60_000);
    expect(['degraded', 'down']).toContain(await stateOf('portal'));
    expect(await stateOf('ioffice')).toBe('up');
    const text = await page.innerText(`[data-testid="service"][data-id="portal"]`);
    expect(text).toMatch(/Hoạt động chập chờn|Gián đoạn/);
    expect(text).not.toMatch(/Hôm nay: 100 %/);
    // once the engine opens the service incident (3 failed rounds in 3 communes), it is listed in plain words
    await page.waitForSelector('[data-testid="incident"]', { timeout: 45_000 });
    const inc = await page.innerText('[data-testid="incident"]');
    expect(inc).toMatch(/^Dịch vụ Cổng Dịch vụ công tỉnh (không truy cập được|truy cập chậm)/);
    expect(inc).toMatch(/từ \d\d:\d\d \d\d\/\d\d\/\d{4}/);
    expect(inc).not.toMatch(/VNPT|Viettel|Cẩm Thành|21025/);
    portalOk = true;
    await page.waitForSelector('[data-testid="service"][data-id="portal"][data-state="up"]', { timeout: 60_000 });
    expect(pageErrors).toEqual([]);
  }, 150_000);
});
