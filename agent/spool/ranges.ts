// Sorted sets of record ids kept as disjoint half-open runs: the spool's unsent ids are mostly one or two
// long runs, so this stays small however many results wait.

export type Run = [from: number, to: number];

export class RangeSet {
  private runs: Run[] = [];
  size = 0;

  get length(): number {
    return this.runs.length;
  }
  first(): number | undefined {
    return this.runs[0]?.[0];
  }
  /** the lowest id >= x, if any */
  firstAtOrAbove(x: number): number | undefined {
    for (const [a, b] of this.runs) if (b > x) return Math.max(a, x);
    return undefined;
  }
  add(from: number, to: number): void {
    if (to <= from) return;
    // find insertion point; merge with overlapping or adjacent runs
    let i = 0;
    while (i < this.runs.length && this.runs[i]![1] < from) i++;
    let a = from;
    let b = to;
    let j = i;
    let removed = 0;
    while (j < this.runs.length && this.runs[j]![0] <= b) {
      const r = this.runs[j]!;
      a = Math.min(a, r[0]);
      b = Math.max(b, r[1]);
      removed += r[1] - r[0];
      j++;
    }
    this.runs.splice(i, j - i, [a, b]);
    this.size += b - a - removed;
  }
  /** remove and return up to `max` ids in [lo, hi), lowest first, as runs */
  take(lo: number, hi: number, max: number): Run[] {
    const out: Run[] = [];
    let left = max;
    for (let i = 0; i < this.runs.length && left > 0; ) {
      const r = this.runs[i]!;
      const a = Math.max(r[0], lo);
      const b = Math.min(r[1], hi, a + left);
      if (r[0] >= hi) break;
      if (b <= a) {
        i++;
        continue;
      }
      out.push([a, b]);
      left -= b - a;
      this.size -= b - a;
      // split r into the parts outside [a, b)
      const parts: Run[] = [];
      if (r[0] < a) parts.push([r[0], a]);
      if (b < r[1]) parts.push([b, r[1]]);
      this.runs.splice(i, 1, ...parts);
      // after a take, either nothing is left to take or the rest of this run is >= hi
      i += parts.length;
    }
    return out;
  }
  /** remove every id < x; returns how many were removed */
  removeBelow(x: number): number {
    let n = 0;
    while (this.runs.length > 0 && this.runs[0]![0] < x) {
      const r = this.runs[0]!;
      if (r[1] <= x) {
        n += r[1] - r[0];
        this.runs.shift();
      } else {
        n += x - r[0];
        r[0] = x;
      }
    }
    this.size -= n;
    return n;
  }
}
