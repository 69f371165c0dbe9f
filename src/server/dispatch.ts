/**
 * From a request to a route: pick the virtual host by Host, normalize the path, find the
 * location, wrap the response writer in the route's filters, run its handler; log when the
 * response is done. Also the Upgrade (WebSocket) path. Requests come from node's HTTP/1.1
 * server, the lean path (lean/) and node's HTTP/2 compatibility API, each with its own
 * ResponseWriter binding (src/http/response-writer.ts); past the entry points nothing here
 * knows which. Nothing here may throw into node: a bug in a handler becomes a 500 and a log line.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { ListenerPlan, Route, VirtualHost } from '../compile/compile.js';
import { Exchange } from '../http/exchange.js';
import type { RequestBody, RequestHead } from '../http/request.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { NodeH1Writer, NodeH2Writer } from '../http/node-writers.js';
import { SocketWriter } from '../http/socket-writer.js';
import { forwardedPath, normalizePath } from '../http/normalize-path.js';
import { hostWithoutPort } from '../http/host.js';
import { normalizeIp } from '../http/cidr.js';
import { clientIpFrom } from '../http/client-ip.js';
import { send, sendError } from '../http/send.js';
import type { AccessLog } from '../log/access-log.js';
import type { ErrorLog } from '../log/error-log.js';
import { offeredUpgrade, tunnelable } from '../proxy/upgrade-protocols.js';
import { replayWithoutUpgrade } from './plain-replay.js';
import { dropUnderscoredHeaders } from '../http/underscore-headers.js';
import { isName } from '../http/header-name.js';
import type { LeanRequest } from './lean/lean-request.js';
import type { LeanResponse } from './lean/lean-response.js';
import type { LeanH2Request } from './lean/lean-h2-request.js';
import type { LeanH2Response } from './lean/lean-h2-response.js';
import { recordRequest } from '../metrics/stats.js';

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
  /** HTTP/1: gives a connection to node's http server as if just accepted (plain-replay.ts). */
  handOff?: (socket: Socket) => void;
  /**
   * The sockets this server handed to an upgrade handler (WebSocket tunnels and handshakes in
   * progress) until they close: the server destroys what is left when it stops, and only its
   * own (one process may run several servers).
   */
  tunnels: Set<Duplex>;
}

const MAX_REWRITE_CYCLES = 10;

/**
 * Connections whose request was refused by `prepare` (their response says Connection: close).
 * node's server parses pipelined requests and emits them while an earlier response is still
 * pending; one that follows a request refused for its framing (two Transfer-Encoding fields)
 * may be a body another hop framed differently, so nothing after a refusal is served (nginx
 * does not read past it either). The answer in progress closes the connection.
 */
const refused = new WeakSet<object>();

interface Prepared {
  ex: Exchange;
  vhost: VirtualHost;
}

/** RFC 3986 host (reg-name, IPv4, or [IPv6]) and optional port; '' (HTTP/1.0 without Host) passes. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

const DIGITS = /^[0-9]+$/;

/** Also as nginx (ngx_http_validate_host): no empty label between dots, and not a lone ".". */
function validHost(host: string): boolean {
  return HOST.test(host) && !host.includes('..') && !/^\.(?::|$)/.test(host);
}

/**
 * A request body's transfer coding. Only `chunked` alone is accepted, as nginx does: node's
 * parser de-chunks "gzip, chunked" and would pass the gzip bytes on as if they were the body
 * (RFC 9112 §6.1: an unknown coding is a 501). In HTTP/1.0 the header means the framing cannot
 * be trusted at all (RFC 9112 §6.1): 400. So is a second Transfer-Encoding field: node keeps
 * each field and de-chunks by the last, which a hop that reads the first would frame otherwise
 * (nginx: "client sent duplicate header line", 400).
 */
function transferEncodingStatus(value: string, fields: number, httpVersionMinor: number): number {
  if (httpVersionMinor === 0 || fields > 1) return 400;
  return value.trim().toLowerCase() === 'chunked' ? 0 : 501;
}

/**
 * Fields nginx takes once: a second copy is "client sent duplicate header line" and a 400
 * (ngx_http_headers_in entries handled by ngx_http_process_unique_header_line, as nginx 1.22
 * answers them; Host and Transfer-Encoding have their own checks below, node refuses a second
 * Content-Length on HTTP/1 itself). Keyed by lowercase name, a bit each; indexed by length
 * first so the other fields cost one array read.
 */
const SINGLETONS = new Map<string, number>(
  ['if-modified-since', 'if-unmodified-since', 'if-match', 'if-none-match', 'if-range', 'content-range', 'expect', 'authorization', 'content-length'].map((n, i) => [n, 1 << i]),
);
const SINGLETON_LENGTH: readonly boolean[] = Array.from({ length: 32 }, (_, n) => [...SINGLETONS.keys()].some((k) => k.length === n));

export function createDispatcher(plan: ListenerPlan, deps: DispatchDeps) {
  const maps = plan.maps !== undefined && plan.maps.size > 0 ? plan.maps : undefined;
  const { accessLog, errorLog, scheme, inFlight } = deps;
  const h2 = deps.protocol === 'h2';
  const maxHeaderFields = deps.limits.maxHeaders * 2;
  const maxUriLength = deps.limits.maxUriLength;

  /** Parses what every request needs; answers 400 itself and returns undefined on bad input. */
  function prepare(req: RequestHead, writer: ResponseWriter, body: RequestBody | null, connection: object): Prepared | undefined {
    const raw = req.rawHeaders;
    let hostHeader = '';
    let hosts = 0;
    let authority: string | undefined;
    let contentLength = -1;
    let transferEncoding: string | undefined;
    let transferEncodings = 0;
    let underscored = false;
    let singletons = 0;
    let repeated = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (SINGLETON_LENGTH[name.length] === true) {
        const bit = SINGLETONS.get(name.toLowerCase()) ?? 0;
        if ((singletons & bit) !== 0) repeated = true;
        singletons |= bit;
      }
      if (name.length === 4 && isName(name, 'host')) {
        hostHeader = raw[i + 1]!;
        hosts++;
      } else if (h2 && name === ':authority') {
        authority = raw[i + 1]!;
      } else if (name.length === 14 && isName(name, 'content-length')) {
        // HTTP/1: node's parser has validated it; HTTP/2: nghttp2 does, checked again (1*DIGIT).
        contentLength = h2 && !DIGITS.test(raw[i + 1]!) ? NaN : Number(raw[i + 1]);
      } else if (name.length === 17 && isName(name, 'transfer-encoding')) {
        transferEncoding = raw[i + 1]!;
        transferEncodings++;
      } else if (name.indexOf('_') >= 0) {
        underscored = true;
      }
    }
    // node truncates at maxHeadersCount (set one above the limit), so more than the limit means too many.
    const tooManyFields = raw.length > maxHeaderFields;
    // HTTP/2 carries the host in :authority, which wins over a Host header (RFC 9113 §8.3.1).
    if (authority !== undefined) {
      hostHeader = authority;
      hosts = 1;
    }
    let url = req.url ?? '/';
    // A request-target has no fragment (RFC 9112 §3.2, RFC 9113 §8.3.1 for :path): 400, where
    // nginx cuts at '#'. Routing "/a/#/../x" as "/x" while the upstream reads "/a/" once let
    // a request past its route's rules.
    let badTarget = url.indexOf('#') >= 0;
    if (url.charCodeAt(0) !== 47 /* / */) {
      // absolute-form (RFC 9112 §3.2.2): its authority replaces Host. Not in HTTP/2, whose
      // :path is origin-form only (RFC 9113 §8.3.1), nor with an empty host (RFC 9110 §4.2.1).
      const m = h2 ? null : /^https?:\/\/([^/?#]+)([^#]*)/i.exec(url);
      if (m) {
        hostHeader = m[1]!;
        url = m[2]!.charCodeAt(0) === 47 ? m[2]! : '/' + m[2]!;
      } else badTarget = true;
    }
    const peerIp = normalizeIp(req.socket.remoteAddress ?? '');
    const vhost = plan.hosts.match(hostWithoutPort(hostHeader));
    // Before anything reads a header (underscore-headers.ts); the matched server's choice.
    if (underscored && vhost !== undefined && vhost.underscoresInHeaders !== true) dropUnderscoredHeaders(req);
    const trusted = vhost !== undefined && !vhost.trustedProxies.empty && vhost.trustedProxies.has(peerIp);
    const clientIp = trusted ? clientIpFrom(raw, peerIp, vhost.trustedProxies) : peerIp;
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q);
    const path = badTarget ? undefined : normalizePath(rawPath);
    // The upstream gets the path routing used (see forwardedPath).
    const sent = path === undefined ? rawPath : forwardedPath(rawPath, path);
    const ex = new Exchange(req, writer, body, connection, peerIp, clientIp, scheme, trusted, performance.now(), hostHeader, path ?? rawPath, sent, query);
    if (maps) ex.maps = maps;
    ex.errorLog = errorLog;
    ex.contentLength = contentLength;
    const status =
      // node's parser takes "HTTP/2.0" (or 0.9) on an HTTP/1 connection; nginx answers 505.
      !h2 && req.httpVersionMajor !== 1 ? 505
      : tooManyFields ? 431 : (req.url?.length ?? 0) > maxUriLength ? 414
      // RFC 9112 §3.2: more than one Host is a 400, and so is none at all (node checks that for
      // HTTP/1.1 itself, not for HTTP/2), or one that is not a host[:port]; a path we cannot
      // normalize is too (nginx), and a second copy of a field nginx takes once (SINGLETONS). A
      // Host (or authority) that is present but empty names no host,
      // which an http(s) URI always has (RFC 9110 §4.2.1, §7.2): 400, as nginx answers.
      : hosts > 1 || repeated || (h2 && hosts === 0) || (hosts === 1 && hostHeader === '') || Number.isNaN(contentLength) || path === undefined || vhost === undefined || !validHost(hostHeader) ? 400
      : !h2 && transferEncoding !== undefined ? transferEncodingStatus(transferEncoding, transferEncodings, req.httpVersionMinor) : 0;
    if (status !== 0) {
      if (!h2) refused.add(req.socket); // an HTTP/2 stream's error leaves its siblings alone
      // Logged like any request (nginx logs its 400s too).
      writer.onClose(() => finish(ex));
      // Before writing: node decides "Connection: close" and the socket's fate at writeHead.
      writer.closeConnection();
      sendError(ex, status);
      return undefined;
    }
    return { ex, vhost: vhost! };
  }

  function locate(ex: Exchange, vhost: VirtualHost): Route | undefined {
    const found = vhost.locations.match(ex.path, ex);
    if (found === undefined) {
      sendError(ex, 404);
      return undefined;
    }
    if ('redirectTo' in found) {
      // nginx's 301 from "/admin" to "/admin/" for a proxied "/admin/" location.
      return redirect(ex, 301, found.redirectTo + ex.query, found.route);
    }
    if (found.route.internal && !ex.internalRedirect) {
      // nginx: an `internal` location answers 404 to a request that was not rewritten to it.
      sendError(ex, 404);
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
      if (r.kind === 'answered') return undefined; // a `return` in the server's steps
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
      if (r.kind === 'answered') return undefined; // a `return` in the route's steps
      if (r.kind === 'none' || !r.again) return route;
      ex.internalRedirect = true;
    }
    errorLog.error('rewrite or internal redirection cycle', { path: ex.path, cycles: MAX_REWRITE_CYCLES });
    if (last !== undefined) use(ex, last);
    sendError(ex, 500);
    return undefined;
  }

  function redirect(ex: Exchange, status: number, location: string, route?: Route): undefined {
    if (route !== undefined) use(ex, route);
    send(ex, status, ['Location', location, 'Content-Length', '0'], '');
    return undefined;
  }

  /**
   * The route's response filters take the exchange's writer (src/filters/); a route without
   * any leaves the binding in place: no object, no closure.
   */
  function use(ex: Exchange, route: Route): void {
    if (route.filter !== null) ex.writer = route.filter(ex.writer, ex);
  }

  function finish(ex: Exchange): void {
    const w = ex.base;
    if (!w.finished) {
      // The client went away first: stop the upstream work it started.
      ex.abortUpstream?.();
    }
    const status = ex.logStatus || (w.finished || ex.req.method === 'CONNECT' ? w.status : 499);
    // A route's requests are counted by its metrics filter (src/filters/metrics.ts); those no
    // filter saw (refused before a route was chosen, no location, a server-level redirect,
    // Portico's own routes) are counted here, so every request is counted once.
    if (!ex.metered) recordRequest(ex, status);
    if (!ex.skipAccessLog) accessLog?.write(ex, status);
    requestDone();
  }

  function requestDone(): void {
    if (--inFlight.count === 0) inFlight.onIdle?.();
  }

  /** A bug in routing or a handler, or a head refused (src/http/head.ts): one log line and a 500. */
  function failed(ex: Exchange, err: unknown): void {
    errorLog.error('handler failed', { route: ex.routeName, err: (err as Error)?.stack ?? String(err) });
    if (!ex.writer.headersSent) sendError(ex, 500);
    else ex.writer.destroy();
  }

  /** node's HTTP/1.1 server. */
  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    serve(req, res, false);
  }

  /** The lean HTTP/1.1 path: one bodiless request at a time, never pipelined (lean-connection.ts). */
  function onLeanRequest(req: LeanRequest, res: LeanResponse): void {
    if (refused.has(req.socket)) return;
    inFlight.count++;
    start(req, res, null, req.socket, false);
  }

  /** The lean HTTP/2 path: a GET or HEAD stream that ended with its headers (lean/lean-h2.ts). */
  function onLeanStream(req: LeanH2Request, res: LeanH2Response): void {
    inFlight.count++;
    start(req, res, null, req.stream.session ?? req.stream, false);
  }

  /** node's HTTP/2 compatibility API: a stream, on a session shared with other requests. */
  function onStream(req: Http2ServerRequest, res: Http2ServerResponse): void {
    inFlight.count++;
    start(req, new NodeH2Writer(res, req.method === 'HEAD'), req, req.stream.session ?? req.socket, false, !req.stream.endAfterHeaders);
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
    if (refused.has(req.socket)) return; // never answered: the refusal before it closes the connection
    inFlight.count++;
    // A pipelined request: node emits it at once, but gives its response the connection only
    // when the one before is done. It is handled then, so requests reach the upstream one after
    // another in the order they came, as nginx and Go's server take them (RFC 9112 §9.3.2: only
    // safe methods may be processed in parallel), and a GET cannot overtake a POST whose body
    // is still being read.
    if (res.socket === null) return waitTurn(req, res, expectsContinue);
    startNode(req, res, expectsContinue);
  }

  function startNode(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    start(req, new NodeH1Writer(res, req.method === 'HEAD'), req, req.socket, expectsContinue);
  }

  function waitTurn(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const turn = (): void => {
      req.off('close', gone);
      startNode(req, res, expectsContinue);
    };
    // The connection closed first (node destroys the requests still waiting): never started.
    const gone = (): void => {
      if (res.socket !== null) return;
      res.off('socket', turn);
      requestDone();
    };
    res.once('socket', turn);
    req.once('close', gone);
  }

  function start(req: RequestHead, writer: ResponseWriter, body: RequestBody | null, connection: object, expectsContinue: boolean, dataFollows = false): void {
    // A request that waited its turn behind one prepare() then refused: never answered (the
    // refusal closes the connection), never sent upstream.
    if (refused.has(req.socket)) return requestDone();
    const prepared = prepare(req, writer, body, connection);
    if (prepared === undefined) return; // answered, and finished on close
    const { ex, vhost } = prepared;
    ex.expectsContinue = expectsContinue;
    ex.dataFollows = dataFollows;
    writer.onClose(() => finish(ex));
    // Route choice runs request text through rewrites, maps and templates: inside the boundary too.
    try {
      const route = choose(ex, vhost);
      if (route !== undefined) {
        use(ex, route);
        route.handler.handle(ex);
      }
    } catch (err) {
      failed(ex, err);
    }
  }

  /**
   * An Upgrade or CONNECT pipelined behind a response still being sent: node hands the socket
   * over at once, but that response owns it (node's `_httpMessage`) until it is done; taking it
   * earlier throws ERR_HTTP_SOCKET_ASSIGNED, uncaught. `then` runs once it is done (answers in
   * order, RFC 9112 §9.3.2); a connection that closes first is dropped. False: nothing pending.
   */
  function awaitPrevious(socket: Duplex, then: () => void): boolean {
    const previous = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!previous) return false;
    // node's own 'finish' listener (registered first) has let go of the socket by then.
    const done = (): void => {
      previous.off('finish', done);
      previous.off('close', done);
      if (socket.destroyed) return;
      if ((socket as { _httpMessage?: ServerResponse | null })._httpMessage) return void socket.destroy();
      then();
    };
    previous.once('finish', done);
    previous.once('close', done);
    return true;
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
    if (awaitPrevious(socket, () => onConnect(req, socket))) return;
    if (refused.has(req.socket)) return void socket.end();
    const res = rawSocketResponse(req, socket);
    inFlight.count++;
    const writer = new NodeH1Writer(res, false);
    const prepared = prepare(req, writer, req, req.socket);
    if (prepared === undefined) return; // answered (the authority-form target is not a path)
    writer.onClose(() => finish(prepared.ex));
    sendError(prepared.ex, 400);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (awaitPrevious(socket, () => onUpgrade(req, socket, head))) return;
    if (refused.has(req.socket)) return void socket.end();
    // Every handler answers an upgrade request as usual, through a response on the raw socket.
    const res = rawSocketResponse(req, socket);
    inFlight.count++;
    const writer = new NodeH1Writer(res, req.method === 'HEAD');
    const prepared = prepare(req, writer, req, req.socket);
    if (prepared === undefined) return; // answered, and finished on close
    const { ex, vhost } = prepared;
    let route: Route | undefined;
    try {
      route = choose(ex, vhost);
    } catch (err) {
      writer.onClose(() => finish(ex));
      failed(ex, err);
      return;
    }
    // Only a protocol the route lists is tunnelled, by a bodiless GET (upgrade-protocols.ts);
    // any other Upgrade request is read again as a plain one, its body and keep-alive framed
    // as usual.
    if (
      route !== undefined &&
      deps.handOff !== undefined &&
      (route.handler.upgrade === undefined || !tunnelable(req.method, req.headers) || offeredUpgrade(req.headers.upgrade, route.upgrade) === '')
    ) {
      res.detachSocket(socket as never);
      requestDone();
      return replayWithoutUpgrade(req, socket as Socket, head, deps.handOff);
    }
    if (route?.handler.upgrade) {
      res.detachSocket(socket as never);
      deps.tunnels.add(socket);
      socket.once('close', () => deps.tunnels.delete(socket));
      // The handler owns the raw socket: its answers go to it, through the route's filters.
      ex.rebind(new SocketWriter(socket));
      use(ex, route);
      ex.writer.onClose(() => {
        if (!ex.skipAccessLog) accessLog?.write(ex, ex.logStatus || ex.base.status);
      });
      // The handshake is done once the tunnel starts; a tunnel is not a request in flight.
      try {
        route.handler.upgrade(ex, socket, head);
      } catch (err) {
        errorLog.error('handler failed', { route: route.name, err: (err as Error).stack });
        socket.destroy();
      }
      requestDone();
      return;
    }
    writer.onClose(() => finish(ex));
    if (route === undefined) return;
    try {
      use(ex, route);
      route.handler.handle(ex);
    } catch (err) {
      failed(ex, err);
    }
  }

  return { onRequest, onCheckContinue, onLeanRequest, onLeanStream, onStream, onUpgrade, onConnect };
}
