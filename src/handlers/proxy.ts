/** `proxy`: forwards to upstream servers over keep-alive pools; WebSockets are tunnelled. */
import type { ProxyConfig } from '../config/schema.js';
import { parseUpstream } from '../config/address.js';
import type { UpstreamPools } from '../upstream/pool.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import type { ErrorLog } from '../log/error-log.js';
import type { Exchange } from '../server/exchange.js';
import { encodePath } from '../http/normalize-path.js';
import { forward, type ForwardTarget } from '../proxy/forward.js';
import { tunnel, type TunnelTarget } from '../proxy/tunnel.js';
import { upstreamRequestHeaders } from '../proxy/request-headers.js';
import type { RouteContext, RouteHandler } from './handler.js';

export interface ProxyDeps {
  pools: UpstreamPools;
  log: ErrorLog;
}

type Target = ForwardTarget & TunnelTarget;

export function proxyHandler(cfg: ProxyConfig, ctx: RouteContext, deps: ProxyDeps): RouteHandler {
  const targets = (Array.isArray(cfg.to) ? cfg.to : [cfg.to]).map((text): Target => {
    const address = parseUpstream(text)!; // validated by the schema
    return {
      host: address.host,
      port: address.port,
      address: address.key,
      pool: deps.pools.get(address, {
        connectTimeout: cfg.connect_timeout,
        keepAliveTimeout: cfg.keepalive_timeout,
        connections: cfg.keepalive_connections,
      }),
      readTimeout: cfg.read_timeout,
      responseHeaders: ctx.responseHeaders,
      log: deps.log,
    };
  });
  const upstreams = new UpstreamSet(targets);
  const strip = ctx.stripPrefix;
  const requestOps = ctx.requestHeaders;
  return {
    handle(ex) {
      const { headers, hasBody } = upstreamRequestHeaders(ex, requestOps, false);
      forward(ex, upstreams.pick(), upstreamPath(ex, strip), headers, hasBody);
    },
    upgrade(ex, socket, head) {
      const { headers } = upstreamRequestHeaders(ex, requestOps, true);
      tunnel(ex, socket, head, upstreams.pick(), upstreamPath(ex, strip), headers);
    },
  };
}

/**
 * The path sent upstream: as the client sent it (nginx's proxy_pass without a URI part), or
 * with `strip_prefix` removed. Stripping works on the raw path when it is already normal, so
 * encoded bytes reach the upstream untouched; otherwise on the normalized path, re-encoded.
 */
export function upstreamPath(ex: Exchange, strip: string | undefined): string {
  if (strip === undefined) return ex.rawPath + ex.query;
  let rest: string;
  if (ex.rawPath === ex.path) {
    if (!ex.rawPath.startsWith(strip)) return ex.rawPath + ex.query;
    rest = ex.rawPath.slice(strip.length);
  } else {
    if (!ex.path.startsWith(strip)) return ex.rawPath + ex.query;
    rest = encodePath(ex.path.slice(strip.length));
  }
  if (rest.charCodeAt(0) !== 47 /* / */) rest = '/' + rest;
  return rest + ex.query;
}
