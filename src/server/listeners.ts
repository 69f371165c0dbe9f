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
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { ListenerPlan } from '../compile/compile.js';
import { createDispatcher, type DispatchDeps } from './dispatch.js';
import { onClientError } from './client-error.js';
import { H2Sessions } from './h2-sessions.js';
import { TLS_SETTINGS, ALPN_PROTOCOLS } from '../tls/settings.js';
import type { SniTable } from '../tls/sni-table.js';
import type { ClientConfig } from '../config/shield-schema.js';
import { addAcceptHandles } from './accept-handles.js';
import { LeanConnection, type LeanSettings } from './lean/lean-connection.js';
import { keepAliveHeader } from './lean/lean-response.js';

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
  listen(): Promise<AddressInfo>;
  /** Stops accepting; idle connections close now, busy ones after their request. */
  stopAccepting(): void;
  /** Closes whatever is still open. */
  destroyAll(): void;
  /** Routes new requests by `plan` (a reload; same address): requests in flight keep theirs. */
  update(plan: ListenerPlan): void;
}

type BaseDeps = Omit<DispatchDeps, 'scheme' | 'protocol' | 'handOff'> & { client: ClientConfig };

/** Requests answered before routing (ACME HTTP-01 challenges); true when it answered. */
export type Intercept = (req: IncomingMessage, res: ServerResponse) => boolean;

export function httpListener(plan: ListenerPlan, deps: BaseDeps, intercept?: Intercept): Listener {
  const dispatchDeps = { ...deps, scheme: 'http' as const, handOff: (socket: Socket) => handOff(socket) };
  let d = createDispatcher(plan, dispatchDeps);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => d.onRequest(req, res);
  const handler = intercept ? (req: IncomingMessage, res: ServerResponse) => intercept(req, res) || onRequest(req, res) : onRequest;
  const server = createHttpServer(serverOptions(deps.client), handler);
  shieldH1(server, deps.client, (req, res) => d.onCheckContinue(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => d.onUpgrade(req, socket, head));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => d.onConnect(req, socket));
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => onClientError(err, socket, deps.errorLog));
  // node's http server took each connection in its one 'connection' listener: the lean path
  // takes them first and gives node the ones it does not serve.
  const nodeConnection = onlyListener(server, 'connection');
  const handOff = (socket: Socket) => nodeConnection.call(server, socket);
  const lean = leanPath(deps, handler, handOff);
  server.on('connection', lean.start);
  const accepting = acceptor(server, plan);
  return {
    listen: accepting.listen,
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
      // Client certificates (src/tls/client-auth.ts): asked for, checked per request, never a handshake failure.
      ...(plan.tls?.some((site) => site.clientAuth !== undefined) ? { requestCert: true, rejectUnauthorized: false } : {}),
      ...(initial ? { cert: initial.certPem, key: initial.keyPem, ...initial.contextOptions } : {}),
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
    if (cert) server.setSecureContext({ ...TLS_SETTINGS, cert: cert.certPem, key: cert.keyPem, ticketKeys, ...cert.contextOptions });
  });

  const h2server = createH2Server({ settings: { maxConcurrentStreams: 128, maxHeaderListSize: 32 * 1024 } });
  h2server.on('request', ((req: IncomingMessage, res: ServerResponse) => h2.onRequest(req, res)) as never);
  const sessions = new H2Sessions(h2server, deps.client.keepalive_timeout);

  // https.Server registered exactly one listener for each: node's TLS wrapping ('connection')
  // and its HTTP/1.1 handling ('secureConnection'). Route by the negotiated protocol instead.
  const h1Connection = onlyListener(server, 'secureConnection');
  const h1HandOff = (socket: Socket) => h1Connection.call(server, socket);
  const lean = leanPath(deps, (req, res) => h1.onRequest(req, res), h1HandOff);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') h2server.emit('connection', socket);
    else lean.start(socket);
  });
  if (opts.peek) {
    const peek = opts.peek;
    const tlsConnection = onlyListener(server, 'connection');
    const headerTimeout = deps.client.header_timeout;
    server.on('connection', (socket: Socket) => {
      // The peek waits for a ClientHello too: header_timeout bounds it, then the handshake's own.
      const deadline = setTimeout(() => socket.destroy(), headerTimeout);
      socket.once('close', () => clearTimeout(deadline));
      peek(socket, (passed) => {
        clearTimeout(deadline);
        tlsConnection.call(server, passed);
      });
    });
  }
  const accepting = acceptor(server, plan);
  return {
    listen: accepting.listen,
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
 */
function leanPath(deps: BaseDeps, handler: (req: IncomingMessage, res: ServerResponse) => void, handOff: (socket: Socket) => void): LeanPath {
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
    // LeanRequest/LeanResponse carry the members of IncomingMessage/ServerResponse that
    // Portico's dispatcher and handlers use (test/server/lean-h1.test.ts compares the bytes).
    handle: (req, res) => handler(req as unknown as IncomingMessage, res as unknown as ServerResponse),
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

/** Binds, then adds the extra accept handles (accept-handles.ts); `stop` closes those. */
function acceptor(server: Server | HttpsServer, plan: ListenerPlan): { listen: () => Promise<AddressInfo>; stop: () => void } {
  let stopCopies = () => {};
  return {
    listen: async () => {
      const bound = await listen(server, plan);
      stopCopies = addAcceptHandles(server);
      return bound;
    },
    stop: () => stopCopies(),
  };
}

function listen(server: Server | HttpsServer, plan: ListenerPlan): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: plan.address.host, port: plan.address.port }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
