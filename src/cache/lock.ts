/**
 * Collapsed forwarding (nginx proxy_cache_lock, lock_timeout, lock_age): one request at a time
 * fills a missing entry; the others for the same key wait until it is stored or the fill ends
 * without storing, at most `timeout`, and are then answered from the cache or sent on. A fill
 * that has run for `age` lets one more request go (the longest waiting takes the lock over),
 * and so on every `age` after (nginx's ngx_http_file_cache_lock_wait).
 *
 * Where nginx wakes its waiters every 500 ms to look again, here they are called when the fill
 * ends. When it ends without an entry (the response could not be stored), every waiter goes
 * upstream at once rather than one after another.
 */

/** stored: look again; released: go upstream; timeout: go upstream, store nothing; takeover: go upstream holding the lock. */
export type WaitOutcome = 'stored' | 'released' | 'timeout' | 'takeover';

interface Waiter {
  readonly done: (outcome: WaitOutcome) => void;
  readonly timer: NodeJS.Timeout;
}

interface Fill {
  started: number;
  age: number;
  waiters: Set<Waiter>;
  /** Hands the lock to the longest waiting request once the fill is `age` old. */
  ageTimer: NodeJS.Timeout | undefined;
}

export class FillLocks {
  readonly #fills = new Map<string, Fill>();
  #waiting = 0;

  /** true: this request fills the entry (it must call release); false: another one is, wait. */
  acquire(hash: string, now: number, age: number): boolean {
    const fill = this.#fills.get(hash);
    if (fill === undefined) {
      this.#fills.set(hash, { started: now, age, waiters: new Set(), ageTimer: undefined });
      return true;
    }
    if (now - fill.started >= age) {
      fill.started = now; // lock_age: one more request goes
      return true;
    }
    return false;
  }

  /**
   * Waits for the fill of `hash` to end, at most `timeout` ms; returns a cancel function (the
   * client went away). `done` is called once, unless cancelled.
   */
  wait(hash: string, timeout: number, done: (outcome: WaitOutcome) => void): () => void {
    const fill = this.#fills.get(hash);
    if (fill === undefined) {
      queueMicrotask(() => done('released'));
      return () => {};
    }
    const waiter: Waiter = {
      done,
      timer: setTimeout(() => {
        this.#drop(fill, waiter);
        done('timeout');
      }, timeout),
    };
    waiter.timer.unref();
    fill.waiters.add(waiter);
    this.#waiting++;
    this.#armAge(hash, fill);
    return () => {
      clearTimeout(waiter.timer);
      this.#drop(fill, waiter);
    };
  }

  /** The fill ended; `stored`: its entry is in the index now. */
  release(hash: string, stored: boolean): void {
    const fill = this.#fills.get(hash);
    if (fill === undefined) return;
    this.#fills.delete(hash);
    if (fill.ageTimer !== undefined) clearTimeout(fill.ageTimer);
    this.#waiting -= fill.waiters.size;
    for (const w of fill.waiters) {
      clearTimeout(w.timer);
      w.done(stored ? 'stored' : 'released');
    }
  }

  /** Fills in progress (tests, metrics). */
  get size(): number {
    return this.#fills.size;
  }

  /** Requests waiting for a fill (tests, metrics). */
  get waiting(): number {
    return this.#waiting;
  }

  #drop(fill: Fill, waiter: Waiter): void {
    if (fill.waiters.delete(waiter)) this.#waiting--;
  }

  #armAge(hash: string, fill: Fill): void {
    if (fill.ageTimer !== undefined) return;
    const left = Math.max(0, fill.started + fill.age - Date.now());
    fill.ageTimer = setTimeout(() => {
      fill.ageTimer = undefined;
      if (this.#fills.get(hash) !== fill) return;
      const first = fill.waiters.values().next();
      if (first.done) return;
      const w = first.value;
      this.#drop(fill, w);
      clearTimeout(w.timer);
      fill.started = Date.now();
      if (fill.waiters.size > 0) this.#armAge(hash, fill);
      w.done('takeover');
    }, left);
    fill.ageTimer.unref();
  }
}
