/**
 * Which response filters a route gets, and in which order: decided here, once, when the
 * config is compiled. A response goes from the handler through these, top to bottom, to the
 * protocol's writer (Caddy's routes.go documents its handler order the same way):
 *
 *   handler
 *     -> headers       response_headers: the route's set/add/remove (headers.ts)
 *     -> compression   compress: gzip, br, zstd on the fly (compress.ts); after headers, so it
 *                      judges the head the client gets, and before a cache store, so what is
 *                      cached is what this client was sent (with its Vary)
 *     -> cache store   a route `cache`: stores what the client gets, compressed or not, and
 *                      serves stored responses beneath itself (cache-store.ts)
 *     -> metrics       counts each response once it is over (metrics.ts); last, so it
 *                      sees what leaves: the status and bytes the client was sent, a
 *                      cached one too (PORTICO_METRICS=off: none)
 *     -> writer        the binding: node HTTP/1.1, HTTP/2, the lean path, an upgrade socket
 *
 * A route without any gets null: its handler writes to the binding directly.
 */
import type { HeaderOps } from '../http/header-ops.js';
import type { RouteCache } from '../cache/route-cache.js';
import { composeFilters, type ResponseFilter } from './filter.js';
import { headersFilter } from './headers.js';
import { compressFilter } from './compress.js';
import type { CompressPolicy } from './compress-head.js';
import { cacheStoreFilter } from './cache-store.js';
import { metricsFilter } from './metrics.js';
import { metricsEnabled, stats } from '../metrics/stats.js';

export interface RouteFilterOptions {
  /** The route's compiled response_headers. */
  responseHeaders: HeaderOps;
  /** The route's compression (compile/route-chain.ts), or null: none. */
  compress?: CompressPolicy | null;
  /** The route's response cache, or null. */
  cache?: RouteCache | null;
  /** The route's name ("servers[0].routes[1] /api/"): its counters (metrics). */
  route?: string;
}

export function routeFilters(options: RouteFilterOptions): ResponseFilter | null {
  const chain: ResponseFilter[] = [];
  const headers = headersFilter(options.responseHeaders);
  if (headers !== null) chain.push(headers);
  if (options.compress) chain.push(compressFilter(options.compress));
  const store = cacheStoreFilter(options.cache ?? null);
  if (store !== null) chain.push(store);
  if (metricsEnabled && options.route !== undefined) chain.push(metricsFilter(stats.route(options.route)));
  return composeFilters(chain);
}
