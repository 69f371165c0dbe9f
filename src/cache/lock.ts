/**
 * Collapsed forwarding (nginx proxy_cache_lock, lock_timeout, lock_age): one request at a time
 * fills a missing entry; the others for the same key wait until it is stored or the fill ends
 * without storing, at most `timeout`, and are then answered from the cache or sent on. A fill
 * that has run for `age` lets one more request go (it takes the lock over).
 *
 * Where nginx wakes its waiters every 500 ms to look again, here they are called when the fill
 * ends. When it ends without an entry (the response could not be stored), every waiter goes
 * upstream at once rather than one after another.
 */

export type WaitOutcome = 'stored' | 'released' | 'timeout';

interface Waiter {
  readonly done: (outcome: WaitOutcome) => void;
  timer: NodeJS.Timeout;
}

interface Fill {
  started: number;
  waiters: Set<Waiter>;
}

export class FillLocks {
  readonly #fills = new Map<string, Fill>();

  /** true: this request fills the entry (it must call release); false: another one is, wait. */
  acquire(hash: string, now: number, age: number): boolean {
    const fill = this.#fills.get(hash);
    if (fill === undefined) {
      this.#fills.set(hash, { started: now, waiters: new Set() });
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
        fill.waiters.delete(waiter);
        done('timeout');
      }, timeout),
    };
    waiter.timer.unref();
    fill.waiters.add(waiter);
    return () => {
      clearTimeout(waiter.timer);
      fill.waiters.delete(waiter);
    };
  }

  /** The fill ended; `stored`: its entry is in the index now. */
  release(hash: string, stored: boolean): void {
    const fill = this.#fills.get(hash);
    if (fill === undefined) return;
    this.#fills.delete(hash);
    for (const w of fill.waiters) {
      clearTimeout(w.timer);
      w.done(stored ? 'stored' : 'released');
    }
  }

  /** Fills in progress (tests, metrics). */
  get size(): number {
    return this.#fills.size;
  }
}
