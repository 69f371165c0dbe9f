/**
 * Latency buckets, in milliseconds, shared by every histogram Portico keeps. They are finer
 * than Prometheus needs so that the dashboard can read p50/p95/p99 from them; /metrics
 * exposes the subset in EXPOSED (Prometheus's usual boundaries, up to a minute), each one a
 * cumulative sum of the finer buckets below it.
 */
export const BOUNDS_MS: readonly number[] = [
  0.25, 0.5, 1, 2, 2.5, 5, 7.5, 10, 15, 25, 35, 50, 75, 100, 150, 250, 350, 500, 750, 1000, 1500, 2500, 5000, 10_000, 30_000, 60_000,
];

/** Slots of a histogram array: one per bound, one for +Inf, then the sum (ms) and the count. */
export const SLOTS = BOUNDS_MS.length + 1;
export const SUM = SLOTS;
export const COUNT = SLOTS + 1;
export const HISTOGRAM_LENGTH = SLOTS + 2;

/** Boundaries exposed to Prometheus, in ms (le labels in seconds). */
export const EXPOSED_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/** The slot of a duration: the first bound it does not exceed (linear: 27 compares at most, most requests stop early). */
export function slotOf(ms: number): number {
  const b = BOUNDS_MS;
  for (let i = 0; i < b.length; i++) if (ms <= b[i]!) return i;
  return b.length;
}

export function observe(h: Float64Array, ms: number): void {
  h[slotOf(ms)]!++;
  h[SUM]! += ms;
  h[COUNT]!++;
}

/**
 * The q-quantile (0..1) of a histogram (or of the difference of two), interpolated linearly
 * inside its bucket as Prometheus's histogram_quantile does; NaN without observations.
 */
export function quantile(h: ArrayLike<number>, q: number): number {
  const total = h[COUNT]!;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < SLOTS; i++) {
    const n = h[i]!;
    if (seen + n >= rank && n > 0) {
      const lower = i === 0 ? 0 : BOUNDS_MS[i - 1]!;
      // Above the last bound nothing is known but "more than a minute".
      if (i === BOUNDS_MS.length) return lower;
      const upper = BOUNDS_MS[i]!;
      return lower + ((upper - lower) * (rank - seen)) / n;
    }
    seen += n;
  }
  return BOUNDS_MS[BOUNDS_MS.length - 1]!;
}

/** a - b, slot by slot (a later cumulative histogram minus an earlier one). */
export function minus(a: ArrayLike<number>, b: ArrayLike<number> | undefined): number[] {
  const out = new Array<number>(HISTOGRAM_LENGTH);
  for (let i = 0; i < HISTOGRAM_LENGTH; i++) out[i] = a[i]! - (b?.[i] ?? 0);
  return out;
}
