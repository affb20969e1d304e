// Enrolment codes and the wrong-code throttle as tables: the format read out over the phone, what typing may vary,
// and when an address (or everyone) is refused and for how long.
import { describe, expect, it } from 'vitest';
import { CODE_ALPHABET, codeSecretOf, formatCode, newCodeSecret, provincePrefix } from '../../server/fleet/codes.ts';
import { FailureThrottle } from '../../server/fleet/throttle.ts';

describe('codes', () => {
  it.each([
    ['Quảng Ngãi', 'QNG'],
    ['Hà Nội', 'HNO'],
    ['Đắk Lắk', 'DLA'],
    ['Thành phố Hồ Chí Minh', 'TPHCM'],
    ['Huế', 'HUE'],
  ])('prefix of %s is %s', (name, prefix) => expect(provincePrefix(name)).toBe(prefix));

  it('40 random bits as 8 characters without 0, O, 1 or I', () => {
    expect(CODE_ALPHABET).toHaveLength(32);
    expect(CODE_ALPHABET).not.toMatch(/[0O1I]/);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = newCodeSecret();
      expect(s).toMatch(/^[2-9A-HJ-NP-Z]{8}$/);
      seen.add(s);
    }
    expect(seen.size).toBe(2000);
    expect(formatCode('QNG', '7K4M2PXD')).toBe('QNG-7K4M-2PXD');
  });

  it.each([
    ['QNG-7K4M-2PXD', '7K4M2PXD'],
    ['qng 7k4m 2pxd', '7K4M2PXD'],
    ['7K4M-2PXD', '7K4M2PXD'],
    [' 7k4m2pxd ', '7K4M2PXD'],
    ['QNG7K4M2PXD', '7K4M2PXD'],
    ['QNG-7K4M-2PX', null],
    ['QNG-7K4M-2PX0', null],
    ['QNG-IK4M-2PXD', null],
    ['', null],
  ])('%j is read as %j', (typed, secret) => expect(codeSecretOf(typed)).toBe(secret));
});

describe('wrong-code throttle', () => {
  it('refuses an address past its limit until the oldest failure leaves the window; others are not affected', () => {
    let now = 1_000_000;
    const th = new FailureThrottle({ perAddress: 3, total: 100, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(th.retryAfter('10.0.0.1')).toBe(0);
      th.fail('10.0.0.1');
      now += 10_000;
    }
    // failures at +0, +10 s, +20 s; now +30 s: free again when the first one is 60 s old
    expect(th.retryAfter('10.0.0.1')).toBe(30);
    expect(th.retryAfter('10.0.0.2')).toBe(0);
    now += 30_000;
    expect(th.retryAfter('10.0.0.1')).toBe(0);
  });

  it('refuses everyone past the total, however many addresses the guesses come from', () => {
    let now = 0;
    const th = new FailureThrottle({ perAddress: 3, total: 5, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 5; i++) th.fail(`10.0.1.${i}`);
    now += 1000;
    expect(th.retryAfter('192.0.2.7')).toBe(59);
  });
});
