/**
 * nginx's limit_conn: requests in progress at once per key. An entry exists only while its
 * key has requests in progress, so memory is bounded by the requests in flight, whatever the
 * number of distinct keys seen.
 */
export class ConnLimiter {
  readonly #active = new Map<string, number>();

  get size(): number {
    return this.#active.size;
  }

  /** Counts a request in; false (and nothing counted) when `key` already has `max`. */
  acquire(key: string, max: number): boolean {
    const n = this.#active.get(key) ?? 0;
    if (n >= max) return false;
    this.#active.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.#active.get(key);
    if (n === undefined) return;
    if (n <= 1) this.#active.delete(key);
    else this.#active.set(key, n - 1);
  }
}
