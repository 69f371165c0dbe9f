/**
 * `proxy`: forwards to an upstream pool over keep-alive connections; WebSockets are tunnelled.
 * A pool of one plain server compiles to the direct path (no selection, no health, no retry
 * bookkeeping); anything else goes through BalancedRequest (src/proxy/balanced.ts).
 */
import type { ProxyConfig } from '../config/schema.js';
import type { UpstreamPools } from '../upstream/pool.js';
import type { UpstreamGroups } from '../upstream/groups.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { ErrorLog } from '../log/error-log.js';
import type { Exchange } from '../server/exchange.js';
import { encodePath } from '../http/normalize-path.js';
import { relay, type RelayTarget } from '../proxy/relay.js';
import { refuseUpgrade, tunnel, type TunnelTarget } from '../proxy/tunnel.js';
import { BalancedRequest, ExchangeSelectRequest, type BalancedRoute } from '../proxy/balanced.js';
import { upstreamRequestHeaders } from '../proxy/request-headers.js';
import type { RouteContext, RouteHandler } from './handler.js';

export interface ProxyDeps {
  pools: UpstreamPools;
  groups: UpstreamGroups;
  log: ErrorLog;
}

type Target = RelayTarget & TunnelTarget;

export function proxyHandler(cfg: ProxyConfig, ctx: RouteContext, deps: ProxyDeps): RouteHandler {
  const group: UpstreamGroup = 'upstream' in cfg.to ? deps.groups.get(cfg.to.upstream) : deps.groups.inline(ctx.name, cfg.to.pool);
  const targets = group.members.map(
    (u): Target => ({
      transport: u.transport,
      address: u.key,
      pool: deps.pools.get(u.transport, {
        connectTimeout: cfg.connect_timeout,
        keepAliveTimeout: cfg.keepalive_timeout,
        maxConnections: cfg.keepalive_connections,
      }),
      readTimeout: cfg.read_timeout,
      responseHeaders: ctx.responseHeaders,
      log: deps.log,
    }),
  );
  const strip = ctx.stripPrefix;
  const requestOps = ctx.requestHeaders;
  const readTimeout = cfg.read_timeout;

  if (group.trivial) {
    const target = targets[0]!;
    return {
      handle(ex) {
        const { headers, hasBody, chunked } = upstreamRequestHeaders(ex, requestOps, false);
        // An HTTP/1.0 client may send no Host, but HTTP/1.1 upstreams require one (as Caddy
        // does, the upstream's own address stands in).
        if (ex.hostHeader === '') headers.push('Host', target.transport.authority);
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
        if (ex.hostHeader === '') headers.push('Host', target.transport.authority);
        tunnel(ex, socket, head, target, upstreamPath(ex, strip), headers);
      },
    };
  }

  const route: BalancedRoute = { group, targets, responseHeaders: ctx.responseHeaders, log: deps.log };
  return {
    handle(ex) {
      const { headers, hasBody, chunked } = upstreamRequestHeaders(ex, requestOps, false);
      new BalancedRequest(ex, route, {
        method: ex.req.method!,
        path: upstreamPath(ex, strip),
        headers,
        body: hasBody ? ex.req : null,
        chunked,
        readTimeout,
      }).start();
    },
    upgrade(ex, socket, head) {
      // A tunnel is one try on one server (a WebSocket handshake is not replayed); it counts
      // as in flight on that server while it is open, for least_conn and max_conns.
      const upstream = group.select(new ExchangeSelectRequest(ex), null);
      if (upstream === undefined) {
        ex.upstream = group.name;
        deps.log.upstreamFailure(ex, `no available upstream in pool ${group.name} (${group.describe()})`, 503);
        return refuseUpgrade(ex, socket, 503);
      }
      upstream.state.begin();
      socket.once('close', () => upstream.state.end());
      const { headers } = upstreamRequestHeaders(ex, requestOps, true);
      if (ex.hostHeader === '') headers.push('Host', upstream.transport.authority);
      tunnel(ex, socket, head, targets[upstream.index]!, upstreamPath(ex, strip), headers);
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
