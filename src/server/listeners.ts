/**
 * The node servers behind one listen address.
 *
 * Plain HTTP: one node http.Server.
 *
 * HTTPS: an https.Server offering h2 and http/1.1 by ALPN. Connections that chose HTTP/1.1
 * stay with it, so they get exactly what plain HTTP connections get (header and keep-alive
 * timeouts, clientError handling, Upgrade for WebSockets, closeAllConnections); connections
 * that chose h2 are handed to a node HTTP/2 server (no socket of its own) whose compatibility
 * API feeds the same dispatcher. node's http2.createSecureServer({ allowHTTP1 }) would do
 * both in one object, but its HTTP/1.1 side has no closeAllConnections() for a graceful stop.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createH2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { ListenerPlan } from '../compile/compile.js';
import type { ListenAddress } from '../config/address.js';
import { createDispatcher, type DispatchDeps } from './dispatch.js';
import { onClientError } from './client-error.js';
import { H2Sessions } from './h2-sessions.js';
import { TLS_SETTINGS, ALPN_PROTOCOLS } from '../tls/settings.js';
import type { SniTable } from '../tls/sni-table.js';
import type { ClientConfig } from '../config/shield-schema.js';
import { addAcceptHandles } from './accept-handles.js';
import { LeanConnection, type LeanSettings } from './lean/lean-connection.js';
import { keepAliveHeader, type LeanResponse } from './lean/lean-response.js';
import type { LeanRequest } from './lean/lean-request.js';
import { h2StreamListener } from './lean/lean-h2.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { NodeH1Writer } from '../http/node-writers.js';
import type { Http01Answers } from '../tls/acme/challenges.js';
import { sniffTls } from './plain-on-tls.js';
import { trackConnection } from '../metrics/connections.js';

/**
 * node's http server options from the config's `client` block. Node's own defaults would kill
 * uploads after 5 minutes (requestTimeout); Portico's limits are per read instead (ANCHORS
 * §3.9): the head within header_timeout, the body with body_timeout between reads
 * (limits/body-timeout.ts), responses with send_timeout while the client is not reading.
 */
export function serverOptions(client: ClientConfig) {
  return {
    requestTimeout: 0,
    headersTimeout: client.header_timeout,
    // node checks header deadlines on this interval (30s by default), which would let a
    // slowloris connection live up to 30s past header_timeout.
    connectionsCheckingInterval: Math.min(5_000, Math.max(250, Math.floor(client.header_timeout / 4))),
    keepAliveTimeout: client.keepalive_timeout,
    maxHeaderSize: client.max_header_size,
    requireHostHeader: true,
  };
}

/** Limits and handlers every HTTP/1.1 server gets, plain or TLS. */
function shieldH1(server: Server | HttpsServer, client: ClientConfig, onCheckContinue: (req: IncomingMessage, res: ServerResponse) => void): void {
  // One above the limit: node drops headers past maxHeadersCount, dispatch answers 431 for them.
  server.maxHeadersCount = client.max_headers + 1;
  server.on('checkContinue', onCheckContinue);
}

export interface Listener {
  /**
   * Binds the address (a ListenError when it cannot). `held`: connections accepted from now on
   * wait, unread, until serve() (so nothing is served before `portico run` drops root).
   */
  listen(held?: boolean): Promise<AddressInfo>;
  /** Serves the connections held since listen(true), and every later one directly. */
  serve(): void;
  /** Stops accepting; idle connections close now, busy ones after their request. */
  stopAccepting(): void;
  /** Closes whatever is still open. */
  destroyAll(): void;
  /** Routes new requests by `plan` (a reload; same address): requests in flight keep theirs. */
  update(plan: ListenerPlan): void;
}

type BaseDeps = Omit<DispatchDeps, 'scheme' | 'protocol' | 'handOff'> & { client: ClientConfig };

/** A pending ACME HTTP-01 token's answer, written before routing (RFC 8555 §8.3). */
function answerChallenge(w: ResponseWriter, answer: string): void {
  w.writeHead(200, '', ['Content-Type', 'application/octet-stream', 'Content-Length', String(answer.length)]);
  w.end(answer);
}

export function httpListener(plan: ListenerPlan, deps: BaseDeps, http01?: Http01Answers): Listener {
  const dispatchDeps = { ...deps, scheme: 'http' as const, handOff: (socket: Socket) => handOff(socket) };
  let d = createDispatcher(plan, dispatchDeps);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const answer = http01?.(req.url);
    if (answer === undefined) d.onRequest(req, res);
    else answerChallenge(new NodeH1Writer(res, false), answer);
  };
  const leanHandler = (req: LeanRequest, res: LeanResponse): void => {
    const answer = http01?.(req.url);
    if (answer === undefined) d.onLeanRequest(req, res);
    else answerChallenge(res, answer);
  };
  const server = createHttpServer(serverOptions(deps.client), handler);
  shieldH1(server, deps.client, (req, res) => d.onCheckContinue(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => d.onUpgrade(req, socket, head));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => d.onConnect(req, socket));
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => onClientError(err, socket, deps.errorLog));
  // node's http server took each connection in its one 'connection' listener: the lean path
  // takes them first and gives node the ones it does not serve.
  const nodeConnection = onlyListener(server, 'connection');
  const handOff = (socket: Socket) => nodeConnection.call(server, socket);
  const lean = leanPath(deps, leanHandler, handOff);
  server.on('connection', (socket: Socket) => {
    trackConnection(socket, 'http/1.1');
    lean.start(socket);
  });
  const accepting = acceptor(server, plan);
  return {
    listen: accepting.listen,
    serve: accepting.serve,
    stopAccepting: () => {
      accepting.stop();
      server.close();
      lean.close();
    },
    destroyAll: () => {
      server.closeAllConnections();
      lean.destroy();
    },
    update: (next) => {
      d = createDispatcher(next, dispatchDeps);
    },
  };
}

export interface TlsListenerOptions {
  sni: SniTable;
  /** Sees each new TCP connection first (TLS-ALPN-01 challenges); calls `pass` for the rest. */
  peek?: (socket: Socket, pass: (socket: Socket) => void) => void;
}

export function tlsListener(plan: ListenerPlan, deps: BaseDeps, opts: TlsListenerOptions): Listener {
  const h1Deps = { ...deps, scheme: 'https' as const, protocol: 'h1' as const, handOff: (socket: Socket) => h1HandOff(socket) };
  const h2Deps = { ...deps, scheme: 'https' as const, protocol: 'h2' as const };
  let h1 = createDispatcher(plan, h1Deps);
  let h2 = createDispatcher(plan, h2Deps);
  // One key set per listener, kept across certificate swaps, so sessions resume after a reload.
  const ticketKeys = randomBytes(48);
  const initial = opts.sni.defaultCertificate;
  const server: HttpsServer = createHttpsServer(
    {
      ...serverOptions(deps.client),
      ...TLS_SETTINGS,
      // From accept to a finished handshake, as nginx bounds it by client_header_timeout: a
      // deadline, not an idle timer (a ClientHello sent a byte at a time does not extend it).
      // node's default is 120s; the first request's head then gets header_timeout of its own.
      handshakeTimeout: deps.client.header_timeout,
      ALPNProtocols: ALPN_PROTOCOLS,
      SNICallback: opts.sni.sniCallback,
      ticketKeys,
      ...(initial ? { cert: initial.certPem, key: initial.keyPem } : {}),
    },
    (req, res) => h1.onRequest(req, res),
  );
  shieldH1(server, deps.client, (req, res) => h1.onCheckContinue(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => h1.onUpgrade(req, socket, head));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => h1.onConnect(req, socket));
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => onClientError(err, socket, deps.errorLog));
  // node's https.Server passes a failed handshake (a timeout included) on as 'clientError', whose
  // handler then owns the socket: an HTTP 400 written to a connection that never finished its
  // TLS handshake is never sent, and the socket stayed open for good. A TLS failure has no
  // HTTP answer: log it and close.
  onlyListener(server, 'tlsClientError');
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    deps.errorLog.debug('tls handshake failed', { client: socket.remoteAddress, code: err.code, err: err.message });
    socket.destroy();
  });
  opts.sni.onDefaultChange(() => {
    const cert = opts.sni.defaultCertificate;
    if (cert) server.setSecureContext({ ...TLS_SETTINGS, cert: cert.certPem, key: cert.keyPem, ticketKeys });
  });

  const h2server = createH2Server({ settings: { maxConcurrentStreams: 128, maxHeaderListSize: 32 * 1024 } });
  // Bodiless GET/HEAD streams take the lean path, the rest node's compatibility objects (lean/lean-h2.ts).
  h2server.on(
    'stream',
    h2StreamListener({
      lean: (req, res) => h2.onLeanStream(req, res),
      compat: (req: Http2ServerRequest, res: Http2ServerResponse) => h2.onStream(req, res),
    }),
  );
  const sessions = new H2Sessions(h2server, deps.client.keepalive_timeout);

  // https.Server registered exactly one listener for each: node's TLS wrapping ('connection')
  // and its HTTP/1.1 handling ('secureConnection'). Route by the negotiated protocol instead.
  const h1Connection = onlyListener(server, 'secureConnection');
  const h1HandOff = (socket: Socket) => h1Connection.call(server, socket);
  const lean = leanPath(deps, (req, res) => h1.onLeanRequest(req, res), h1HandOff);
  server.on('secureConnection', (socket: TLSSocket) => {
    const h2 = socket.alpnProtocol === 'h2';
    trackConnection(socket, h2 ? 'h2' : 'https/1.1');
    if (h2) h2server.emit('connection', socket);
    else lean.start(socket);
  });
  // node's TLS takes a connection only once its first bytes are seen to be TLS (plain HTTP gets
  // a 400 saying so, server/plain-on-tls.ts), and the ClientHello was looked at when an ACME
  // TLS-ALPN-01 validation may come. header_timeout bounds that wait, then the handshake's own.
  const tlsConnection = onlyListener(server, 'connection');
  const headerTimeout = deps.client.header_timeout;
  const peek = opts.peek;
  const toTls = (socket: Socket) => tlsConnection.call(server, socket);
  server.on('connection', (socket: Socket) => {
    const deadline = setTimeout(() => socket.destroy(), headerTimeout);
    socket.once('close', () => clearTimeout(deadline));
    sniffTls(socket, deps.errorLog, (tls) => {
      if (!peek) {
        clearTimeout(deadline);
        return toTls(tls);
      }
      peek(tls, (passed) => {
        clearTimeout(deadline);
        toTls(passed);
      });
    });
  });
  const accepting = acceptor(server, plan);
  return {
    listen: accepting.listen,
    serve: accepting.serve,
    stopAccepting: () => {
      accepting.stop();
      server.close();
      sessions.closeAll();
      lean.close();
    },
    destroyAll: () => {
      server.closeAllConnections();
      sessions.destroyAll();
      lean.destroy();
    },
    update: (next) => {
      h1 = createDispatcher(next, h1Deps);
      h2 = createDispatcher(next, h2Deps);
    },
  };
}

/** The HTTP/1.1 connections of one listener, from accept to graceful stop. */
interface LeanPath {
  /** Takes a new connection: on the lean path, or straight to node's server when it is off. */
  start(socket: Socket): void;
  /** Graceful stop: idle lean connections close now, busy ones after their response. */
  close(): void;
  destroy(): void;
}

/**
 * HTTP/1.1 connections (plain, or TLS that chose http/1.1) start on the lean path
 * (lean/lean-connection.ts), which hands them to node's http server (`handOff`) for anything
 * but simple bodiless requests. PORTICO_LEAN_H1=0 turns it off: every connection is node's.
 * Without node's HTTP parser (http1-parser.ts: missing, failed its self-test, or
 * PORTICO_UPSTREAM_CLIENT=undici) it answers nothing itself: it only reads each connection's first
 * head (bare LF line ends made CRLF) and hands it to node's server.
 */
function leanPath(deps: BaseDeps, handler: (req: LeanRequest, res: LeanResponse) => void, handOff: (socket: Socket) => void): LeanPath {
  const open = new Set<LeanConnection>();
  const stop = {
    close: () => {
      for (const c of open) c.close();
    },
    destroy: () => {
      for (const c of open) c.socket.destroy();
    },
  };
  if (process.env.PORTICO_LEAN_H1 === '0') return { start: handOff, ...stop };
  const timeout = Object.assign(new Error('header_timeout passed with no request'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
  const settings: LeanSettings = {
    // A request head and a ResponseWriter of their own (test/server/lean-h1.test.ts compares
    // the bytes with node's server).
    handle: handler,
    handOff,
    headerTimeout: (socket) => onClientError(timeout, socket, deps.errorLog),
    headerTimeoutMs: deps.client.header_timeout,
    keepAliveMs: deps.client.keepalive_timeout,
    keepAliveHeader: keepAliveHeader(deps.client.keepalive_timeout),
    maxHeaderSize: deps.client.max_header_size,
    maxHeaderFields: deps.client.max_headers * 2,
    maxUriLength: deps.limits.maxUriLength,
    open,
  };
  return { start: (socket) => void new LeanConnection(socket, settings), ...stop };
}

function onlyListener(server: Server | HttpsServer, event: string): (...args: unknown[]) => void {
  const listeners = server.listeners(event);
  if (listeners.length !== 1) throw new Error(`node's server has ${listeners.length} '${event}' listeners; expected 1`);
  server.removeAllListeners(event);
  return listeners[0] as (...args: unknown[]) => void;
}

/**
 * Binds, then adds the extra accept handles (accept-handles.ts; they hand their connections to
 * the server's 'connection' listeners, so a hold covers them too); `stop` closes those.
 */
function acceptor(server: Server | HttpsServer, plan: ListenerPlan): { listen: (held?: boolean) => Promise<AddressInfo>; serve: () => void; stop: () => void } {
  let stopCopies = () => {};
  let hold: Hold | undefined;
  return {
    listen: async (held = false) => {
      if (held) hold = holdConnections(server);
      const bound = await listen(server, plan);
      stopCopies = addAcceptHandles(server);
      return bound;
    },
    serve: () => {
      hold?.release();
      hold = undefined;
    },
    stop: () => {
      stopCopies();
      hold?.drop(); // never served: the start failed
    },
  };
}

interface Hold {
  release(): void;
  drop(): void;
}

/**
 * Until release(), accepted connections are kept, not read, and then given to the server's
 * own 'connection' listeners (which take every later one directly, so a connection costs
 * nothing more once serving). Bytes a client sent meanwhile wait in the socket's buffer:
 * node's HTTP and TLS servers read what a socket already holds first.
 */
function holdConnections(server: Server | HttpsServer): Hold {
  const own = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const held = new Set<Socket>();
  const hold = (socket: Socket) => {
    held.add(socket);
    socket.once('close', () => held.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  server.on('connection', hold);
  return {
    release: () => {
      server.off('connection', hold);
      for (const l of own) server.on('connection', l);
      for (const socket of held) {
        socket.removeAllListeners('error');
        for (const l of own) l.call(server, socket);
      }
      held.clear();
    },
    drop: () => {
      for (const socket of held) socket.destroy();
      held.clear();
    },
  };
}

/** An address that could not be bound: node's error code (EADDRINUSE, EACCES, ...) and the address. */
export class ListenError extends Error {
  constructor(
    readonly key: string,
    readonly address: ListenAddress,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

function listen(server: Server | HttpsServer, plan: ListenerPlan): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(new ListenError(plan.key, plan.address, err.code, err.message));
    server.once('error', fail);
    server.listen({ host: plan.address.host, port: plan.address.port }, () => {
      server.off('error', fail);
      resolve(server.address() as AddressInfo);
    });
  });
}
