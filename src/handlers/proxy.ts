/** `proxy`: forwards to upstream servers over keep-alive pools; WebSockets are tunnelled. */
import type { ProxyConfig } from '../config/schema.js';
import { parseUpstream } from '../config/address.js';
import type { UpstreamPools } from '../upstream/pool.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import type { ErrorLog } from '../log/error-log.js';
import type { Exchange } from '../server/exchange.js';
import { encodePath } from '../http/normalize-path.js';
import { relay, type RelayTarget } from '../proxy/relay.js';
import { tunnel, type TunnelTarget } from '../proxy/tunnel.js';
import { upstreamRequestHeaders } from '../proxy/request-headers.js';
import type { RouteContext, RouteHandler } from './handler.js';

export interface ProxyDeps {
  pools: UpstreamPools;
  log: ErrorLog;
}

type Target = RelayTarget & TunnelTarget;

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
        maxConnections: cfg.keepalive_connections,
      }),
      readTimeout: cfg.read_timeout,
      responseHeaders: ctx.responseHeaders,
      log: deps.log,
    };
  });
  const upstreams = new UpstreamSet(targets);
  const strip = ctx.stripPrefix;
  const requestOps = ctx.requestHeaders;
  const readTimeout = cfg.read_timeout;
  return {
    handle(ex) {
      const { headers, hasBody, chunked } = upstreamRequestHeaders(ex, requestOps, false);
      const target = upstreams.pick();
      // An HTTP/1.0 client may send no Host, but HTTP/1.1 upstreams require one (as Caddy
      // does, the upstream's own address stands in).
      if (ex.hostHeader === '') headers.push('Host', target.address);
      relay(ex, target, {
        method: ex.req.method!,
        path: upstreamPath(ex, strip),
        headers,
        body: hasBody ? ex.req : null,
        chunked,
        readTimeout,
      });
    },
    upgrade(ex, socket, head) {
      const { headers } = upstreamRequestHeaders(ex, requestOps, true);
      const target = upstreams.pick();
      if (ex.hostHeader === '') headers.push('Host', target.address);
      tunnel(ex, socket, head, target, upstreamPath(ex, strip), headers);
    },
  };
}

/**
 * The path sent upstream: as the client sent it (nginx's proxy_pass without a URI part), or
 * with `strip_prefix` removed. Stripping cuts the raw path whenever normalizing it only
 * decoded percent-escapes (no "//" or dot segments), so encoded bytes reach the upstream
 * untouched: "/api/group%2Fproject" must stay one segment, not become "/group/project".
 * Otherwise it cuts the normalized path and re-encodes it (nginx's proxy_pass with a URI).
 */
export function upstreamPath(ex: Exchange, strip: string | undefined): string {
  const raw = ex.rawPath;
  if (strip === undefined || !ex.path.startsWith(strip)) return raw + ex.query;
  let rest: string;
  if (raw.startsWith(strip) && (raw === ex.path || (raw.indexOf('//') < 0 && raw.indexOf('/.') < 0))) {
    rest = raw.slice(strip.length);
  } else {
    rest = encodePath(ex.path.slice(strip.length));
  }
  if (rest.charCodeAt(0) !== 47 /* / */) rest = '/' + rest;
  return rest + ex.query;
}
