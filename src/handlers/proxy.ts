/**
 * `proxy`: forwards to an upstream pool over keep-alive connections; WebSockets are tunnelled.
 * One path for every pool: the route's balancer (src/proxy/balancer.ts) picks the server, a
 * single plain server without any bookkeeping, a load-balanced pool with health and retries,
 * and the relay (src/proxy/relay.ts) carries the response back.
 * With buffering.request (the default) a request body is read completely before the upstream
 * is contacted; with buffering.response a slow client's response is spooled (slow-client.ts).
 */
import type { ProxyConfig } from '../config/schema.js';
import type { UpstreamPools } from '../upstream/pool.js';
import type { UpstreamGroups } from '../upstream/groups.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { ErrorLog } from '../log/error-log.js';
import type { Exchange } from '../http/exchange.js';
import type { RequestBody } from '../http/request.js';
import type { RouteHandler } from '../http/route-handler.js';
import { encodePath } from '../http/normalize-path.js';
import { sendError } from '../http/send.js';
import { Relay } from '../proxy/relay.js';
import type { ProxyRoute, ServerTarget } from '../proxy/proxy-route.js';
import { GroupBalancer } from '../proxy/group-balancer.js';
import { SingleServer, type Balancer } from '../proxy/balancer.js';
import { redirectRules } from '../proxy/location-rewrite.js';
import { refuseUpgrade, tunnel } from '../proxy/tunnel.js';
import { upstreamRequestHeaders } from '../proxy/request-headers.js';
import { standInHost } from '../proxy/stand-in-host.js';
import { offeredUpgrade, upgradeSet } from '../proxy/upgrade-protocols.js';
import { ClientShare } from '../proxy/client-share.js';
import { bufferRequestBody, type RequestBufferingOptions } from '../buffering/request-body.js';
import type { SpoolBudget } from '../buffering/spool-budget.js';
import { watchStreamedBody } from '../limits/streamed-body.js';
import { completeBody } from '../limits/complete-body.js';
import type { UpstreamRequest } from '../upstream/h1/types.js';
import type { RouteContext } from './handler.js';

export interface ProxyDeps {
  pools: UpstreamPools;
  groups: UpstreamGroups;
  log: ErrorLog;
  /** The process's temp-file budget (`temp_files`), shared by every route's spools. */
  spool: SpoolBudget;
}

export function proxyHandler(cfg: ProxyConfig, ctx: RouteContext, deps: ProxyDeps): RouteHandler {
  const group: UpstreamGroup = 'upstream' in cfg.to ? deps.groups.get(cfg.to.upstream) : deps.groups.inline(ctx.name, cfg.to.pool);
  const strip = ctx.stripPrefix;
  const replace = cfg.path_prefix !== undefined && ctx.replacedPrefix !== undefined ? { from: ctx.replacedPrefix, to: cfg.path_prefix } : undefined;
  const targets = group.members.map(
    (u): ServerTarget => ({
      transport: u.transport,
      address: u.key,
      pool: deps.pools.get(u.transport, {
        connectTimeout: cfg.connect_timeout,
        keepAliveTimeout: cfg.keepalive_timeout,
        maxConnections: cfg.keepalive_connections,
      }),
      readTimeout: cfg.read_timeout,
      redirects: redirectRules(cfg.redirect ?? [], cfg.redirect_default, u.transport, { strip, replace }),
      log: deps.log,
    }),
  );
  const balancer: Balancer = group.trivial ? new SingleServer(targets[0]!, group, deps.log) : new GroupBalancer(group, targets, deps.log);
  const buffering = cfg.buffering;
  const route: ProxyRoute = {
    balancer,
    options: {
      buffering: buffering.response ? { memory: buffering.memory_limit, maxTempFileSize: buffering.max_temp_file_size, budget: deps.spool } : null,
      sendTimeout: ctx.client.sendTimeout,
    },
    log: deps.log,
  };
  const requestOps = ctx.requestHeaders;
  // Dispatch tunnels only a protocol this set allows (else the request is served as a plain one).
  const upgrades = upgradeSet(cfg.upgrade);
  const readTimeout = cfg.read_timeout;
  // One client connection may use at most half of the upstream's connections at once: a
  // client that never reads holds one per response (client-share.ts).
  const capacity = group.members.reduce((n, u) => n + (u.maxConns > 0 ? Math.min(u.maxConns, cfg.keepalive_connections) : cfg.keepalive_connections), 0);
  const share = new ClientShare(cfg.max_concurrent_per_connection ?? Math.max(1, Math.ceil(capacity / 2)), deps.log);
  const bodyOpts: RequestBufferingOptions | null = buffering.request
    ? { maxBodySize: ctx.maxBodySize, memory: buffering.memory_limit, bodyTimeout: ctx.client.bodyTimeout, log: deps.log, budget: deps.spool }
    : null;

  const start = (ex: Exchange, req: UpstreamRequest): void => new Relay(ex, req, route).start();
  // The route's cache: looked up after the guards, before the upstream (src/cache/route-cache.ts).
  const cache = ctx.cache ?? null;

  /** One request: headers for the upstream, its body if it has one, then the balancer's first try. */
  const forward = (ex: Exchange): void => {
    const { headers, hasBody, chunked } = upstreamRequestHeaders(ex, requestOps);
    // A cached request asks for the whole response (no conditionals, no Range; GET for HEAD).
    const method = cache === null ? ex.req.method! : cache.upstreamMethod(ex, headers);
    // The server is chosen once the body is in (buffering.request): the one free now.
    if (hasBody) return withBody(ex, bodyOf(ex), headers, chunked, (req) => start(ex, req));
    start(ex, { method, path: upstreamPath(ex, strip, replace), headers, body: null, chunked: false, readTimeout });
  };
  const enter = (ex: Exchange): void => share.enter(ex, forward);

  /**
   * A request with a body: read it whole first (buffering.request), or stream it with its
   * limits watched; then `send` it.
   */
  function withBody(ex: Exchange, req: RequestBody, headers: string[], chunked: boolean, send: (req: UpstreamRequest) => void): void {
    const method = ex.req.method!;
    const path = upstreamPath(ex, strip, replace);
    if (ex.expectsContinue) {
      ex.expectsContinue = false;
      ex.writer.writeContinue();
    }
    if (bodyOpts === null) {
      const h2Length = ex.req.httpVersionMajor === 2 && !chunked;
      if (h2Length && ex.contentLength === 0) {
        // Nothing to hold back (complete-body.ts): the request goes once the stream has ended.
        req.once('end', () => {
          if (!req.aborted) send({ method, path, headers, body: null, chunked: false, readTimeout });
        });
        req.resume();
      } else send({ method, path, headers, body: h2Length ? completeBody(ex, req) : req, chunked, readTimeout });
      watchStreamedBody(ex, req, ctx.maxBodySize, ctx.client.bodyTimeout);
      return;
    }
    bufferRequestBody(ex, req, bodyOpts, (body) => {
      // De-chunked: WSGI needs the length (Django ticket #28668).
      if (chunked) headers.push('Content-Length', String(body.length));
      body.stream.once('error', (err) => bodyFailed(ex, err));
      send({ method, path, headers, body: body.stream, chunked: false, readTimeout });
    });
  }

  /** The spooled body could not be read back (a disk error): the upstream request is void. */
  function bodyFailed(ex: Exchange, err: Error): void {
    if (ex.writer.ended || ex.writer.destroyed) return;
    deps.log.error('cannot read buffered request body', { route: ex.routeName, err: err.message });
    ex.abortUpstream?.();
    if (ex.writer.headersSent) ex.writer.destroy();
    else sendError(ex, 500);
  }

  return {
    handle: cache === null ? (ex) => share.enter(ex, forward) : (ex) => cache.handle(ex, enter),
    upgrade(ex, socket, head) {
      const offered = offeredUpgrade(ex.req.headers.upgrade, upgrades);
      if (offered === '') return refuseUpgrade(ex, 400); // dispatch sends none such here
      const target = balancer.tunnel(ex, socket);
      if (target === undefined) return refuseUpgrade(ex, 503);
      const { headers } = upstreamRequestHeaders(ex, requestOps, offered);
      if (ex.hostHeader === '') standInHost(headers, target.transport.authority);
      tunnel(ex, socket, head, target, upstreamPath(ex, strip, replace), headers, offered);
    },
  };
}

/** The body stream of a request that has one (only node's requests do: the lean path takes none). */
function bodyOf(ex: Exchange): RequestBody {
  if (ex.body === null) throw new Error('a request with a body has no body stream');
  return ex.body;
}

/**
 * The path sent upstream: as the client sent it (nginx's proxy_pass without a URI part), or
 * with `strip_prefix` removed, or with the route's prefix replaced by `path_prefix` (nginx's
 * proxy_pass with a URI part: a literal replacement, so `location /api` with `/v1/` turns
 * "/api/x" into "/v1//x" exactly as nginx does). After a `break` rewrite the new path goes as
 * it is (nginx ignores the URI part then). Stripping cuts the raw path whenever normalizing it only
 * decoded percent-escapes (no "//" or dot segments), so encoded bytes reach the upstream
 * untouched: "/api/group%2Fproject" must stay one segment, not become "/group/project".
 * Otherwise it cuts the normalized path and re-encodes it (nginx's proxy_pass with a URI).
 */
export function upstreamPath(ex: Exchange, strip: string | undefined, replace?: { from: string; to: string }): string {
  const raw = ex.rawPath;
  if (ex.rewritten) return raw + ex.query;
  if (replace !== undefined) {
    if (!ex.path.startsWith(replace.from)) return raw + ex.query;
    return replace.to + pathAfter(ex, replace.from) + ex.query;
  }
  if (strip === undefined || !ex.path.startsWith(strip)) return raw + ex.query;
  let rest = pathAfter(ex, strip);
  if (rest.charCodeAt(0) !== 47 /* / */) rest = '/' + rest;
  return rest + ex.query;
}

/** The encoded path after `prefix`: cut from the raw path when that is the same path, else re-encoded. */
function pathAfter(ex: Exchange, prefix: string): string {
  const raw = ex.rawPath;
  if (raw.startsWith(prefix) && (raw === ex.path || (raw.indexOf('//') < 0 && raw.indexOf('/.') < 0))) return raw.slice(prefix.length);
  return encodePath(ex.path.slice(prefix.length));
}
