/**
 * Requests waiting for a server slot while every usable server of a pool is at max_conns:
 * first come, first served, bounded in length (a full queue means 503 at once) and in time
 * (a request that waits longer than the queue timeout gets 503). The pool wakes one waiter
 * each time a request on one of its servers ends.
 */
import type { Clock, Timer } from './clock.js';

export interface Waiter {
  /** A slot may be free: try again (the waiter may queue itself again, at the front). */
  resume(): void;
  /** Waited too long. */
  expire(): void;
}

interface Entry {
  waiter: Waiter;
  timer: Timer;
}

export class WaitQueue {
  readonly #entries: Entry[] = [];

  constructor(
    readonly size: number,
    readonly clock: Clock,
  ) {}

  get length(): number {
    return this.#entries.length;
  }

  /** Queues `waiter` for at most `ms`; false when the queue is full. */
  push(waiter: Waiter, ms: number, front = false): boolean {
    if (!front && this.#entries.length >= this.size) return false;
    const entry: Entry = {
      waiter,
      timer: this.clock.after(ms, () => {
        this.#drop(entry);
        waiter.expire();
      }),
    };
    if (front) this.#entries.unshift(entry);
    else this.#entries.push(entry);
    return true;
  }

  /** Removes a waiter that no longer waits (its client left). */
  remove(waiter: Waiter): void {
    const entry = this.#entries.find((e) => e.waiter === waiter);
    if (entry) {
      entry.timer.cancel();
      this.#drop(entry);
    }
  }

  wakeOne(): void {
    const entry = this.#entries.shift();
    if (entry === undefined) return;
    entry.timer.cancel();
    entry.waiter.resume();
  }

  /** Expires every waiter (the config is being closed). */
  clear(): void {
    for (const entry of this.#entries.splice(0)) {
      entry.timer.cancel();
      entry.waiter.expire();
    }
  }

  #drop(entry: Entry): void {
    const i = this.#entries.indexOf(entry);
    if (i >= 0) this.#entries.splice(i, 1);
  }
}
