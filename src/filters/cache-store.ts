/**
 * The cache store slot of a route's filters (route-filters.ts): sees the response after
 * response_headers and compression, so it stores what the client gets (compressed once, not
 * on every hit), and tees it to the entry's file as it passes: the client does not wait for
 * the whole body to be stored, and the response goes at the pace of the slower of the client
 * and the disk. What to store is the route's cache's decision (src/cache/route-cache.ts);
 * only a request its lookup step armed is considered, so a guard's refusal or an error page
 * written before the lookup never is.
 *
 * It also answers in place of what came back when the cache says so:
 *  - a stale entry instead of an upstream error or 5xx (use_stale, stale-if-error): STALE;
 *  - the stored entry after a 304 to its revalidation: REVALIDATED;
 * the upstream's head and body are taken and dropped, and the entry is written beneath this
 * filter (ex.cache.beneath), so response_headers and compression are not applied twice.
 * And, as nginx's not_modified filter, a client's If-None-Match / If-Modified-Since is
 * answered 304 from a fresh response (the upstream was asked without them), while the whole
 * body is still stored. X-Accel-Expires (nginx's instruction to the proxy) never reaches the
 * client; the cache status header (the route's `status_header`) goes to the client only.
 */
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { CacheRequest } from '../cache/request.js';
import type { RouteCache, StoreDecision } from '../cache/route-cache.js';
import type { EntryWriter } from '../cache/entry-writer.js';
import type { CacheStatus } from '../cache/serve.js';
import { evaluateCached } from '../cache/conditional.js';
import { PREFIX } from '../cache/entry-format.js';
import type { IndexEntry } from '../cache/cache-index.js';
import { FilterWriter, type ResponseFilter } from './filter.js';

/** A body kept in memory while stored, for the zone's hot tier, up to this much. */
const KEEP = 256 * 1024;

class CacheStoreFilter extends FilterWriter {
  readonly slot: CacheRequest;
  /** The upstream's answer is dropped; this stored response goes instead. */
  #instead: { status: CacheStatus; code: number } | null = null;
  #head = false;
  #ended = false;
  #writer: EntryWriter | null = null;
  #decision: StoreDecision | null = null;
  /** The body goes to the client (not after a 304 or 412 of the client's conditionals). */
  #toClient = true;
  #kept: Buffer[] | null = null;
  #keptBytes = 0;

  constructor(
    inner: ResponseWriter,
    readonly ex: Exchange,
  ) {
    super(inner);
    this.slot = new CacheRequest(inner, ex);
    ex.cache = this.slot;
  }

  override get headersSent(): boolean {
    return this.#head || this.inner.headersSent;
  }

  override get ended(): boolean {
    return this.#ended || this.inner.ended;
  }

  override writeHead(status: number, reason: string, headers: string[]): void {
    const slot = this.slot;
    const route = slot.route;
    if (route === null) return this.inner.writeHead(status, reason, headers);
    if (this.#instead !== null) return; // the answer is decided; a later error page changes nothing
    if (route.staleInstead(slot, status)) {
      this.#instead = { status: 'STALE', code: status };
      this.#head = true;
      return;
    }
    if (slot.revalidating && status === 304 && this.ex.upstreamFailed === '') {
      route.revalidated(slot, headers);
      this.#instead = { status: 'REVALIDATED', code: 304 };
      this.#head = true;
      return;
    }
    const decision = route.storeDecision(slot, status, reason, headers, Date.now());
    headers = withoutAccelExpires(headers);
    if (decision !== null) this.#startStoring(route, decision);
    else slot.settle(false); // nothing will be stored: waiters on the lock go on now

    let code = status;
    let out = headers;
    if (status === 200 && !slot.background) {
      const pre = evaluateCached(this.ex.req.headers, decision?.meta.etag ?? header(headers, 'etag'), decision?.meta.lastModified ?? header(headers, 'last-modified'));
      if (pre !== 200) {
        code = pre;
        out = dropPairs(headers, 'content-length');
        if (pre === 412) out.push('Content-Length', '0');
        this.#toClient = false;
      }
    }
    if (route.statusHeader !== null && this.ex.cacheStatus !== '') out = [...out, route.statusHeader, this.ex.cacheStatus];
    try {
      this.inner.writeHead(code, code === status ? reason : '', out);
    } catch (err) {
      this.#writer?.abort();
      this.#writer = null;
      slot.settle(false);
      throw err;
    }
    this.#head = true;
  }

  #startStoring(route: RouteCache, decision: StoreDecision): void {
    this.#decision = decision;
    this.#writer = route.zone.writer(decision.hash, decision.head);
    this.slot.storing = true;
    if (route.zone.hot.fits(PREFIX + decision.prefix.metaLength)) this.#kept = [];
    // The client gone before the end: nothing is kept.
    this.inner.onClose(() => {
      if (this.#ended) return;
      this.#writer?.abort();
      this.slot.settle(false);
    });
  }

  override write(chunk: Buffer): boolean {
    if (this.#instead !== null) return true;
    let ok = true;
    const w = this.#writer;
    if (w !== null) {
      if (!w.write(chunk)) ok = false;
      this.#keep(chunk);
    }
    if (this.#toClient && !this.inner.write(chunk)) ok = false;
    return ok;
  }

  override onDrain(fn: () => void): void {
    const w = this.#writer;
    if (w === null || w.failed) {
      if (this.#toClient) this.inner.onDrain(fn);
      else queueMicrotask(fn);
      return;
    }
    let waiting = 2;
    const one = (): void => {
      if (--waiting === 0) fn();
    };
    if (this.#toClient && this.inner.writableLength > 0) this.inner.onDrain(one);
    else one();
    w.onDrain(one);
  }

  override end(chunk?: Buffer | string): void {
    if (this.#ended) return;
    this.#ended = true;
    const slot = this.slot;
    if (this.#instead !== null) return slot.route!.serveInstead(slot, this.#instead.status, this.#instead.code);
    const w = this.#writer;
    if (w !== null) {
      if (chunk !== undefined && chunk.length > 0) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        w.write(buf);
        this.#keep(buf);
      }
      // A body held whole in memory answers at once, while its file is still being finished;
      // a larger one joins the index once its file is renamed into place.
      if (this.#kept !== null && slot.route!.zone.hot.fits(PREFIX + this.#decision!.prefix.metaLength + w.bodyLength)) this.#commit();
      w.end((ok) => this.#written(ok));
    }
    if (this.#toClient) this.inner.end(chunk);
    else this.inner.end();
  }

  override destroy(): void {
    if (!this.#ended) {
      this.#writer?.abort();
      this.slot.settle(false);
    }
    this.inner.destroy();
  }

  #keep(chunk: Buffer): void {
    if (this.#kept === null) return;
    this.#keptBytes += chunk.length;
    if (this.#keptBytes > KEEP) this.#kept = null;
    else this.#kept.push(chunk);
  }

  #committed: IndexEntry | null = null;

  /** The entry joins the index (and the hot tier when its body is here), and the lock's waiters go on. */
  #commit(): void {
    const slot = this.slot;
    const route = slot.route!;
    const d = this.#decision!;
    const w = this.#writer!;
    if (route.zone.closed) return slot.settle(false);
    const prefix = { ...d.prefix, bodyLength: w.bodyLength };
    const body = this.#kept === null ? null : Buffer.concat(this.#kept, this.#keptBytes);
    this.#committed = route.zone.commit(d.hash, d.meta, prefix, PREFIX + d.prefix.metaLength + w.bodyLength, body);
    slot.settle(true);
  }

  /** The entry's file is complete (ok), or could not be written: then it is not in the index either. */
  #written(ok: boolean): void {
    if (!ok) {
      if (this.#committed !== null) this.slot.route!.zone.forget(this.#committed);
      return this.slot.settle(false);
    }
    if (this.#committed === null) this.#commit();
    else this.slot.route!.zone.fileCommitted(this.#committed);
  }
}

/** nginx hides X-Accel-Expires from clients (proxy_hide_header's default list). */
function withoutAccelExpires(headers: string[]): string[] {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.length === 15 && headers[i]!.toLowerCase() === 'x-accel-expires') return dropPairs(headers, 'x-accel-expires');
  return headers;
}

function dropPairs(headers: readonly string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() !== lower) out.push(headers[i]!, headers[i + 1]!);
  return out;
}

function header(headers: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lower) return headers[i + 1];
  return undefined;
}

/** The route's cache store as a filter; null when the route has no cache. */
export function cacheStoreFilter(cache: RouteCache | null): ResponseFilter | null {
  if (cache === null) return null;
  return (inner, ex) => new CacheStoreFilter(inner, ex);
}
