/**
 * A route's response cache (nginx proxy_cache in a location), compiled once. `handle` is the
 * lookup step: the proxy handler calls it instead of going upstream (src/handlers/proxy.ts),
 * so it runs after every guard of the route (access lists, basic auth, limits): a stored
 * response never answers a request a rule would refuse. It decides, in nginx's order
 * (ngx_http_upstream_cache, ngx_http_file_cache_open):
 *
 *   method not cached (proxy_cache_methods)    -> upstream, the cache not involved
 *   PURGE from an allowed address              -> the entry removed (204, or 404 when none)
 *   a bypass condition (proxy_cache_bypass)     -> BYPASS: upstream (the response may be stored)
 *   a fresh entry                               -> HIT
 *   an expired entry another request updates    -> UPDATING (use_stale updating, or within
 *                                                  stale-while-revalidate), else upstream
 *   an expired entry, background_update         -> STALE now, the update in the background
 *   an expired entry                            -> EXPIRED: upstream (conditional with
 *                                                  proxy_cache_revalidate), the entry kept for
 *                                                  use_stale on an error
 *   no entry                                    -> MISS: upstream; with `lock` only one request
 *                                                  per key, the others wait for its entry
 * and, for the store filter (src/filters/cache-store.ts), what to store and when a stale
 * entry replaces what the upstream answered.
 *
 * A request with Authorization is answered from the cache only by an entry whose response
 * said public, s-maxage or must-revalidate (RFC 9111 §3.5), and its own response is stored
 * only then. nginx ignores Authorization; a cache in front of a site with HTTP auth must not
 * hand one user's page to another.
 */
import { STATUS_CODES } from 'node:http';
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import type { Template } from '../http/template.js';
import { compileTemplate } from '../http/template.js';
import { cidrMatcher, type CidrMatcher } from '../http/cidr.js';
import { send, sendError } from '../http/send.js';
import type { RouteCacheConfig, StaleCondition } from '../config/cache-schema.js';
import type { ErrorLog } from '../log/error-log.js';
import { IndexEntry, Kind } from './cache-index.js';
import { AUTH_OK, MUST_REVALIDATE, encodeMeta, encodePrefix, PREFIX, type EntryMeta, type EntryPrefix } from './entry-format.js';
import { responseFreshness, type FreshnessPolicy, type Ignorable } from './freshness.js';
import { compileKey, DEFAULT_KEY, keyHash } from './key.js';
import { CacheRequest } from './request.js';
import { serveStored, type CacheStatus } from './serve.js';
import { selectedBy } from './vary.js';
import { closeFile, type CacheZone, type Stored } from './zone.js';
import { detachedExchange } from './background.js';

/** A route's filters around a writer (src/filters/filter.ts's ResponseFilter). */
export type WriterWrap = (inner: ResponseWriter, ex: Exchange) => ResponseWriter;

/** Going upstream: the proxy's own path (its per-connection share, then the relay). */
export type Forward = (ex: Exchange) => void;

/** nginx's ngx_http_proxy_cache_headers: the cache asks for whole, unconditional responses. */
const CACHE_STRIPPED: ReadonlySet<string> = new Set(['if-modified-since', 'if-unmodified-since', 'if-none-match', 'if-match', 'range', 'if-range']);

/** Response headers never stored: recomputed on every hit (Content-Length, Age), or nginx's own instruction to the proxy. */
const NOT_STORED: ReadonlySet<string> = new Set(['content-length', 'age', 'x-accel-expires']);

/** The upstream statuses use_stale names. */
const STALE_STATUS: ReadonlySet<number> = new Set([500, 502, 503, 504, 403, 404, 429]);

export interface StoreDecision {
  readonly hash: string;
  readonly meta: EntryMeta;
  readonly prefix: EntryPrefix;
  /** Prefix and metadata, the start of the file. */
  readonly head: Buffer;
}

export class RouteCache {
  readonly key: Template;
  readonly methods: ReadonlySet<string>;
  readonly convertHead: boolean;
  readonly bypass: readonly Template[];
  readonly noCache: readonly Template[];
  readonly minUses: number;
  readonly lock: { readonly timeout: number; readonly age: number } | null;
  readonly useStale: ReadonlySet<StaleCondition>;
  readonly backgroundUpdate: boolean;
  readonly revalidate: boolean;
  readonly policy: FreshnessPolicy;
  readonly statusHeader: string | null;
  readonly purgeFrom: CidrMatcher | null;
  /** The route's filters (set once they are built): background updates go through them too. */
  filter: WriterWrap | null = null;

  constructor(
    readonly zone: CacheZone,
    cfg: RouteCacheConfig,
    /** nginx's $proxy_host: the upstream as proxy.to names it. */
    proxyHost: string,
    readonly log: ErrorLog,
  ) {
    this.key = compileKey(cfg.key ?? DEFAULT_KEY, proxyHost);
    this.methods = new Set(cfg.methods);
    this.convertHead = cfg.convert_head;
    this.bypass = cfg.bypass.map((t) => compileTemplate(t));
    this.noCache = cfg.no_cache.map((t) => compileTemplate(t));
    this.minUses = cfg.min_uses;
    this.lock = cfg.lock;
    this.useStale = new Set(cfg.use_stale);
    this.backgroundUpdate = cfg.background_update;
    this.revalidate = cfg.revalidate;
    this.policy = { valid: cfg.valid, ignore: new Set<Ignorable>(cfg.ignore_headers) };
    this.statusHeader = cfg.status_header === false ? null : cfg.status_header;
    this.purgeFrom = cfg.purge === undefined ? null : cidrMatcher(cfg.purge.allow);
  }

  /** The lookup step (see the top of the file); `forward` sends the request upstream. */
  handle(ex: Exchange, forward: Forward): void {
    const slot = ex.cache;
    if (!(slot instanceof CacheRequest)) return forward(ex);
    const method = ex.req.method!;
    if (method === 'PURGE' && this.purgeFrom !== null) return this.#purge(ex);
    if (!this.methods.has(method) || (method === 'HEAD' && !this.convertHead)) return forward(ex);
    const key = this.key(ex);
    const hash = keyHash(key);
    slot.arm(this, key, hash);
    slot.authorized = ex.req.headers.authorization !== undefined;
    slot.mayStore = !anySet(this.noCache, ex);
    if (anySet(this.bypass, ex)) {
      ex.cacheStatus = 'BYPASS';
      return forward(ex);
    }
    const found = this.zone.find(hash);
    if (found instanceof Promise) {
      found.then(
        (e) => this.#decide(ex, slot, e, forward),
        () => this.#decide(ex, slot, undefined, forward),
      );
    } else this.#decide(ex, slot, found, forward);
  }

  #decide(ex: Exchange, slot: CacheRequest, node: IndexEntry | undefined, forward: Forward): void {
    if (slot.beneath.destroyed) return slot.settle(false);
    const now = Date.now();
    const index = this.zone.index;
    let e = node;
    if (e !== undefined && e.kind === Kind.Vary) {
      index.touch(e, now);
      e = index.get(this.zone.variant(e.hash, selectedBy(e.vary!, ex.req.rawHeaders)));
    }
    if (e !== undefined && e.kind === Kind.Entry && e.key === slot.key) {
      if (slot.authorized && (e.flags & AUTH_OK) === 0) {
        // RFC 9111 §3.5: stored from another request, it may not answer one with Authorization.
        ex.cacheStatus = 'BYPASS';
        return forward(ex);
      }
      index.touch(e, now);
      if (now < e.expires) return this.#serve(ex, slot, e, 'HIT', forward);
      const mayServeStale = (e.flags & MUST_REVALIDATE) === 0 && (this.useStale.has('updating') || now < e.expires + e.swr * 1000);
      if (e.updating !== 0 && mayServeStale) return this.#serve(ex, slot, e, 'UPDATING', forward);
      e.updating = now;
      if (this.backgroundUpdate && mayServeStale) {
        this.#serve(ex, slot, e, 'STALE', forward);
        return this.#background(ex, slot, e, forward);
      }
      slot.stale = e;
      ex.cacheStatus = 'EXPIRED';
      if (this.revalidate) return this.#withValidators(slot, e, () => forward(ex));
      return forward(ex);
    }
    this.#miss(ex, slot, now, forward);
  }

  #miss(ex: Exchange, slot: CacheRequest, now: number, forward: Forward): void {
    ex.cacheStatus = 'MISS';
    if (this.minUses > 1 && slot.mayStore && !this.#usedEnough(slot, now)) slot.mayStore = false;
    if (this.lock === null || !slot.mayStore) return forward(ex);
    if (this.zone.locks.acquire(slot.hash, now, this.lock.age)) {
      slot.lockHeld = true;
      return forward(ex);
    }
    const cancel = this.zone.locks.wait(slot.hash, this.lock.timeout, (outcome) => {
      slot.beneath.offClose(cancel);
      if (slot.beneath.destroyed) return;
      if (outcome === 'stored') {
        // Answered from the entry the other request stored (or, if it is not this request's
        // variant, sent on as a miss of its own).
        const e = this.zone.index.get(slot.hash);
        return this.#decide(ex, slot, e, (x) => forward(x));
      }
      // nginx: after lock_timeout the request goes upstream and its response is not stored.
      if (outcome === 'timeout') slot.mayStore = false;
      // lock_age passed: this request fills the entry now, holding the lock.
      if (outcome === 'takeover') slot.lockHeld = true;
      forward(ex);
    });
    slot.beneath.onClose(cancel);
  }

  /** min_uses: this request counts as one use of its key; true once the key has enough. */
  #usedEnough(slot: CacheRequest, now: number): boolean {
    const index = this.zone.index;
    let node = index.get(slot.hash);
    if (node === undefined) {
      node = new IndexEntry(Kind.Pending, slot.hash, slot.key);
      index.set(node, now);
    } else index.touch(node, now);
    node.uses++;
    return node.uses >= this.minUses;
  }

  /** Answers from `e`; when its file is gone (purged, evicted, removed), the request goes upstream as a miss. */
  #serve(ex: Exchange, slot: CacheRequest, e: IndexEntry, status: CacheStatus, forward: Forward): void {
    const opened = this.zone.open(e, slot.key);
    const go = (stored: Stored | undefined): void => {
      if (stored === undefined) {
        if (status === 'STALE' || status === 'UPDATING') e.updating = 0;
        return this.#miss(ex, slot, Date.now(), forward);
      }
      serveStored(ex, slot.beneath, stored, e, status, Date.now(), this.#serveOptions(ex));
    };
    if (opened instanceof Promise) opened.then(go, () => go(undefined));
    else go(opened);
  }

  #serveOptions(ex: Exchange) {
    return {
      statusHeader: this.statusHeader,
      onError: (err: Error) => this.log.error('cannot serve cache entry', { zone: this.zone.name, route: ex.routeName, err: err.message }),
    };
  }

  /** The validators of the stored response, read from its head, for a conditional request. */
  #withValidators(slot: CacheRequest, e: IndexEntry, then: () => void): void {
    const done = (stored: Stored | undefined): void => {
      if (stored !== undefined) {
        if (stored.fd >= 0) closeFile(stored.fd);
        slot.etag = stored.meta.etag;
        slot.lastModified = stored.meta.lastModified;
        slot.revalidating = slot.etag !== undefined || slot.lastModified !== undefined;
      }
      then();
    };
    const opened = this.zone.open(e, slot.key);
    if (opened instanceof Promise) opened.then(done, () => done(undefined));
    else done(opened);
  }

  /** The client has the stale entry; a request of Portico's own updates it. */
  #background(ex: Exchange, client: CacheRequest, e: IndexEntry, forward: Forward): void {
    const bex = detachedExchange(ex);
    if (this.filter !== null) bex.writer = this.filter(bex.writer, bex);
    const slot = bex.cache;
    if (!(slot instanceof CacheRequest)) {
      e.updating = 0;
      return;
    }
    slot.arm(this, client.key, client.hash);
    slot.mayStore = client.mayStore;
    slot.background = true;
    slot.stale = e;
    bex.cacheStatus = 'EXPIRED';
    const go = (): void => {
      try {
        forward(bex);
      } catch (err) {
        this.log.error('background cache update failed', { route: ex.routeName, err: (err as Error).message });
        bex.writer.destroy();
      }
    };
    if (this.revalidate) this.#withValidators(slot, e, go);
    else go();
  }

  /** PURGE (nginx Plus proxy_cache_purge): the request's key, or every key starting with it when it ends in "*". */
  #purge(ex: Exchange): void {
    if (!this.purgeFrom!.has(ex.clientIp)) return sendError(ex, 403);
    const key = this.key(ex);
    const n = key.endsWith('*') ? this.zone.purgePrefix(key.slice(0, -1)) : this.zone.purgeKey(key);
    if (n === 0 && !key.endsWith('*')) return sendError(ex, 404);
    send(ex, 204, [], '');
  }

  /**
   * The upstream request of a cached request (the proxy handler asks while building it): no
   * conditional or Range header from the client, the stored validators when revalidating,
   * and GET for a HEAD (proxy_cache_convert_head). Returns the method to send.
   */
  upstreamMethod(ex: Exchange, headers: string[]): string {
    const slot = ex.cache;
    const method = ex.req.method!;
    if (!(slot instanceof CacheRequest) || slot.route !== this) return method;
    let w = 0;
    for (let i = 0; i < headers.length; i += 2) {
      if (CACHE_STRIPPED.has(headers[i]!.toLowerCase())) continue;
      headers[w++] = headers[i]!;
      headers[w++] = headers[i + 1]!;
    }
    headers.length = w;
    if (slot.revalidating) {
      if (slot.etag !== undefined) headers.push('If-None-Match', slot.etag);
      if (slot.lastModified !== undefined) headers.push('If-Modified-Since', slot.lastModified);
    }
    return method === 'HEAD' ? 'GET' : method;
  }

  /** What to store of a response (the store filter asks at its head); null: nothing. */
  storeDecision(slot: CacheRequest, status: number, reason: string, headers: readonly string[], now: number): StoreDecision | null {
    if (!slot.mayStore) return null;
    const f = responseFreshness(status, headers, now, this.policy);
    if (f.refuse !== '') return null;
    if (slot.authorized && !f.authOk) return null;
    const stored: string[] = [];
    let etag: string | undefined;
    let lastModified: string | undefined;
    const dropCookies = this.policy.ignore.has('set-cookie');
    for (let i = 0; i < headers.length; i += 2) {
      const lower = headers[i]!.toLowerCase();
      if (NOT_STORED.has(lower)) continue;
      // Stored despite Set-Cookie (ignore_headers): the cookie went to the request that
      // filled the entry, never to everyone the entry answers.
      if (dropCookies && lower === 'set-cookie') continue;
      if (lower === 'etag') etag ??= headers[i + 1];
      else if (lower === 'last-modified') lastModified ??= headers[i + 1];
      stored.push(headers[i]!, headers[i + 1]!);
    }
    const meta: EntryMeta = { key: slot.key, status, reason, headers: stored };
    if (etag !== undefined) meta.etag = etag;
    if (lastModified !== undefined) meta.lastModified = lastModified;
    let hash = slot.hash;
    if (f.vary !== null) {
      meta.main = slot.hash;
      meta.vary = [...f.vary];
      meta.selected = selectedBy(f.vary, slot.ex.req.rawHeaders);
      hash = this.zone.variant(slot.hash, meta.selected);
    }
    const metaBuf = encodeMeta(meta);
    const prefix: EntryPrefix = {
      stored: now,
      expires: f.expires,
      swr: f.swr,
      sie: f.sie,
      bodyLength: -1,
      metaLength: metaBuf.length,
      flags: (f.mustRevalidate ? MUST_REVALIDATE : 0) | (f.authOk ? AUTH_OK : 0),
      age: f.age,
    };
    return { hash, meta, prefix, head: Buffer.concat([encodePrefix(prefix), metaBuf], PREFIX + metaBuf.length) };
  }

  /**
   * Whether the stale entry this request updates answers instead of what came back: `status`
   * from the upstream, or Portico's answer for a failed one (ex.upstreamFailed says which),
   * as use_stale and the entry's stale-if-error allow; never for must-revalidate.
   */
  staleInstead(slot: CacheRequest, status: number): boolean {
    const e = slot.stale;
    if (e === null || (e.flags & MUST_REVALIDATE) !== 0) return false;
    const withinError = Date.now() < e.expires + e.sie * 1000;
    const failed = slot.ex.upstreamFailed;
    if (failed !== '') return this.useStale.has(failed as StaleCondition) || withinError;
    if (STALE_STATUS.has(status) && this.useStale.has(`http_${status}` as StaleCondition)) return true;
    // RFC 5861 §4: an error is what would be answered 500, 502, 503 or 504.
    return withinError && status >= 500 && status <= 504 && status !== 501;
  }

  /** A 304 answered the revalidation: the entry is fresh again, for as long as the 304 (or `valid`) says. */
  revalidated(slot: CacheRequest, headers: readonly string[]): void {
    const e = slot.stale!;
    const now = Date.now();
    const f = responseFreshness(e.status, headers, now, this.policy);
    if (f.refuse !== '') return; // served this once, still expired
    this.zone.revalidated(e, { stored: now, expires: f.expires, swr: f.swr, sie: f.sie });
  }

  /** Serves the stale entry this request updated (use_stale, or after a 304); the swallowed `status` if it is gone. */
  serveInstead(slot: CacheRequest, status: CacheStatus, fallback: number): void {
    const e = slot.stale!;
    const ex = slot.ex;
    const opened = this.zone.open(e, slot.key);
    const go = (stored: Stored | undefined): void => {
      slot.settle(false);
      if (slot.background) return;
      if (stored === undefined) return plainAnswer(slot.beneath, ex, fallback);
      serveStored(ex, slot.beneath, stored, e, status, Date.now(), this.#serveOptions(ex));
    };
    if (opened instanceof Promise) opened.then(go, () => go(undefined));
    else go(opened);
  }
}

/** A condition list is met when one value is neither empty nor "0" (nginx's ngx_http_test_predicates). */
function anySet(conditions: readonly Template[], ex: Exchange): boolean {
  for (const t of conditions) {
    const v = t(ex);
    if (v !== '' && v !== '0') return true;
  }
  return false;
}

/** The status the upstream failed with, written beneath the filters (the cache took the first answer). */
function plainAnswer(w: ResponseWriter, ex: Exchange, status: number): void {
  if (w.headersSent || w.destroyed) return void w.destroy();
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  try {
    w.writeHead(status, '', ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)]);
    if (ex.req.method === 'HEAD') w.end();
    else w.end(body);
  } catch {
    w.destroy();
  }
}
