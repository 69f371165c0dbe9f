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
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
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
  /** HTTPS (and h2), or plain HTTP: fixed for the node servers behind it. */
  readonly tls: boolean;
  /** What its node servers were made for (listenerShape): a plan of another shape needs a new listener. */
  readonly shape: string;
  /** The `client` settings its node servers were made with: another value needs a new listener. */
  readonly client: ClientConfig;
  /**
   * Binds the address (a ListenError when it cannot), or accepts from `socket`: the listening
   * socket of the listener it replaces (release()) or one handed over by the process it
   * replaces (an upgrade in place). `held`: connections accepted from now on wait, unread,
   * until serve() (so nothing is served before `portico run` drops root).
   */
  listen(held?: boolean, socket?: ListeningSocket): Promise<AddressInfo>;
  /** Serves the connections held since listen(true), and every later one directly. */
  serve(): void;
  /** Stops accepting; idle connections close now, busy ones after their request (a stop). */
  stopAccepting(): void;
  /**
   * Stops accepting, and lets its connections go gently (an upgrade in place, an address a
   * reload removed, a listener replaced): every HTTP/1.1 response from now on says
   * Connection: close and ends its connection, a connection idle for `graceMs` closes then,
   * HTTP/2 sessions get GOAWAY, WebSocket tunnels go on until they end or destroyAll().
   */
  drain(graceMs: number): void;
  /** Closes whatever is still open. */
  destroyAll(): void;
  /** Routes new requests by `plan` (a reload; same address, kind and `client`): requests in flight keep theirs. */
  update(plan: ListenerPlan, next: ListenerUpdate): void;
  /** The listening socket, for another process (an upgrade in place): null once stopped or released. */
  socket(): ListeningSocket | null;
  /** Gives the listening socket to the listener that replaces this one; this one accepts no more. */
  release(): ListeningSocket | null;
}

/** A listening socket as node holds it (a TCP handle): passed between listeners and over IPC. */
export type ListeningSocket = object;

/** What a reload gives a listener it keeps: the new config's logs and limits, and its certificates. */
export interface ListenerUpdate {
  deps: BaseDeps;
  /** Plain HTTP: the ACME HTTP-01 answers of the new TLS runtime. */
  http01?: Http01Answers | undefined;
  /** HTTPS: the new config's certificates. */
  tls?: TlsListenerOptions;
}

/**
 * What a listener's node servers are built for, beyond routes: plain HTTP, HTTPS, or HTTPS
 * asking for client certificates (requestCert is fixed when node's TLS server is made).
 */
export function listenerShape(plan: ListenerPlan): string {
  if (plan.tls === undefined) return 'http';
  return plan.tls.some((site) => site.clientAuth !== undefined) ? 'https+client-certificates' : 'https';
}

export type BaseDeps = Omit<DispatchDeps, 'scheme' | 'protocol' | 'handOff'> & { client: ClientConfig };

/** A pending ACME HTTP-01 token's answer, written before routing (RFC 8555 §8.3). */
function answerChallenge(w: ResponseWriter, answer: string): void {
  w.writeHead(200, '', ['Content-Type', 'application/octet-stream', 'Content-Length', String(answer.length)]);
  w.end(answer);
}

export function httpListener(plan: ListenerPlan, deps: BaseDeps, http01?: Http01Answers): Listener {
  const handOffTo = (socket: Socket) => handOff(socket);
  let d = createDispatcher(plan, { ...deps, scheme: 'http' as const, handOff: handOffTo });
  let draining = false;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (draining) res.shouldKeepAlive = false;
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
    tls: false,
    shape: listenerShape(plan),
    client: deps.client,
    listen: accepting.listen,
    serve: accepting.serve,
    stopAccepting: () => {
      accepting.stop();
      server.close();
      lean.close();
    },
    drain: (graceMs) => {
      draining = true;
      accepting.stop();
      drainNodeServer(server, graceMs);
      lean.drain(graceMs);
    },
    destroyAll: () => {
      server.closeAllConnections();
      lean.destroy();
    },
    update: (next, u) => {
      http01 = u.http01;
      d = createDispatcher(next, { ...u.deps, scheme: 'http' as const, handOff: handOffTo });
    },
    socket: accepting.socket,
    release: accepting.release,
  };
}

export interface TlsListenerOptions {
  sni: SniTable;
  /** Sees each new TCP connection first (TLS-ALPN-01 challenges); calls `pass` for the rest. */
  peek?: (socket: Socket, pass: (socket: Socket) => void) => void;
}

export function tlsListener(plan: ListenerPlan, deps: BaseDeps, opts: TlsListenerOptions): Listener {
  const handOffTo = (socket: Socket) => h1HandOff(socket);
  const h1DepsOf = (base: BaseDeps) => ({ ...base, scheme: 'https' as const, protocol: 'h1' as const, handOff: handOffTo });
  const h2DepsOf = (base: BaseDeps) => ({ ...base, scheme: 'https' as const, protocol: 'h2' as const });
  let h1 = createDispatcher(plan, h1DepsOf(deps));
  let h2 = createDispatcher(plan, h2DepsOf(deps));
  let draining = false;
  // The certificates by name: a reload gives a new table (new names, new files).
  let sni = opts.sni;
  let peek = opts.peek;
  // One key set per listener, kept across certificate swaps, so sessions resume after a reload.
  const ticketKeys = randomBytes(48);
  const initial = sni.defaultCertificate;
  const server: HttpsServer = createHttpsServer(
    {
      ...serverOptions(deps.client),
      ...TLS_SETTINGS,
      // From accept to a finished handshake, as nginx bounds it by client_header_timeout: a
      // deadline, not an idle timer (a ClientHello sent a byte at a time does not extend it).
      // node's default is 120s; the first request's head then gets header_timeout of its own.
      handshakeTimeout: deps.client.header_timeout,
      ALPNProtocols: ALPN_PROTOCOLS,
      SNICallback: (name, cb) => sni.sniCallback(name, cb),
      ticketKeys,
      // Client certificates (src/compile/client-auth.ts, src/shield/client-certificates.ts): asked for, checked per request, never a handshake failure.
      ...(plan.tls?.some((site) => site.clientAuth !== undefined) ? { requestCert: true, rejectUnauthorized: false } : {}),
      ...(initial ? { cert: initial.certPem, key: initial.keyPem, ...initial.contextOptions } : {}),
    },
    (req, res) => {
      if (draining) res.shouldKeepAlive = false;
      h1.onRequest(req, res);
    },
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
  // The certificate for clients without SNI (or a name no server has), renewed in place.
  const setDefault = (table: SniTable) => {
    const cert = table.defaultCertificate;
    if (cert && table === sni) server.setSecureContext({ ...TLS_SETTINGS, cert: cert.certPem, key: cert.keyPem, ticketKeys, ...cert.contextOptions });
  };
  sni.onDefaultChange(() => setDefault(opts.sni));

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
    tls: true,
    shape: listenerShape(plan),
    client: deps.client,
    listen: accepting.listen,
    serve: accepting.serve,
    stopAccepting: () => {
      accepting.stop();
      server.close();
      sessions.closeAll();
      lean.close();
    },
    drain: (graceMs) => {
      draining = true;
      accepting.stop();
      drainNodeServer(server, graceMs);
      sessions.closeAll();
      lean.drain(graceMs);
    },
    destroyAll: () => {
      server.closeAllConnections();
      sessions.destroyAll();
      lean.destroy();
    },
    update: (next, u) => {
      h1 = createDispatcher(next, h1DepsOf(u.deps));
      h2 = createDispatcher(next, h2DepsOf(u.deps));
      if (u.tls === undefined) return;
      const table = u.tls.sni;
      sni = table;
      peek = u.tls.peek;
      table.onDefaultChange(() => setDefault(table));
      setDefault(table);
    },
    socket: accepting.socket,
    release: accepting.release,
  };
}

/**
 * A node HTTP/1.1 server that no longer accepts lets its connections go gently: requests that
 * arrive get Connection: close (the listener's request handler sets it while draining), and
 * what is idle after `graceMs` is closed then. node's own close() would close idle connections
 * at once, resetting a request a client sent at that moment on a connection it reused.
 */
function drainNodeServer(server: Server | HttpsServer, graceMs: number): void {
  // net.Server's close(): the socket closes (unless released to a new owner), the connections stay.
  if (server.listening) NetServer.prototype.close.call(server);
  const timer = setTimeout(() => server.closeIdleConnections(), graceMs);
  timer.unref();
  server.once('close', () => clearTimeout(timer));
}

/** The HTTP/1.1 connections of one listener, from accept to graceful stop. */
interface LeanPath {
  /** Takes a new connection: on the lean path, or straight to node's server when it is off. */
  start(socket: Socket): void;
  /** Graceful stop: idle lean connections close now, busy ones after their response. */
  close(): void;
  /** Draining: every connection closes after its next response, or once idle for `graceMs`. */
  drain(graceMs: number): void;
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
    drain: (graceMs: number) => {
      for (const c of open) c.drain(graceMs);
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
interface Acceptor {
  listen(held?: boolean, socket?: ListeningSocket): Promise<AddressInfo>;
  serve(): void;
  stop(): void;
  socket(): ListeningSocket | null;
  release(): ListeningSocket | null;
}

/** What node's net.Server keeps of its listening socket (accept-handles.ts reads it too). */
interface WithHandle {
  _handle: ListeningSocket | null;
}

function acceptor(server: Server | HttpsServer, plan: ListenerPlan): Acceptor {
  let stopCopies = () => {};
  let hold: Hold | undefined;
  return {
    listen: async (held = false, socket) => {
      if (held) hold = holdConnections(server);
      const bound = await listen(server, plan, socket);
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
    socket: () => (server as unknown as WithHandle)._handle,
    release: () => {
      stopCopies();
      // The socket goes on listening under its new owner: this server's close() leaves it alone.
      const own = server as unknown as WithHandle;
      const handle = own._handle;
      own._handle = null;
      return handle;
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

function listen(server: Server | HttpsServer, plan: ListenerPlan, socket?: ListeningSocket): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(new ListenError(plan.key, plan.address, err.code, err.message));
    server.once('error', fail);
    const done = () => {
      server.off('error', fail);
      resolve(server.address() as AddressInfo);
    };
    if (socket !== undefined) server.listen(socket as never, done);
    else server.listen({ host: plan.address.host, port: plan.address.port }, done);
  });
}
