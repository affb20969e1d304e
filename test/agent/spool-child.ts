// Child process for test/agent/spool.test.ts: a real process that uses a spool and then dies by SIGKILL
// (no close, no cursor flush), or holds the spool open so the lock can be tested.
//   node --import tsx test/agent/spool-child.ts <dir> <mode> <count> <first ts>
import type { ProbeResult } from '../../config/wire.ts';
import { Spool } from '../../agent/spool/index.ts';

const [dir, mode, countArg, t0Arg] = process.argv.slice(2);
const count = Number(countArg ?? '0');
const T0 = Number(t0Arg);
const r = (i: number): ProbeResult => ({ target: 't', ts: T0 + i, kind: 'tcp', ok: true, connect_ms: i });

const spool = Spool.open({ dir: dir!, cursorDelayMs: 10, segmentBytes: 2048 });
if (mode === 'hold') {
  process.stdout.write('ready\n');
  setInterval(() => {}, 1000);
} else {
  // push in groups of 10, each awaited (taken = fsynced); ack the first 10; let the cursor persist, or not
  for (let i = 0; i < count; i += 10) await spool.push(Array.from({ length: Math.min(10, count - i) }, (_, k) => r(i + k)));
  const b = spool.nextBatch(10)!;
  spool.ack(b.seq);
  if (mode === 'ack-persisted') await new Promise((res) => setTimeout(res, 200));
  // 'ack-lost': killed before the cursor timer fires, so the ack is not on disk and those 10 are sent again.
  process.stdout.write(`taken ${count}\n`);
  process.kill(process.pid, 'SIGKILL');
}
