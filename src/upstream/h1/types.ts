/**
 * The contract between the HTTP/1.1 upstream client and whoever relays its response. Both
 * clients keep it: node's parser (h1/) and the undici fallback (undici/); upstream/pool.ts
 * chooses one at start.
 */
import type { Readable } from 'node:stream';
import type { Transport } from '../transport.js';

/** Keep-alive connections to one upstream address (connection-pool.ts). */
export interface UpstreamPool {
  readonly transport: Transport;
  /**
   * Sends a request; the sink hears the response. `fresh` skips idle connections (a retry after
   * a keep-alive race) and may exceed the connection limit by that one connection.
   */
  request(req: UpstreamRequest, sink: ResponseSink, fresh?: boolean): void;
  /** Removes a request still waiting for a connection (its client went away). */
  cancel(sink: ResponseSink): void;
  readonly stats: { open: number; idle: number; waiting: number };
  /** Closes idle connections; busy ones close once their response is done. */
  close(): void;
  /** Closes every connection, busy ones included (their requests fail). */
  destroy(): void;
}

export interface UpstreamRequest {
  method: string;
  /** Origin-form request target: path and query. */
  path: string;
  /** Flat [name, value, ...] list, already filtered; Content-Length included when known. */
  headers: string[];
  /** null: no body. */
  body: Readable | null;
  /**
   * A fresh stream of the same body bytes, when the body was buffered whole before proxying
   * (request buffering sets it). Only such a body can be sent again to another server after
   * some of it went to a failed one; a streamed client body cannot be read twice.
   */
  replayBody?: (() => Readable) | undefined;
  /** The body has no Content-Length: send it with Transfer-Encoding: chunked. */
  chunked: boolean;
  /** Idle time allowed while waiting for the response (headers, then between body reads). */
  readTimeout: number;
}

/** Receives one response. Exactly one of onEnd / onError ends it. */
export interface ResponseSink {
  /** Called with the connection the request was given, so the sink can pause, resume or abort it. */
  bind(conn: UpstreamExchangeControl): void;
  onHeaders(status: number, statusText: string, headers: string[]): void;
  /** Return false to pause the upstream socket until `resume()`. */
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  /**
   * @param retryable the request failed on a reused keep-alive connection before any response
   *   byte arrived and before any of its body was read: it can be sent again on a new connection.
   */
  onError(err: UpstreamError, retryable: boolean): void;
}

export interface UpstreamExchangeControl {
  /** The connection was established (TLS: handshake done); before that nothing reached the upstream. */
  readonly connected: boolean;
  /** Some of the request body was taken from the client (it cannot be streamed again). */
  readonly bodyTouched: boolean;
  resume(): void;
  /** Gives up on the request: the connection is destroyed, no more sink calls. */
  abort(): void;
}

export type UpstreamErrorCode = 'CONNECT_TIMEOUT' | 'READ_TIMEOUT' | 'BAD_RESPONSE' | 'CLOSED' | typeof REQUEST_HEAD_REFUSED | string;

/**
 * The request head could not be written (src/http/head.ts refused it): nothing reached the
 * upstream, so it is not the upstream's failure (no passive-health mark, no retry) but a 500.
 */
export const REQUEST_HEAD_REFUSED = 'REQUEST_HEAD_REFUSED';

export class UpstreamError extends Error {
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}
