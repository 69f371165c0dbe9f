/**
 * How one route is assembled from its config, in one place. A request meets it top to
 * bottom, its response comes back bottom to top (Caddy's routes.go documents its handler
 * order the same way):
 *
 *   request   dispatch chose the route
 *      |      filters wrap the response writer (filters/route-filters.ts):
 *      |        headers -> compression -> cache store -> metrics -> the protocol's writer
 *      v      guards, cheapest and most decisive first (shield/guards.ts):
 *             body size -> access (limit_except, satisfy) -> limit_req -> limit_conn -> basic_auth
 *             the handler, by name (handlers/registry.ts): proxy | files | respond | redirect | close
 *               (a proxy with a `cache` looks the request up there first: cache/route-cache.ts;
 *               a stored response is written beneath the cache store filter)
 *   response  written by the handler (or a guard's refusal) through the filters
 *
 * The filters wrap the writer before any guard runs, so a refusal gets the route's response
 * headers as every other response of the route does. compose() (handlers/compose.ts) makes
 * the guards and the handler one handler; a route with neither guards nor filters runs its
 * handler on the bare writer, with nothing in between.
 */
import type { RouteConfig } from '../config/schema.js';
import type { LocationSpec } from '../config/location-syntax.js';
import { compileHeaderOps } from '../http/header-ops.js';
import type { RouteHandler } from '../http/route-handler.js';
import type { RouteContext } from '../handlers/handler.js';
import { routeHandler, type HandlerDeps } from '../handlers/registry.js';
import { compose } from '../handlers/compose.js';
import { routeGuards, type GuardDeps } from '../shield/guards.js';
import { routeFilters } from '../filters/route-filters.js';
import type { ResponseFilter } from '../filters/filter.js';
import { compileCompress } from './compress.js';
import { RouteCache } from '../cache/route-cache.js';
import type { PreparedZones } from '../cache/zones.js';

export interface RouteChain {
  /** Guards and handler, composed. */
  handler: RouteHandler;
  /** The route's response filters around a request's writer; null: none. */
  filter: ResponseFilter | null;
}

export interface RouteChainDeps {
  handlers: Omit<HandlerDeps, 'spec'>;
  guards: Omit<GuardDeps, 'where'>;
  client: { maxBodySize: number; bodyTimeout: number; sendTimeout: number };
  /** The config's cache zones by name (compile.ts prepares them). */
  cacheZones: PreparedZones;
}

export function compileRouteChain(route: RouteConfig, spec: LocationSpec, name: string, deps: RouteChainDeps): RouteChain {
  const maxBodySize = route.max_body_size ?? deps.client.maxBodySize;
  const ctx: RouteContext = {
    name,
    requestHeaders: compileHeaderOps(route.request_headers),
    stripPrefix: stripPrefixOf(route, spec),
    maxBodySize: maxBodySize === 0 ? Infinity : maxBodySize, // 0: no limit, as in nginx
    client: { bodyTimeout: deps.client.bodyTimeout, sendTimeout: deps.client.sendTimeout },
    replacedPrefix: replacedPrefixOf(route, spec),
  };
  const cache = routeCache(route, deps);
  if (cache !== null) ctx.cache = cache;
  const filter = routeFilters({ responseHeaders: compileHeaderOps(route.response_headers), compress: compileCompress(route.compress), cache, route: name });
  if (cache !== null) cache.filter = filter;
  const guards = routeGuards(route, ctx.maxBodySize, { ...deps.guards, where: name });
  const handler = routeHandler(route, ctx, { ...deps.handlers, spec });
  return { handler: compose(guards, handler), filter };
}

/** The route's `cache` in its zone; nginx's $proxy_host is the upstream as proxy.to names it. */
function routeCache(route: RouteConfig, deps: RouteChainDeps): RouteCache | null {
  if (route.cache === undefined) return null;
  const zone = deps.cacheZones.get(route.cache.zone);
  if (zone === undefined) throw new Error(`cache.zone: no usable cache zone '${route.cache.zone}'`);
  const to = (route.proxy ?? route.files?.fallback?.proxy)?.to;
  const first = to === undefined || 'upstream' in to ? undefined : to.pool.servers[0];
  const proxyHost = to === undefined ? '' : 'upstream' in to ? to.upstream : typeof first === 'string' ? first : (first?.address ?? '');
  return new RouteCache(zone.zone, route.cache, proxyHost, deps.handlers.log);
}

/** What `proxy.path_prefix` replaces: strip_prefix when it is a string, else the route's path as written (nginx's location name). */
function replacedPrefixOf(route: RouteConfig, spec: LocationSpec): string | undefined {
  if (route.proxy?.path_prefix === undefined) return undefined;
  if (typeof route.strip_prefix === 'string') return route.strip_prefix;
  return spec.kind === 'regex' ? undefined : spec.path;
}

function stripPrefixOf(route: RouteConfig, spec: LocationSpec): string | undefined {
  if (typeof route.strip_prefix === 'string') return route.strip_prefix;
  if (route.strip_prefix !== true || spec.kind === 'regex') return undefined;
  // "/api/" strips to "/x" for "/api/x": keep the slash that separates.
  return spec.path.length > 1 && spec.path.endsWith('/') ? spec.path.slice(0, -1) : spec.path;
}
