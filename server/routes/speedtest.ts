// /api/agent/speedtest: the two ends of an agent's link speed test (agent/probes/throughput.ts), with the agent's own
// token. Download streams random bytes (incompressible: nothing on the path can shrink them into a faster reading)
// until the requested count or time; upload counts and drops the body and answers how it arrived, because only the
// receiver sees goodput (the sender's writes land in its socket buffer long before they cross the link). Both are
// bounded per request (config/api.ts SPEEDTEST_MAX_BYTES / _MS) and a few run at once server-wide: the rest are told
// to come back later (429 + Retry-After), which the agent takes as "not measured", never as a slow link.
import { randomFillSync } from 'node:crypto';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { API, SPEEDTEST_MAX_BYTES, SPEEDTEST_MAX_MS, type ApiResponseIn } from '../../config/api.ts';
import { valid } from '../http/validate.ts';

/** the upload route: app.ts exempts it from the API's body limit, since it applies its own */
export const SPEEDTEST_UP_PATH = '/api/agent/speedtest/up';
const CHUNK = 64 * 1024;
/** an upload's samples, one per this much time: a short upload on a busy machine still gets enough to fit a slope */
const SAMPLE_MS = 25;
/** the answer's schema takes 1000; the last one is always the final count */
const MAX_SAMPLES = 999;
/** a transfer whose peer went quiet still frees its slot after its time plus this */
const STALL_MS = 30_000;

export type Direction = 'down' | 'up';

/** Running totals of this process, read by /metrics (server/metrics.ts). */
export const speedtestStats = {
  transfers: { down: 0, up: 0 },
  bytes: { down: 0, up: 0 },
  /** refused: busy = all slots taken; too_large = an upload past the limit */
  refused: { busy: 0, too_large: 0 },
  active: 0,
};

export interface SpeedtestDeps {
  /** an agent's own token (server/ingest/agent-ws.ts agentAuth) */
  agent: MiddlewareHandler<{ Variables: { agentId: string } }>;
  /** transfers at once, both directions together (default 4) */
  maxConcurrent?: number;
  /** told to refused callers, s (default 60) */
  retryAfterSec?: number;
  /** every finished transfer (tests count what the server really moved) */
  onTransfer?: (t: { agentId: string; direction: Direction; bytes: number; ms: number }) => void;
}

export function speedtestRoutes(d: SpeedtestDeps) {
  const max = d.maxConcurrent ?? 4;
  const retryAfter = d.retryAfterSec ?? 60;
  let active = 0;
  /** a slot, released exactly once however the transfer ends */
  const take = () => {
    active++;
    speedtestStats.active++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      active--;
      speedtestStats.active--;
    };
  };
  /** all slots taken: a 429 telling when to come back, else null */
  const full = (c: Context) => {
    if (active < max) return null;
    speedtestStats.refused.busy++;
    c.header('Retry-After', String(retryAfter));
    return c.json({ error: `${max} speed tests are running; try again in ${retryAfter} s` }, 429);
  };
  const done = (agentId: string, direction: Direction, bytes: number, ms: number) => {
    speedtestStats.transfers[direction]++;
    speedtestStats.bytes[direction] += bytes;
    d.onTransfer?.({ agentId, direction, bytes, ms });
  };

  return new Hono<{ Variables: { agentId: string } }>()
    .get('/down', d.agent, valid('query', API['GET /api/agent/speedtest/down'].query), (c) => {
      const busy = full(c);
      if (busy) return busy;
      const { bytes, ms } = c.req.valid('query');
      const agentId = c.get('agentId');
      const release = take();
      const start = Date.now();
      let sent = 0;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(stall);
        release();
        done(agentId, 'down', sent, Date.now() - start);
      };
      const stall = setTimeout(finish, ms + STALL_MS);
      const body = new ReadableStream<Uint8Array>(
        {
          pull(ctrl) {
            const left = bytes - sent;
            if (left <= 0 || Date.now() - start >= ms) {
              finish();
              ctrl.close();
              return;
            }
            const n = Math.min(CHUNK, left);
            sent += n;
            ctrl.enqueue(randomFillSync(Buffer.allocUnsafe(n)));
          },
          cancel: finish,
        },
        // a small queue: what is counted as sent is what the socket took, give or take one chunk
        { highWaterMark: 1 },
      );
      return c.body(body, 200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store' });
    })
    .post('/up', d.agent, async (c) => {
      const busy = full(c);
      if (busy) return busy;
      const length = Number(c.req.header('content-length') ?? NaN);
      if (length > SPEEDTEST_MAX_BYTES) {
        speedtestStats.refused.too_large++;
        return c.json({ error: `body larger than ${SPEEDTEST_MAX_BYTES} bytes` }, 413);
      }
      const agentId = c.get('agentId');
      const release = take();
      const reader = c.req.raw.body?.getReader();
      let bytes = 0;
      let first = 0;
      let last = 0;
      const samples: [number, number][] = [];
      const stall = setTimeout(() => void reader?.cancel(new Error('upload stalled')).catch(() => {}), SPEEDTEST_MAX_MS + STALL_MS);
      try {
        for (;;) {
          const r = reader ? await reader.read() : { done: true as const, value: undefined };
          if (r.done) break;
          const now = performance.now();
          if (bytes === 0) first = now;
          bytes += r.value.byteLength;
          last = now;
          if (bytes > SPEEDTEST_MAX_BYTES) {
            await reader!.cancel(new Error('too large')).catch(() => {});
            speedtestStats.refused.too_large++;
            return c.json({ error: `body larger than ${SPEEDTEST_MAX_BYTES} bytes` }, 413);
          }
          const at = now - first;
          if (samples.length === 0 || (at - samples[samples.length - 1]![0] >= SAMPLE_MS && samples.length < MAX_SAMPLES)) samples.push([Math.round(at * 10) / 10, bytes]);
        }
      } catch {
        // the agent gave up (its time or its round's deadline): what arrived is still counted below
      } finally {
        clearTimeout(stall);
        release();
        done(agentId, 'up', bytes, last - first);
      }
      const ms = Math.round((last - first) * 10) / 10;
      if (bytes > 0 && samples[samples.length - 1]![1] !== bytes) samples.push([ms, bytes]);
      return c.json({ bytes, ms, samples } satisfies ApiResponseIn<'POST /api/agent/speedtest/up'>);
    });
}
