// scrypt secret hashes for passwords and agent tokens: scrypt$N$r$p$salt$hash (base64).
import { createHash, scrypt, randomBytes, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEYLEN = 32;

function scryptAsync(secret: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((res, rej) => scrypt(secret, salt, KEYLEN, { ...opts, maxmem: 256 * opts.N! * opts.r! }, (e, k) => (e ? rej(e) : res(k))));
}

/** N=16384 costs ~50 ms on this class of machine: fine for logins; `cost` lowers it for many generated tokens. */
export async function hashSecret(secret: string, cost: { N?: number; r?: number; p?: number } = {}): Promise<string> {
  const N = cost.N ?? 16384, r = cost.r ?? 8, p = cost.p ?? 1;
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  let key: Buffer;
  try {
    key = await scryptAsync(secret, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) });
  } catch {
    return false;
  }
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Two secrets compared in constant time (digests first, so their lengths leak nothing either). */
export function sameSecret(a: string, b: string): boolean {
  const d = (x: string) => createHash('sha256').update(x).digest();
  return timingSafeEqual(d(a), d(b));
}

/** The scrypt N of a stored hash, or null when it is not one. */
export function scryptCost(stored: string): number | null {
  const parts = stored.split('$');
  return parts.length === 6 && parts[0] === 'scrypt' ? Number(parts[1]) : null;
}

/** A hash of a secret nobody has: verifying against it costs what a real check costs (unknown names, unknown ids). */
export const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
