/**
 * The upstream connection pools of a compiled config: one per address and transport settings,
 * shared by every route that proxies there.
 */
import { H1Pool, type H1PoolOptions } from './h1/pool.js';
import type { Transport } from './transport.js';
import { available } from '../http/http1-parser.js';

export class UpstreamPools {
  readonly #pools = new Map<string, H1Pool>();

  constructor() {
    if (!available) {
      throw new Error(
        `this node (${process.version}) does not expose its HTTP parser (_http_common.HTTPParser), which Portico's upstream client uses; use node 20, 22 or 24`,
      );
    }
  }

  get(transport: Transport, opts: H1PoolOptions): H1Pool {
    const key = `${transport.key}|${opts.connectTimeout}|${opts.keepAliveTimeout}|${opts.maxConnections}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new H1Pool(transport, opts);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Upstream connections open (idle or busy) over every pool. */
  get open(): number {
    let n = 0;
    for (const p of this.#pools.values()) n += p.stats.open;
    return n;
  }

  /** Closes idle connections; requests in flight finish on theirs. */
  close(): void {
    for (const p of this.#pools.values()) p.close();
  }

  destroy(): void {
    for (const p of this.#pools.values()) p.destroy();
    this.#pools.clear();
  }
}
