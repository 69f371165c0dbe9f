/**
 * Keep-alive connection pools to upstream addresses (undici `Pool`), one per address and
 * transport settings, shared by every route that proxies there.
 */
import { Pool } from 'undici';
import type { UpstreamAddress } from '../config/address.js';

export interface PoolOptions {
  connectTimeout: number;
  keepAliveTimeout: number;
  connections: number;
}

export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  get(address: UpstreamAddress, opts: PoolOptions): Pool {
    const key = `${address.key}|${opts.connectTimeout}|${opts.keepAliveTimeout}|${opts.connections}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(`http://${address.key}`, {
        connections: opts.connections,
        pipelining: 1,
        connect: { timeout: opts.connectTimeout },
        // Idle connections must die before the upstream closes them (gunicorn: 2s), or a
        // request races the close (caddy#6452). A server's Keep-Alive hint can only shorten it.
        keepAliveTimeout: opts.keepAliveTimeout,
        keepAliveMaxTimeout: opts.keepAliveTimeout,
        keepAliveTimeoutThreshold: 500,
        // Timeouts are per request (route's read_timeout); these are only the fallbacks.
        headersTimeout: 0,
        bodyTimeout: 0,
        strictContentLength: true,
        maxHeaderSize: 64 * 1024,
      });
      // A pool-level error must never become an uncaught exception.
      pool.on('connectionError', () => {});
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Waits for requests in flight, then closes every connection. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }

  destroy(): void {
    for (const p of this.#pools.values()) void p.destroy().catch(() => {});
    this.#pools.clear();
  }
}
