type Maybe<T> = T | undefined | null | false;

/**
 * Polls `fn` until it returns something truthy and resolves with that. Past `ms` it fails naming what it waited for,
 * with `detail()` (say, a process's stderr) appended, since a bare timeout does not say why.
 */
export async function until<T>(
  what: string,
  fn: () => Maybe<T> | Promise<Maybe<T>>,
  { ms = 30_000, everyMs = 100, detail }: { ms?: number; everyMs?: number; detail?: () => string } = {},
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
