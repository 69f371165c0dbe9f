/**
 * What a handler factory gets besides its own options (src/handlers/registry.ts builds every
 * handler once per route at compile time; the RouteHandler interface is src/http/route-handler.ts).
 */
import type { HeaderOps } from '../http/header-ops.js';
import type { RouteCache } from '../cache/route-cache.js';

export interface RouteContext {
  /** For logs: "servers[0].routes[1] /api/". */
  name: string;
  requestHeaders: HeaderOps;
  /** Path prefix removed before proxying, if any. */
  stripPrefix: string | undefined;
  /** Largest request body in bytes; Infinity: no limit. */
  maxBodySize: number;
  /** Client-side timeouts in ms (config `client`). */
  client: { bodyTimeout: number; sendTimeout: number };
  /** With `proxy.path_prefix`: the prefix it replaces (nginx's location name). */
  replacedPrefix?: string | undefined;
  /** The route's response cache: the proxy looks a request up in it before going upstream. */
  cache?: RouteCache | undefined;
}
