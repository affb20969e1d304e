// Headless Chromium for the UI tests: Debian's /usr/bin/chromium driven by playwright-core, the built UI from
// dist/ui, and the steps every browser test repeats (log in through the form, find a point inside a polygon).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const UI_INDEX = fileURLToPath(new URL('../../dist/ui/index.html', import.meta.url));

/**
 * Whether the browser tests of `file` can run: without Chromium they are skipped with a note, except on CI where a
 * missing browser must fail the run rather than pass it silently.
 */
export function chromiumAvailable(file: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} missing: install Debian's chromium (apt-get install chromium)`);
  console.warn(`SKIP ${file}: ${CHROMIUM} not found — install it with \`apt-get install chromium\``);
  return false;
}

/** The UI must be built (`npm run build`) before a test serves it. */
export function requireBuiltUi(): void {
  if (!existsSync(UI_INDEX)) throw new Error(`${UI_INDEX} missing: run \`npm run build\` before this test`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // no sandbox (containers, root), and nothing that would reach the internet on its own
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** What a test collects from its pages: every request made and every uncaught page error. */
export interface PageLog {
  requests: string[];
  pageErrors: string[];
  contexts: BrowserContext[];
}

/**
 * A fresh browser context in UTC (times on screen must still be Vietnamese) opened at `url`, its requests and
 * page errors recorded in `log` under `who`, and logged in as `user` through the form.
 */
export async function openLoggedIn(
  browser: Browser,
  url: string,
  user: { username: string; password: string },
  log: PageLog,
  options: { viewport: { width: number; height: number }; locale: string },
): Promise<Page> {
  const ctx = await browser.newContext({ ...options, timezoneId: 'UTC', acceptDownloads: true });
  log.contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => log.pageErrors.push(`${user.username}: ${e.message}`));
  page.on('request', (r) => log.requests.push(r.url()));
  await page.goto(url);
  await submitLogin(page, user);
  return page;
}

/** Fill and submit the login form that the page shows. */
export async function submitLogin(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.fill('input[name=username]', user.username);
  await page.fill('input[name=password]', user.password);
  await page.click('button[type=submit]');
}

/**
 * A point inside the element that really hits it, for hovering and clicking a map polygon: the centre of a
 * concave or tiny commune's bounding box may belong to its neighbour. Null when no sampled point hits it.
 */
export function pointInside(page: Page, selector: string): Promise<{ x: number; y: number } | null> {
  return page.$eval(selector, (el) => {
    const r = el.getBoundingClientRect();
    for (let i = 1; i < 12; i++)
      for (let j = 1; j < 12; j++) {
        const x = r.left + (r.width * i) / 12;
        const y = r.top + (r.height * j) / 12;
        if (document.elementFromPoint(x, y) === el) return { x, y };
      }
    return null;
  });
}
