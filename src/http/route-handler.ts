/**
 * What a route runs: its handler (built once per route at compile time by
 * src/handlers/registry.ts) behind its guards (src/shield/guards.ts), composed by
 * src/handlers/compose.ts. These types sit at the bottom so that guards, handlers and the
 * compiler share them without importing each other.
 */
import type { Duplex } from 'node:stream';
import type { Exchange } from './exchange.js';

export interface RouteHandler {
  /** Serves the request through `ex.writer`; always ends or destroys the response. */
  handle(ex: Exchange): void;
  /**
   * Serves an Upgrade request (WebSocket) on its raw socket (`ex.writer` writes to it).
   * Handlers without it answer upgrade requests like any other request, and the connection
   * is closed.
   */
  upgrade?(ex: Exchange, socket: Duplex, head: Buffer): void;
}

/** The rest of a route's chain after a guard: the next guard, or the handler. */
export type Next = (ex: Exchange) => void;

/** A check in front of a route's handler: it calls `next(ex)` once to let the request on, or answers it itself. */
export interface Guard {
  /** For errors and stack traces ("limit_req zone=api"). */
  readonly name: string;
  /** It checks Upgrade requests too (a handshake has no body: the body-size check does not). */
  readonly upgrades: boolean;
  check(ex: Exchange, next: Next): void;
}
