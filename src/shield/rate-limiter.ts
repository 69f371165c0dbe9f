/**
 * nginx's limit_req algorithm (ngx_http_limit_req_module.c), a leaky bucket per key: each
 * request adds one to the key's "excess", which drains at `rate`. Up to `burst` excess is
 * tolerated; the first `delay` of it passes at once and the rest waits until it has drained
 * (nodelay: delay = burst); beyond `burst` the request is rejected and changes nothing.
 * Arithmetic is nginx's, in integers (millionths of a request, where nginx uses thousandths,
 * so that slow rates such as 1r/m keep their precision): results do not drift.
 *
 * Memory is bounded by `maxKeys`: keys live in a Map in least-recently-used order and the
 * oldest is forgotten when a new one arrives (a forgotten key starts again with an empty
 * bucket, the most lenient outcome, as when nginx's zone evicts). The clock is injected.
 */

export interface RateLimiterOptions {
  /** Requests per second (fractions allowed: 30r/m is 0.5). */
  rate: number;
  maxKeys: number;
  /** Milliseconds, monotonic. */
  now?: () => number;
}

interface Bucket {
  /** Millionths of a request. */
  excess: number;
  last: number;
}

const ONE = 1_000_000;

/** take() result: pass at once. */
export const PASS = 0;
/** take() result: reject. Any positive value is a delay in ms. */
export const REJECT = -1;

export class RateLimiter {
  readonly #rate: number; // millionths of a request per second
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: RateLimiterOptions) {
    this.#rate = Math.max(1, Math.round(opts.rate * ONE));
    this.#maxKeys = opts.maxKeys;
    this.#now = opts.now ?? (() => Math.floor(performance.now()));
  }

  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Accounts one request for `key`. Returns PASS, REJECT, or the delay in ms after which it
   * may proceed. `burst` and `delay` are in requests (per limit_req directive, zone shared).
   */
  take(key: string, burst: number, delay: number): number {
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      this.#buckets.set(key, { excess: 0, last: now });
      if (this.#buckets.size > this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
      return PASS;
    }
    // nginx: excess = lr->excess - rate * ms / 1000 + 1000, clamped at 0 after adding the request.
    let excess = bucket.excess - this.#drained(bucket, now) + ONE;
    if (excess < 0) excess = 0;
    if (excess > burst * ONE) return REJECT;
    bucket.excess = excess;
    bucket.last = now;
    // Most recently used last: delete and set moves the key to the end of the Map's order.
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    if (excess <= delay * ONE) return PASS;
    return Math.ceil(((excess - delay * ONE) * 1000) / this.#rate);
  }

  /** Seconds until a rejected request for `key` would pass (for Retry-After), at least 1. */
  retryAfter(key: string, burst: number): number {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return 1;
    const over = bucket.excess - this.#drained(bucket, this.#now()) + ONE - burst * ONE;
    return Math.max(1, Math.ceil(over / this.#rate));
  }

  /** Millionths of a request drained since the bucket's last request. */
  #drained(bucket: Bucket, now: number): number {
    // Capped so the product stays an exact integer; by then any bucket is long empty.
    const ms = Math.min(Math.max(0, now - bucket.last), 2 ** 52 / this.#rate);
    return Math.floor((this.#rate * ms) / 1000);
  }
}
