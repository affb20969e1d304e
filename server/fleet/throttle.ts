// Wrong enrolment codes, counted per source address and over all addresses within a sliding window. Past either
// limit the address (or everyone) is refused with Retry-After until the oldest failure leaves the window: with
// 40-bit codes, 200 guesses per 15 minutes would need millions of years to find one open code.
export interface ThrottleLimits {
  perAddress: number;
  total: number;
  windowMs: number;
}

export class FailureThrottle {
  private byAddress = new Map<string, number[]>();
  private all: number[] = [];

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** seconds until this address may try again, or 0 */
  retryAfter(address: string): number {
    const t = this.now();
    const cut = t - this.limits.windowMs;
    this.all = this.all.filter((x) => x > cut);
    const mine = (this.byAddress.get(address) ?? []).filter((x) => x > cut);
    if (mine.length) this.byAddress.set(address, mine);
    else this.byAddress.delete(address);
    const wait = (list: number[], limit: number) => (list.length >= limit ? list[list.length - limit]! + this.limits.windowMs - t : 0);
    return Math.ceil(Math.max(wait(mine, this.limits.perAddress), wait(this.all, this.limits.total)) / 1000);
  }

  fail(address: string): void {
    const t = this.now();
    this.all.push(t);
    this.byAddress.set(address, [...(this.byAddress.get(address) ?? []), t]);
    // bounded memory under a spray from many addresses: the window's failures are all that matter
    if (this.byAddress.size > 10_000) for (const k of [...this.byAddress.keys()].slice(0, 5000)) this.byAddress.delete(k);
  }
}
