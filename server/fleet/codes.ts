// One-time enrolment codes: PREFIX-XXXX-XXXX, read out over the phone to a commune officer. The random part is 8
// characters of a 32-letter alphabet without 0/O and 1/I (40 bits). Only a hash is kept: scrypt with one salt per
// server, so an open code is found with one map lookup, and a copy of data/fleet.json gives no usable code.
import { randomBytes, scrypt } from 'node:crypto';

export const CODE_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const RANDOM_CHARS = 8;
/** ~50 ms a code on this class of machine: free for one enrolment, ruinous for guessing 2^40 offline */
const COST = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** the random part, 5 bytes = 40 bits = 8 characters */
export function newCodeSecret(): string {
  const bytes = randomBytes(5);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = RANDOM_CHARS - 1; i >= 0; i--) out += CODE_ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)];
  return out;
}

/** `QNG` + `7K4M2PXD` -> `QNG-7K4M-2PXD` */
export function formatCode(prefix: string, secret: string): string {
  return `${prefix}-${secret.slice(0, 4)}-${secret.slice(4)}`;
}

/**
 * The random part of what was typed: case, spaces, dashes and the prefix do not matter. null when it cannot be a
 * code (so no hash is computed for it).
 */
export function codeSecretOf(typed: string): string | null {
  const groups = typed.toUpperCase().split(/[^A-Z0-9]+/).filter(Boolean);
  // a leading group of letters is the prefix, whether typed apart (QNG-7K4M-2PXD) or run together (QNG7K4M2PXD)
  if (groups.length > 1 && /^[A-Z]{2,5}$/.test(groups[0]!) && groups.slice(1).join('').length === RANDOM_CHARS) groups.shift();
  const clean = groups.join('');
  const secret = clean.length === RANDOM_CHARS ? clean : groups.length === 1 ? /^[A-Z]{2,5}([A-Z0-9]{8})$/.exec(clean)?.[1] : undefined;
  return secret && [...secret].every((ch) => CODE_ALPHABET.includes(ch)) ? secret : null;
}

export function hashCodeSecret(secret: string, salt: string): Promise<string> {
  return new Promise((resolve, reject) =>
    scrypt(secret, Buffer.from(salt, 'base64'), 32, COST, (e, key) => (e ? reject(e) : resolve(key.toString('base64')))),
  );
}

/**
 * Code prefix from the province's name: initials without diacritics, filled up to 3 letters from the last word
 * (Quảng Ngãi -> QNG, Hà Nội -> HNO).
 */
export function provincePrefix(name: string): string {
  const words = name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[đĐ]/g, 'D')
    .toUpperCase()
    .split(/[^A-Z]+/)
    .filter(Boolean);
  let p = words.map((w) => w[0]).join('');
  const last = words.at(-1) ?? 'IOC';
  for (let i = 1; p.length < 3 && i < last.length; i++) p += last[i];
  return (p || 'IOC').slice(0, 5);
}
