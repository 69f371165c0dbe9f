/**
 * One keep-alive HTTP/1.1 connection to an upstream through undici: an undici `Client` with
 * pipelining 1 that dials through Portico's own Transport (TCP, unix socket, TLS with the
 * pool's CA and server name), carrying one request at a time for its pool (connection-pool.ts)
 * and driving the same ResponseSink contract as the h1 client (h1/connection.ts). undici parses
 * the response (its own llhttp, in WebAssembly), writes the head and streams the body with
 * backpressure, chunked when its length is unknown.
 *
 * The pool, not undici, decides whether a connection carries another request, once the
 * response is complete and everything received so far was parsed (a microtask later): never
 * after a response undici closed the socket for (Connection: close, bytes beyond the response
 * in the same read, a response before the request body was sent), nor after a HEAD, 204 or 304
 * that announced a body it may still send (gunicorn sends a HEAD's body in a second write,
 * which would reach the next request as its response: RFC 9112 §6.3, §9.3.2). Bytes arriving
 * on an idle connection make undici close it before it is used again.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Client, Dispatcher } from 'undici';
import { undici } from './load.js';
import { RequestBody } from './request-body.js';
import { upstreamError } from './errors.js';
import type { Transport } from '../transport.js';
import type { ConnectionOwner, ConnectionState, PoolOptions, PooledConnection } from '../connection-pool.js';
import { NO_LENGTH, framingOf } from '../framing.js';
import { REQUEST_HEAD_REFUSED, UpstreamError, type ResponseSink, type UpstreamExchangeControl, type UpstreamRequest } from '../h1/types.js';

/** As the h1 client: a response head larger than this is refused. */
const MAX_RESPONSE_HEADER_SIZE = 64 * 1024;
/** A timer's longest delay: what "0, no limit" becomes where undici needs a positive one. */
const NO_LIMIT = 2 ** 31 - 1;

type ConnectCallback = (...args: [null, Socket] | [Error, null]) => void;

export class UndiciConnection implements UpstreamExchangeControl, PooledConnection {
  readonly #client: Client;
  readonly #transport: Transport;
  readonly #connectTimeout: number;
  readonly #owner: ConnectionOwner<UndiciConnection>;
  #socket: Socket | null = null;
  #connected = false;
  #state: ConnectionState = 'idle';
  /** Responses completed on the current socket; > 0 means it is being reused. */
  #served = 0;
  // The request in flight:
  #sink: ResponseSink | null = null;
  #controller: Dispatcher.DispatchController | null = null;
  #body: RequestBody | null = null;
  #method = '';
  /** It went out on a socket that had carried a response before. */
  #reused = false;
  #responseStarted = false;
  #responseDone = false;
  /** False when the response's framing leaves doubt about where it ends. */
  #reusable = true;
  /** The final response is a 204 or 304: no body, whatever its head says. */
  #bodiless = false;
  /** The final response's head arrived (the sink heard onHeaders). */
  #headReceived = false;

  constructor(transport: Transport, options: PoolOptions, owner: ConnectionOwner<UndiciConnection>) {
    this.#transport = transport;
    this.#connectTimeout = options.connectTimeout;
    this.#owner = owner;
    const keepAlive = options.keepAliveTimeout > 0 ? options.keepAliveTimeout : NO_LIMIT;
    this.#client = new (undici().Client)(`http://${transport.authority}`, {
      connect: this.#dial,
      pipelining: 1,
      // keepalive_timeout as the h1 client applies it; a shorter `Keep-Alive: timeout=N` from
      // the upstream shortens it (undici's own rule), never lengthens it.
      keepAliveTimeout: keepAlive,
      keepAliveMaxTimeout: keepAlive,
      keepAliveTimeoutThreshold: 0,
      maxHeaderSize: MAX_RESPONSE_HEADER_SIZE,
      strictContentLength: true,
    });
    this.#client.on('disconnect', this.#onDisconnect);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Whether the connection was established (TLS: handshake done): before that, nothing reached the upstream. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Whether any of the body was taken from the client (a retry could not replay it). */
  get bodyTouched(): boolean {
    return this.#body !== null && this.#body.touched;
  }

  park(): void {
    if (this.#state === 'free') this.#state = 'idle';
  }

  send(req: UpstreamRequest, sink: ResponseSink): void {
    if (this.#state !== 'idle' && this.#state !== 'free') {
      // Never two requests on one connection: the pool hands out idle or just-freed ones only.
      sink.onError(new UpstreamError('BUSY', `upstream connection is ${this.#state}`), false);
      return;
    }
    this.#state = 'busy';
    this.#sink = sink;
    this.#controller = null;
    this.#method = req.method;
    this.#reused = false;
    this.#responseStarted = false;
    this.#responseDone = false;
    this.#reusable = true;
    this.#bodiless = false;
    this.#headReceived = false;
    this.#body = req.body === null ? null : new RequestBody(req.body);
    sink.bind(this);
    if (this.#state !== 'busy') return; // the sink gave up at once (its client is gone)
    // A fractional read_timeout (seconds in the config) rounds up: undici takes whole milliseconds.
    const timeout = Math.ceil(req.readTimeout);
    this.#client.dispatch(
      {
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: this.#body,
        // undici closes after a HEAD unless told otherwise; onResponseStart decides instead.
        reset: false,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      },
      this.#handler,
    );
  }

  resume(): void {
    this.#controller?.resume();
  }

  abort(): void {
    this.#sink = null;
    this.destroy();
  }

  destroy(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#body?.destroy();
    // A request still in flight fails with this (onResponseError), as an h1 connection's does
    // when its socket closes.
    this.#client.destroy(new UpstreamError('CLOSED', 'connection closed'), noop);
    this.#owner.forget(this);
  }

  /** undici's connector: Portico's transport, with connect_timeout covering a TLS handshake too. */
  readonly #dial = (_options: unknown, callback: ConnectCallback): void => {
    const transport = this.#transport;
    const socket = transport.dial();
    this.#socket = socket;
    this.#served = 0;
    this.#connected = false;
    const timeout = this.#connectTimeout;
    let settled = false;
    const done = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      socket.off(transport.ready, onReady);
      socket.off('error', done);
      socket.off('timeout', onTimeout);
      socket.off('close', onClose);
      if (err !== null) {
        socket.on('error', noop);
        socket.destroy();
        callback(err, null);
        return;
      }
      if (timeout > 0) socket.setTimeout(0);
      this.#connected = true;
      callback(null, socket);
    };
    const onReady = (): void => done(null);
    const onTimeout = (): void => done(new UpstreamError('CONNECT_TIMEOUT', 'connect timeout'));
    const onClose = (): void => done(new UpstreamError('CLOSED', 'connection closed by upstream'));
    if (timeout > 0) socket.setTimeout(timeout);
    socket.once(transport.ready, onReady);
    socket.on('error', done);
    socket.on('timeout', onTimeout);
    socket.on('close', onClose);
  };

  readonly #onDisconnect = (): void => {
    this.#connected = false;
    // An idle connection the upstream closed (or undici's keep-alive timer ended) is gone; a
    // request waiting on this client goes out on a new socket (undici dials again).
    if (this.#state === 'idle') this.destroy();
  };

  // --- undici's DispatchHandler, for the request in flight ---

  readonly #handler: Dispatcher.DispatchHandler = {
    onRequestStart: (controller) => {
      // The request is being written on a connected socket.
      this.#controller = controller;
      this.#reused = this.#served > 0;
    },
    onResponseStarted: () => {
      this.#responseStarted = true; // a first byte of the response
    },
    onResponseStart: (controller, status, headers, statusText) => {
      // 102 and 103 come before the final response (undici refuses an unasked-for 100 itself).
      if (status < 200) return;
      this.#responseStarted = true;
      const raw = rawHeaders(controller.rawHeaders, headers);
      this.#headReceived = true;
      this.#bodiless = status === 204 || status === 304;
      if (this.#method === 'HEAD' || this.#bodiless) {
        // No body follows, whatever the head says; one that announces a body may still send it.
        const framing = framingOf(raw);
        if (framing !== 0 && framing !== NO_LENGTH) this.#reusable = false;
      }
      this.#sink?.onHeaders(status, reasonPhrase(status, statusText), raw);
    },
    onResponseData: (controller, chunk) => {
      if (this.#sink !== null && !this.#sink.onData(chunk)) controller.pause();
    },
    onResponseEnd: () => {
      const sink = this.#sink;
      this.#sink = null;
      this.#responseDone = true;
      sink?.onEnd();
      // Decided once undici has parsed what it had and acted on it (a close, bytes left over).
      queueMicrotask(this.#settle);
    },
    onResponseError: (_controller, err) => {
      if (this.#bodiless && (err as { code?: string }).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
        // A 204 or 304 with a Content-Length (allowed for a 304: RFC 9110 §8.6) that undici
        // counts against the body it never has: the response is complete (undici checks once
        // the parser ended the message), and the connection is not reused (onResponseStart).
        this.#reusable = false;
        return this.#handler.onResponseEnd!(_controller, {});
      }
      const sink = this.#sink;
      this.#sink = null;
      const error = upstreamError(err, this.#headReceived);
      // A keep-alive race: a reused socket failed before any response byte and before any of
      // the body was taken, so the request can go again on a new connection (relay.ts).
      const retryable = error.code !== REQUEST_HEAD_REFUSED && this.#reused && !this.#responseStarted && !this.bodyTouched;
      this.destroy();
      if (sink !== null && !this.#responseDone) sink.onError(error, retryable);
    },
  };

  readonly #settle = (): void => {
    if (this.#state !== 'busy' || !this.#responseDone) return;
    const socket = this.#socket;
    const sent = this.#body === null || this.#body.done;
    if (!this.#reusable || !sent || socket === null || socket.destroyed) return this.destroy();
    this.#state = 'free';
    this.#served++;
    this.#body = null;
    this.#controller = null;
    this.#owner.release(this);
  };
}

/**
 * The reason phrase as the bytes received (latin1, as node's parser gives it). undici decodes it
 * as UTF-8: valid UTF-8 is encoded back to its bytes; anything else was lost in decoding (U+FFFD),
 * and the status's standard phrase stands in (the phrase carries no meaning: RFC 9112 §4).
 */
function reasonPhrase(status: number, text: string | undefined): string {
  if (text === undefined) return '';
  if (!NOT_ASCII.test(text)) return text;
  if (text.includes('\ufffd')) return STATUS_CODES[status] ?? '';
  return Buffer.from(text, 'utf8').toString('latin1');
}

const NOT_ASCII = /[^\x00-\x7f]/;

/** undici's raw header list (Buffers) as the h1 client's strings, bytes as they came (latin1). */
function rawHeaders(raw: Dispatcher.DispatchController['rawHeaders'], parsed: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  if (Array.isArray(raw)) {
    for (const item of raw) out.push(typeof item === 'string' ? item : item.toString('latin1'));
    return out;
  }
  // An undici that hands over parsed headers only: names lower-cased, repeated fields in order.
  const source = raw ?? parsed;
  for (const [name, value] of Object.entries(source)) {
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else if (value !== undefined) out.push(name, value);
  }
  return out;
}

function noop(): void {}
