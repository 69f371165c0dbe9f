/**
 * Failed basic_auth attempts per client address: after `max` wrong credentials within a window,
 * further checks from that address are refused (429 with Retry-After) without any hashing until
 * the window has passed. Checks still running count as failures in advance, so a client gets at
 * most `max` bcrypt checks per window however many requests it sends at once. A client that
 * logs in pays nothing here: a success adds no failure, and credentials already verified are
 * answered from basic-auth.ts's cache before this is asked.
 *
 * The window is fixed, from the first check of the address, as nginx's and fail2ban-style
 * limits go ("N failures within 1m"). Memory is bounded by `maxKeys` as in rate-limiter.ts:
 * least recently used first forgotten (a forgotten address starts again with nothing counted,
 * the most lenient outcome). The clock is injected.
 */

export interface LoginFailuresOptions {
  /** Failures per window; 0: no limit. */
  max: number;
  /** Milliseconds. */
  window: number;
  maxKeys: number;
  /** Milliseconds, monotonic. */
  now?: () => number;
}

interface Entry {
  failures: number;
  /** Checks begun and not ended. */
  running: number;
  since: number;
}

export class LoginFailures {
  readonly #max: number;
  readonly #window: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: LoginFailuresOptions) {
    this.#max = opts.max;
    this.#window = opts.window;
    this.#maxKeys = opts.maxKeys;
    this.#now = opts.now ?? (() => Math.floor(performance.now()));
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Before a password check for `key`: 0 when it may run (then end() must follow), otherwise the
   * seconds after which it may (Retry-After, at least 1).
   */
  begin(key: string): number {
    if (this.#max === 0) return 0;
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.since >= this.#window) {
      entry.failures = 0;
      entry.since = now;
    }
    if (entry === undefined) {
      entry = { failures: 0, running: 0, since: now };
    } else if (entry.failures + entry.running >= this.#max) {
      // Refused until the window passes, or (only running checks in the way) very soon.
      return entry.failures >= this.#max ? Math.max(1, Math.ceil((entry.since + this.#window - now) / 1000)) : 1;
    }
    entry.running++;
    // Most recently used last: delete and set moves the key to the end of the Map's order.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value!);
    return 0;
  }

  /** After the check begun for `key`: `failed` counts it. */
  end(key: string, failed: boolean): void {
    if (this.#max === 0) return;
    const entry = this.#entries.get(key);
    if (entry === undefined) return; // forgotten meanwhile
    entry.running = Math.max(0, entry.running - 1);
    if (failed) entry.failures++;
    else if (entry.failures === 0 && entry.running === 0) this.#entries.delete(key); // nothing to remember
  }
}
