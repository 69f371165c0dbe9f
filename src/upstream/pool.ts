/**
 * The upstream connection pools of a compiled config: one per address and transport settings,
 * shared by every route that proxies there. Which HTTP/1.1 client carries them is chosen once,
 * at start: node's own parser (h1/) when http/http1-parser.ts says it is usable, else undici
 * (undici/), behind the same pool and sink contract (h1/types.ts), with one log line saying so.
 */
import { H1Pool } from './h1/pool.js';
import { UndiciPool } from './undici/pool.js';
import { undici } from './undici/load.js';
import type { PoolOptions } from './connection-pool.js';
import type { UpstreamPool } from './h1/types.js';
import type { Transport } from './transport.js';
import { UPSTREAM_CLIENT_ENV, available, unavailableReason } from '../http/http1-parser.js';

/** The client every upstream pool of this process uses. */
export const upstreamClient: 'node' | 'undici' = available ? 'node' : 'undici';

/** A pool for one upstream address, of the client chosen at start. */
export function createPool(transport: Transport, opts: PoolOptions): UpstreamPool {
  return upstreamClient === 'node' ? new H1Pool(transport, opts) : new UndiciPool(transport, opts);
}

interface StartLog {
  warn(msg: string, fields?: object): void;
}

let announced = false;

/** Says once per process which client runs when it is not node's (and loads undici then, not on the first request). */
function announce(log: StartLog | undefined): void {
  if (announced || log === undefined) return;
  announced = true;
  const asked = process.env[UPSTREAM_CLIENT_ENV];
  if (asked !== undefined && asked !== '' && asked !== 'undici' && asked !== 'node') {
    log.warn(`${UPSTREAM_CLIENT_ENV}=${asked} is not a client Portico knows ("undici" forces the fallback); ignored`);
  }
  if (upstreamClient === 'undici') {
    undici();
    log.warn(`node's HTTP parser is not usable (${unavailableReason}); upstream connections use undici`);
  }
}

export class UpstreamPools {
  readonly #pools = new Map<string, UpstreamPool>();

  constructor(log?: StartLog) {
    announce(log);
  }

  get(transport: Transport, opts: PoolOptions): UpstreamPool {
    const key = `${transport.key}|${opts.connectTimeout}|${opts.keepAliveTimeout}|${opts.maxConnections}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = createPool(transport, opts);
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
