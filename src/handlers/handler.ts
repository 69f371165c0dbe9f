/**
 * A route's handler: serves a request on `ex.res`, or an Upgrade request on its raw socket.
 * Handlers are built once per route at compile time; a request only calls `handle`.
 */
import type { Duplex } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { HeaderOps } from '../http/header-ops.js';

export interface RouteHandler {
  /** Serves the request; always ends or destroys `ex.res`. */
  handle(ex: Exchange): void;
  /**
   * Serves an Upgrade request (WebSocket). Handlers without it answer upgrade requests like
   * any other request, on a response bound to the socket, and the connection is closed.
   */
  upgrade?(ex: Exchange, socket: Duplex, head: Buffer): void;
}

/** What a handler factory gets besides its own options. */
export interface RouteContext {
  /** For logs: "servers[0].routes[1] /api/". */
  name: string;
  responseHeaders: HeaderOps;
  requestHeaders: HeaderOps;
  /** Path prefix removed before proxying, if any. */
  stripPrefix: string | undefined;
  /** Largest request body in bytes; Infinity: no limit. */
  maxBodySize: number;
  /** Client-side timeouts in ms (config `client`). */
  client: { bodyTimeout: number; sendTimeout: number };
  /** With `proxy.path_prefix`: the prefix it replaces (nginx's location name). */
  replacedPrefix?: string | undefined;
}
