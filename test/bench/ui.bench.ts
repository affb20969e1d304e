// The UI at province scale: headless Chromium on the built UI, served by a real server with 3,000 sites spread over
// the province's 96 real communes (each commune's centre plus schools, health stations and other sites). The sites'
// results go straight into the server's live state, as the agent WebSocket handler puts them there after checking a
// batch (the ingest path has its own bench, bench:ingest; here the server's cost beyond the live state is the UI's:
// deltas, coalescing, /ws/live). Production traffic meanwhile: each site's round every 30 s, spread evenly, and a
// heartbeat every 5 s. It measures, in the browser:
//   - first render: navigation (already logged in) to the map fully coloured, median of RENDERS page loads;
//   - a delta applied: one site's failed round sent by its agent -> its commune's colour changed on screen (the frame
//     after the DOM change), over CHANGES changes in different communes, and the same for the recovery;
//   - the page's JS heap after a garbage collection, and frame times (rAF intervals) and long tasks while deltas flow;
//   - opening the commune panel of a commune with ~31 sites.
// Clocks: the sender and the page share this machine's wall clock (Date.now() in both). Any phase that measured
// nothing, or a change that never reached the screen, fails the run (exit 1).
//   npm run build && npm run bench:ui
//   SITES=3000 CHANGES=50 RENDERS=3 npm run bench:ui
import { writeFileSync } from 'node:fs';
import type { CDPSession, Page } from 'playwright-core';
import type { AgentConfig, Site, SiteKind } from '../../config/schema.ts';
import provinceJson from '../../config/provinces/51.json' with { type: 'json' };
import { icmpLost, icmpOk } from '../helpers/agent-client.ts';
import { launchChromium, openLoggedIn, requireBuiltUi, type PageLog } from '../helpers/browser.ts';
import { startTestServer } from '../helpers/server.ts';

const SITES = Number(process.env.SITES ?? 3000);
const CHANGES = Number(process.env.CHANGES ?? 50);
const RENDERS = Number(process.env.RENDERS ?? 3);
/** where to write the figures as JSON too (optional) */
const OUT = process.env.OUT;
/** PROFILE=1: a CPU profile of one more first render, its top functions by self time printed */
const PROFILE = process.env.PROFILE === '1';
const ROUND_MS = 30_000;
const USER = { username: 'bench', password: 'bench-password-0123456789', role: 'operator' as const };
const TARGETS = [
  { id: 'gw', name: 'Gateway', kind: 'icmp' as const, host: 'gateway' },
  { id: 'dc', name: 'Trung tâm dữ liệu tỉnh', kind: 'icmp' as const, host: '127.0.0.1' },
];

const communes = (provinceJson as { communes: { code: string; name: string }[] }).communes;
const agentId = (i: number) => `s${String(i).padStart(5, '0')}`;
const KINDS: SiteKind[] = ['school', 'health_station', 'school', 'other'];
const KIND_NAME: Record<SiteKind, string> = { commune_centre: 'UBND', school: 'Trường', health_station: 'Trạm y tế', other: 'Điểm' };
/** agent i measures from commune i mod 96; the first of each commune is its centre (no site: the default) */
const siteOf = (i: number): Site | undefined => {
  const k = Math.floor(i / communes.length);
  if (k === 0) return undefined;
  const kind = KINDS[k % KINDS.length]!;
  return { name: `${KIND_NAME[kind]} ${communes[i % communes.length]!.name} ${k}`, kind };
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const median = (xs: number[]) => pct(xs, 50);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * In the page: every colour change of a commune (data-status of its map path), stamped at the next frame; frame
 * intervals; long tasks. Plain JavaScript text: the bundler's helpers would not exist in the page.
 */
const RECORDER = `(() => {
  window.__changes = [];
  window.__frames = [];
  window.__long = [];
  new MutationObserver((ms) => {
    for (const m of ms) {
      const code = m.target.getAttribute('data-code');
      if (!code) continue;
      const rec = { code, status: m.target.getAttribute('data-status') || '', dom: Date.now(), frame: 0 };
      window.__changes.push(rec);
      requestAnimationFrame(() => { rec.frame = Date.now(); });
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
  let last = performance.now();
  const tick = (t) => { window.__frames.push(t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: 'longtask', buffered: false });
  } catch { /* no long-task timing in this browser */ }
})()`;

async function heapMB(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const h = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  return h.usedSize / 2 ** 20;
}

/** Navigate (logged in) and wait for every commune path coloured from live data: ms since navigation start. */
async function firstRender(page: Page, url: string): Promise<number> {
  await page.goto(url, { waitUntil: 'commit' });
  const h = await page.waitForFunction(
    (n) => {
      const ps = document.querySelectorAll('path[data-code]');
      if (ps.length < n) return false;
      for (const p of ps) if (p.getAttribute('data-status') !== 'up') return false;
      return performance.now();
    },
    communes.length,
    { polling: 'raf', timeout: 120_000 },
  );
  return (await h.jsonValue()) as number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** One more first render under the CPU profiler: the top functions by self time. */
async function profileRender(page: Page, cdp: CDPSession, url: string): Promise<void> {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const ms = await firstRender(page, url);
  const { profile } = (await cdp.send('Profiler.stop')) as { profile: { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] } };
  const total = profile.samples.length;
  const self = new Map<string, number>();
  for (const n of profile.nodes) {
    const f = n.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    self.set(k, (self.get(k) ?? 0) + (n.hitCount ?? 0));
  }
  const span = (profile.endTime - profile.startTime) / 1000;
  console.log(`\nprofiled first render: ${ms.toFixed(0)} ms; top self time of ${span.toFixed(0)} ms profiled`);
  for (const [k, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${((n / total) * span).toFixed(0).padStart(6)} ms  ${k}`);
}

async function main() {
  requireBuiltUi();
  if (SITES < communes.length) throw new Error(`SITES=${SITES}: at least one site per commune (${communes.length})`);
  const t0 = Date.now();
  const server = await startTestServer({
    ui: true,
    users: [USER],
    targets: TARGETS,
    agents: Array.from({ length: SITES }, (_, i) => ({ id: agentId(i), commune: communes[i % communes.length]!.code, carrier: i % 2 ? 'viettel' : 'vnpt' })),
    // production timing: silent after 20 s, deltas coalesced over 100 ms
    server: { heartbeatSec: 5, agentTimeoutSec: 20, liveCoalesceMs: 100 },
  });
  const step = (what: string) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}`);
  step(`server up with ${SITES} agents`);
  const failures: string[] = [];
  let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;
  try {
    const withSites: AgentConfig[] = [...server.dir.agents.values()].map((a) => {
      const site = siteOf(Number(a.id.slice(1)));
      return site ? { ...a, site } : a;
    });
    server.dir.replace({ ...server.config, agents: withSites });
    // one good round of every site: every commune up
    const lastTs = new Array<number>(SITES).fill(0);
    const nextTs = (i: number) => (lastTs[i] = Math.max(Date.now(), lastTs[i]! + 1));
    const round = (i: number, dcOk: boolean) => {
      const ts = nextTs(i);
      server.live.apply(agentId(i), [icmpOk('gw', ts, 2), dcOk ? icmpOk('dc', ts, 20) : icmpLost('dc', ts)]);
    };
    for (let i = 0; i < SITES; i++) round(i, true);
    const connectS = (Date.now() - t0) / 1000;
    step('every site up');
    // keep every agent heard while the bench runs (the server marks silent agents unknown after 20 s)
    // production traffic meanwhile: a heartbeat from every agent every 5 s, and each agent's round every 30 s spread
    // evenly over the 30 s (100 batches/s at 3,000 sites), each one a delta the page applies
    const busy = new Set<number>();
    const started = Date.now();
    const heartbeats = setInterval(() => {
      for (let i = 0; i < SITES; i++) server.live.touchAgent(agentId(i));
    }, 5000);
    let next = 0;
    const rounds = setInterval(() => {
      const due = Math.floor(((Date.now() - started) / ROUND_MS) * SITES);
      for (; next < due; next++) {
        const i = next % SITES;
        if (!busy.has(i)) round(i, true);
      }
    }, 100);

    browser = await launchChromium();
    const log: PageLog = { requests: [], pageErrors: [], contexts: [] };
    const page = await openLoggedIn(browser, server.url, USER, log, { viewport: { width: 1600, height: 900 }, locale: 'vi-VN' });
    await page.waitForSelector('path[data-code]', { timeout: 60_000 });
    const cdp = await page.context().newCDPSession(page);
    step('logged in');

    // 1. first render, RENDERS times
    const renders: number[] = [];
    for (let k = 0; k < RENDERS; k++) renders.push(await firstRender(page, server.url));
    const heapAfterRender = await heapMB(cdp);
    if (PROFILE) await profileRender(page, cdp, server.url);
    step(`first render: ${renders.map((x) => x.toFixed(0)).join(', ')} ms`);

    // 2. deltas: one site of commune c fails (its commune turns from up to another colour), then recovers
    await page.evaluate(RECORDER);
    const fail: number[] = [];
    const recover: number[] = [];
    const changeAt = async (code: string, want: (s: string) => boolean, since: number, timeoutMs = 15_000): Promise<number | null> => {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const rec = await page.evaluate(
          ([c, s]) =>
            (window as unknown as { __changes: { code: string; status: string; dom: number; frame: number }[] }).__changes
              .filter((x) => x.code === c && x.dom >= s && x.frame > 0)
              .map((x) => ({ status: x.status, frame: x.frame })),
          [code, since] as const,
        );
        const first = rec.find((x) => want(x.status));
        if (first) return first.frame;
        await sleep(20);
      }
      return null;
    };
    for (let k = 0; k < CHANGES; k++) {
      // a site that is not its commune's centre (unless it has no other), in a different commune each time
      const perCommune = Math.floor(SITES / communes.length);
      const i = communes.length * (perCommune > 1 ? 1 + (k % (perCommune - 1)) : 0) + (k % communes.length);
      const code = communes[i % communes.length]!.code;
      busy.add(i);
      const sentFail = Date.now();
      round(i, false);
      const seenFail = await changeAt(code, (s) => s !== 'up', sentFail);
      if (seenFail === null) failures.push(`change ${k}: commune ${code} never left "up" on screen`);
      else fail.push(seenFail - sentFail);
      const sentOk = Date.now();
      round(i, true);
      let seenOk = await changeAt(code, (s) => s === 'up', sentOk, 5000);
      // the status machine may want a second good round before it calls the slot up again
      for (let extra = 0; seenOk === null && extra < 3; extra++) {
        round(i, true);
        seenOk = await changeAt(code, (s) => s === 'up', sentOk, 5000);
      }
      if (seenOk === null) failures.push(`change ${k}: commune ${code} never came back to "up"`);
      else recover.push(seenOk - sentOk);
      busy.delete(i);
      if (k % 10 === 9) step(`${k + 1} changes`);
    }
    const frames = (await page.evaluate(() => (window as unknown as { __frames: number[] }).__frames)).slice(1);
    const longTasks = await page.evaluate(() => (window as unknown as { __long: number[] }).__long);
    const heapAfterDeltas = await heapMB(cdp);

    // 3. the panel of a commune with its ~31 sites
    const big = communes[0]!.code;
    const panelT0 = Date.now();
    await page.locator(`path[data-code="${big}"]`).dispatchEvent('click');
    await page.waitForFunction((n) => document.querySelectorAll('button[data-site]').length >= n, Math.floor(SITES / communes.length), { timeout: 30_000 });
    const panelMs = Date.now() - panelT0;
    const panelSites = await page.locator('button[data-site]').count();
    clearInterval(heartbeats);
    clearInterval(rounds);
    if (log.pageErrors.length) failures.push(`page errors: ${log.pageErrors.slice(0, 3).join(' | ')}`);

    if (!renders.length || renders.some((x) => !(x > 0))) failures.push('first render measured nothing');
    if (!fail.length) failures.push('no delta reached the screen');
    if (!frames.length) failures.push('no frames measured');
    const fig = {
      sites: SITES,
      communes: communes.length,
      connectS,
      firstRenderMs: { median: median(renders), all: renders },
      deltaFailMs: { p50: pct(fail, 50), p99: pct(fail, 99), max: Math.max(...fail), n: fail.length, of: CHANGES },
      deltaRecoverMs: { p50: pct(recover, 50), p99: pct(recover, 99), max: Math.max(...recover), n: recover.length, of: CHANGES },
      frameMs: { p50: pct(frames, 50), p99: pct(frames, 99), max: Math.max(...frames), n: frames.length },
      longTasks: { n: longTasks.length, totalMs: longTasks.reduce((s, x) => s + x, 0), maxMs: longTasks.length ? Math.max(...longTasks) : 0 },
      heapMB: { afterRender: heapAfterRender, afterDeltas: heapAfterDeltas },
      panel: { sites: panelSites, ms: panelMs },
    };
    const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
    console.log(`\nUI with ${SITES} sites over ${communes.length} communes (headless Chromium, built UI, in-process server ready in ${connectS.toFixed(1)} s)`);
    console.log('measure                                   p50 / median      p99        max       n');
    console.log(`first render (navigation -> map coloured) ${f1(fig.firstRenderMs.median).padStart(9)} ms  ${''.padStart(9)}  ${f1(Math.max(...renders)).padStart(9)}  ${String(renders.length).padStart(5)}`);
    console.log(`delta applied: site fails -> colour        ${f1(fig.deltaFailMs.p50).padStart(9)} ms  ${f1(fig.deltaFailMs.p99).padStart(9)}  ${f1(fig.deltaFailMs.max).padStart(9)}  ${String(fail.length).padStart(5)}`);
    console.log(`delta applied: site recovers -> colour     ${f1(fig.deltaRecoverMs.p50).padStart(9)} ms  ${f1(fig.deltaRecoverMs.p99).padStart(9)}  ${f1(fig.deltaRecoverMs.max).padStart(9)}  ${String(recover.length).padStart(5)}`);
    console.log(`frame time while deltas flow               ${f1(fig.frameMs.p50).padStart(9)} ms  ${f1(fig.frameMs.p99).padStart(9)}  ${f1(fig.frameMs.max).padStart(9)}  ${String(frames.length).padStart(5)}`);
    console.log(`long tasks (> 50 ms) while deltas flow     ${String(fig.longTasks.n).padStart(9)}     total ${f1(fig.longTasks.totalMs)} ms, longest ${f1(fig.longTasks.maxMs)} ms`);
    console.log(`JS heap after GC                           ${f1(heapAfterRender).padStart(9)} MB after first render, ${f1(heapAfterDeltas)} MB after the deltas`);
    console.log(`commune panel with ${panelSites} sites opened in ${panelMs} ms`);
    if (OUT) writeFileSync(OUT, JSON.stringify(fig, null, 2));
  } catch (e) {
    failures.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    console.error(`bench:ui: ${failures.at(-1)}`);
  } finally {
    await browser?.close();
    // a server that does not close within 30 s must not hold the verdict back
    await Promise.race([server.stop(), sleep(30_000)]);
  }
  if (failures.length) {
    console.error(`\nFAILED:\n  ${failures.slice(0, 20).join('\n  ')}`);
    process.exit(1);
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error('bench:ui failed:', e instanceof Error ? e.stack : e);
  process.exit(1);
});
