/**
 * What a route's cache knows about one request, shared by its two halves: the lookup step
 * (route-cache.ts, in the proxy handler, after every guard) arms it with the key and what it
 * found; the store filter (src/filters/cache-store.ts), which made it when dispatch wrapped the
 * writer, reads it when the response comes back. A request the lookup did not arm (a guard's
 * refusal, a method the cache does not take, a redirect) passes the filter untouched: nothing
 * is stored that the lookup did not ask for.
 */
import type { CacheSlot, Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import type { IndexEntry } from './cache-index.js';
import type { RouteCache } from './route-cache.js';

export class CacheRequest implements CacheSlot {
  /** The route's cache, once the lookup armed this request; null: the cache is not involved. */
  route: RouteCache | null = null;
  key = '';
  /** The key's hash (the entry, or the Vary node of its variants). */
  hash = '';
  /** The response may be stored (proxy_no_cache, min_uses and a lock timeout said nothing against it). */
  mayStore = false;
  /** The request has Authorization: its response is stored only when it says so (RFC 9111 §3.5). */
  authorized = false;
  /** An expired entry this request updates: served instead on an error (use_stale), or revalidated. */
  stale: IndexEntry | null = null;
  /** Validators sent upstream for `stale` (proxy_cache_revalidate). */
  revalidating = false;
  etag: string | undefined = undefined;
  lastModified: string | undefined = undefined;
  /** This request fills the entry and holds the key's lock (proxy_cache_lock). */
  lockHeld = false;
  /** A background update (no client): its response only goes to the cache. */
  background = false;
  /** The store filter is writing the entry: it settles once the entry is committed or given up. */
  storing = false;
  #settled = false;

  constructor(
    /** The writer beneath the store filter: stored responses are written here. */
    readonly beneath: ResponseWriter,
    readonly ex: Exchange,
  ) {}

  arm(route: RouteCache, key: string, hash: string): void {
    this.route = route;
    this.key = key;
    this.hash = hash;
    // However the response ends (complete, cut, the client gone), the lock and the updating
    // mark are let go once; while an entry is being written, the store filter does it when
    // the entry is in the index (or given up), so waiters find it.
    this.beneath.onClose(() => {
      if (!this.storing) this.settle(false);
    });
  }

  /** The request is done with the cache: waiters on its lock go on, its entry is no longer being updated. */
  settle(stored: boolean): void {
    if (this.#settled || this.route === null) return;
    this.#settled = true;
    if (this.stale !== null) this.stale.updating = 0;
    if (this.lockHeld) {
      this.lockHeld = false;
      this.route.zone.locks.release(this.hash, stored);
    }
  }
}
