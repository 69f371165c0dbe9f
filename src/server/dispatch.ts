/**
 * From a node request to a route: pick the virtual host by Host, normalize the path, find the
 * location, run its handler; log when the response is done. Also the Upgrade (WebSocket) path.
 * Nothing here may throw into node: a bug in a handler becomes a 500 and a log line.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ListenerPlan, Route, VirtualHost } from '../compile/compile.js';
import { Exchange } from './exchange.js';
import { normalizePath } from '../http/normalize-path.js';
import { hostWithoutPort } from '../http/host.js';
import { normalizeIp } from '../http/cidr.js';
import { clientIpFrom } from '../http/client-ip.js';
import { send, sendError } from '../handlers/send.js';
import { NO_HEADER_OPS } from '../compile/header-ops.js';
import type { AccessLog } from '../log/access-log.js';
import type { ErrorLog } from '../log/error-log.js';
import { writeHeadH1, writeHeadH2 } from './head-writer.js';

export interface DispatchDeps {
  accessLog: AccessLog | undefined;
  errorLog: ErrorLog;
  scheme: 'http' | 'https';
  /** 'h2': requests come from node's HTTP/2 compatibility API (the HTTP/2 side of a TLS listener). */
  protocol?: 'h1' | 'h2';
  /** Requests in flight, for graceful shutdown. */
  inFlight: { count: number; onIdle: (() => void) | null };
  /** Request head limits (config `client`); the header size itself is node's maxHeaderSize. */
  limits: { maxHeaders: number; maxUriLength: number };
}

const MAX_REWRITE_CYCLES = 10;

interface Prepared {
  ex: Exchange;
  vhost: VirtualHost;
}

/** RFC 3986 host (reg-name, IPv4, or [IPv6]) and optional port; '' (HTTP/1.0 without Host) passes. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

function validHost(host: string): boolean {
  return HOST.test(host);
}

/**
 * A request body's transfer coding. Only `chunked` alone is accepted, as nginx does: node's
 * parser de-chunks "gzip, chunked" and would pass the gzip bytes on as if they were the body
 * (RFC 9112 §6.1: an unknown coding is a 501). In HTTP/1.0 the header means the framing cannot
 * be trusted at all (RFC 9112 §6.1): 400.
 */
function transferEncodingStatus(value: string, httpVersionMinor: number): number {
  if (httpVersionMinor === 0) return 400;
  return value.trim().toLowerCase() === 'chunked' ? 0 : 501;
}

export function createDispatcher(plan: ListenerPlan, deps: DispatchDeps) {
  const maps = plan.maps !== undefined && plan.maps.size > 0 ? plan.maps : undefined;
  const { accessLog, errorLog, scheme, inFlight } = deps;
  const h2 = deps.protocol === 'h2';
  const head = h2 ? writeHeadH2 : writeHeadH1;
  const maxHeaderFields = deps.limits.maxHeaders * 2;
  const maxUriLength = deps.limits.maxUriLength;

  /** Parses what every request needs; answers 400 itself and returns undefined on bad input. */
  function prepare(req: IncomingMessage, res: ServerResponse): Prepared | undefined {
    const raw = req.rawHeaders;
    let hostHeader = '';
    let hosts = 0;
    let authority: string | undefined;
    let contentLength = -1;
    let transferEncoding: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === 4 && name.toLowerCase() === 'host') {
        hostHeader = raw[i + 1]!;
        hosts++;
      } else if (h2 && name === ':authority') {
        authority = raw[i + 1]!;
      } else if (name.length === 14 && name.toLowerCase() === 'content-length') {
        contentLength = Number(raw[i + 1]); // node's parser has validated it
      } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
        transferEncoding = raw[i + 1]!;
      }
    }
    // HTTP/2 carries the host in :authority, which wins over a Host header (RFC 9113 §8.3.1).
    if (authority !== undefined) {
      hostHeader = authority;
      hosts = 1;
    }
    let url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* / */) {
      // absolute-form (RFC 9112 §3.2.2): its authority replaces Host.
      const m = /^https?:\/\/([^/?#]*)([^#]*)/i.exec(url);
      if (m) {
        hostHeader = m[1]!;
        url = m[2] === '' ? '/' : m[2]!;
      }
    }
    const peerIp = normalizeIp(req.socket.remoteAddress ?? '');
    const vhost = plan.hosts.match(hostWithoutPort(hostHeader));
    const trusted = vhost !== undefined && !vhost.trustedProxies.empty && vhost.trustedProxies.has(peerIp);
    const clientIp = trusted ? clientIpFrom(raw, peerIp, vhost.trustedProxies) : peerIp;
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q);
    const path = normalizePath(rawPath);
    const ex = new Exchange(req, res, peerIp, clientIp, scheme, trusted, performance.now(), hostHeader, path ?? rawPath, rawPath, query);
    if (maps) ex.maps = maps;
    ex.head = head;
    ex.contentLength = contentLength;
    // node truncates at maxHeadersCount (set one above the limit), so more than the limit means too many.
    const status =
      // node's parser takes "HTTP/2.0" (or 0.9) on an HTTP/1 connection; nginx answers 505.
      !h2 && req.httpVersionMajor !== 1 ? 505
      : raw.length > maxHeaderFields ? 431 : (req.url?.length ?? 0) > maxUriLength ? 414
      // RFC 9112 §3.2: more than one Host is a 400, and so is none at all (node checks that for
      // HTTP/1.1 itself, not for HTTP/2), or one that is not a host[:port]; a path we cannot
      // normalize is too (nginx).
      : hosts > 1 || (h2 && hosts === 0) || path === undefined || vhost === undefined || !validHost(hostHeader) ? 400
      : !h2 && transferEncoding !== undefined ? transferEncodingStatus(transferEncoding, req.httpVersionMinor) : 0;
    if (status !== 0) {
      // Logged like any request (nginx logs its 400s too).
      res.once('close', () => finish(ex));
      // Before writing: node decides "Connection: close" and the socket's fate at writeHead.
      res.shouldKeepAlive = false;
      sendError(ex, status, NO_HEADER_OPS);
      return undefined;
    }
    return { ex, vhost: vhost! };
  }

  function locate(ex: Exchange, vhost: VirtualHost): Route | undefined {
    const found = vhost.locations.match(ex.path, ex);
    if (found === undefined) {
      sendError(ex, 404, NO_HEADER_OPS);
      return undefined;
    }
    if ('redirectTo' in found) {
      // nginx's 301 from "/admin" to "/admin/" for a proxied "/admin/" location.
      return redirect(ex, 301, found.redirectTo + ex.query, found.route);
    }
    if (found.route.internal && !ex.internalRedirect) {
      // nginx: an `internal` location answers 404 to a request that was not rewritten to it.
      sendError(ex, 404, NO_HEADER_OPS);
      return undefined;
    }
    ex.routeName = found.route.name;
    ex.captures = found.captures;
    ex.skipAccessLog = found.route.accessLog === false;
    return found.route;
  }

  /**
   * Server rewrites, then the route, then its rewrites; a `last` rewrite (or a changed path
   * with no flag) chooses the route again, at most 10 times as nginx allows
   * (ngx_http_core_post_rewrite_phase: "rewrite or internal redirection cycle" -> 500).
   */
  function choose(ex: Exchange, vhost: VirtualHost): Route | undefined {
    if (vhost.rewrites) {
      const r = vhost.rewrites(ex);
      if (r.kind === 'redirect') return redirect(ex, r.status, r.location);
      ex.rewritten = false; // a server-level change is routed like a new request
      if (r.kind === 'changed') ex.internalRedirect = true; // nginx sets r->internal on any rewrite of the URI
    }
    let last: Route | undefined;
    for (let cycle = 0; cycle <= MAX_REWRITE_CYCLES; cycle++) {
      const route = locate(ex, vhost);
      if (route === undefined || route.rewrites === undefined) return route;
      last = route;
      const r = route.rewrites(ex);
      if (r.kind === 'redirect') return redirect(ex, r.status, r.location, route);
      if (r.kind === 'none' || !r.again) return route;
      ex.internalRedirect = true;
    }
    errorLog.error('rewrite or internal redirection cycle', { path: ex.path, cycles: MAX_REWRITE_CYCLES });
    sendError(ex, 500, last?.responseHeaders ?? NO_HEADER_OPS);
    return undefined;
  }

  function redirect(ex: Exchange, status: number, location: string, route?: Route): undefined {
    send(ex, status, ['Location', location, 'Content-Length', '0'], '', route?.responseHeaders ?? NO_HEADER_OPS);
    return undefined;
  }

  function finish(ex: Exchange): void {
    const res = ex.res;
    if (!res.writableFinished) {
      // The client went away first: stop the upstream work it started.
      ex.abortUpstream?.();
    }
    if (!ex.skipAccessLog) accessLog?.write(ex, ex.logStatus || (res.writableFinished || ex.req.method === 'CONNECT' ? res.statusCode : 499));
    requestDone();
  }

  function requestDone(): void {
    if (--inFlight.count === 0) inFlight.onIdle?.();
  }

  function failed(ex: Exchange, route: Route, err: unknown): void {
    errorLog.error('handler failed', { route: route.name, err: (err as Error).stack });
    if (!ex.res.headersSent) sendError(ex, 500, NO_HEADER_OPS);
    else ex.res.destroy();
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    serve(req, res, false);
  }

  /**
   * `Expect: 100-continue`: node leaves the 100 to us when this listener exists, so a request
   * refused by its headers (413, 401, 403, 429) is refused before the client sends its body;
   * whoever reads the body sends the 100 (ex.expectsContinue).
   */
  function onCheckContinue(req: IncomingMessage, res: ServerResponse): void {
    serve(req, res, true);
  }

  function serve(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    inFlight.count++;
    const prepared = prepare(req, res);
    if (prepared === undefined) return; // answered, and finished on close
    const { ex, vhost } = prepared;
    ex.expectsContinue = expectsContinue;
    res.once('close', () => finish(ex));
    const route = choose(ex, vhost);
    if (route === undefined) return;
    try {
      route.handler.handle(ex);
    } catch (err) {
      failed(ex, route, err);
    }
  }

  /** A response bound to the raw socket node hands over for Upgrade and CONNECT requests. */
  function rawSocketResponse(req: IncomingMessage, socket: Duplex): ServerResponse {
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as never);
    res.once('finish', () => socket.end());
    return res;
  }

  /**
   * CONNECT (a tunnel to any host:port) is not something Portico proxies: 400, as nginx
   * answers, and logged. Without this node would drop the connection without a word.
   */
  function onConnect(req: IncomingMessage, socket: Duplex): void {
    const res = rawSocketResponse(req, socket);
    inFlight.count++;
    const prepared = prepare(req, res);
    if (prepared === undefined) return; // answered (the authority-form target is not a path)
    res.once('close', () => finish(prepared.ex));
    sendError(prepared.ex, 400, NO_HEADER_OPS);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Every handler answers an upgrade request as usual, through a response on the raw socket.
    const res = rawSocketResponse(req, socket);
    inFlight.count++;
    const prepared = prepare(req, res);
    if (prepared === undefined) return; // answered, and finished on close
    const { ex, vhost } = prepared;
    const route = choose(ex, vhost);
    if (route?.handler.upgrade) {
      res.detachSocket(socket as never);
      // The handshake is done once the tunnel starts; a tunnel is not a request in flight.
      try {
        route.handler.upgrade(ex, socket, head);
      } catch (err) {
        errorLog.error('handler failed', { route: route.name, err: (err as Error).stack });
        socket.destroy();
      }
      socket.once('close', () => {
        if (!ex.skipAccessLog) accessLog?.write(ex, ex.res.statusCode);
      });
      requestDone();
      return;
    }
    res.once('close', () => finish(ex));
    if (route === undefined) return;
    try {
      route.handler.handle(ex);
    } catch (err) {
      failed(ex, route, err);
    }
  }

  return { onRequest, onCheckContinue, onUpgrade, onConnect };
}
