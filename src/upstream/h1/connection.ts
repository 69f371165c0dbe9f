/**
 * One keep-alive HTTP/1.1 connection to an upstream, parsing responses with node's native
 * llhttp. It carries one request at a time (no pipelining): writes the head in one syscall,
 * streams the body with backpressure (chunked when its length is unknown), and hands the
 * response to a ResponseSink as it is parsed, pausing the socket when the sink is full.
 *
 * A connection goes back to its pool only after a response that ended exactly where the bytes
 * received end: a byte beyond it (a HEAD answered with a body, a 204 with one, data after the
 * last chunk or past Content-Length) means the two sides no longer agree where a response
 * starts, and the connection is closed (nginx: "upstream sent more data than specified in
 * Content-Length header" / "upstream sent data after final chunk" turn keepalive off). The
 * decision is made once, after the parser has returned, never from inside its callbacks: a
 * connection handed to the next request while llhttp was still parsing would give that request
 * the rest of the bytes (RFC 9112 §9.3.2, §11.2).
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Transport } from '../transport.js';
import type { ConnectionOwner, ConnectionState, PooledConnection } from '../connection-pool.js';
import { LENIENT_CHUNKED_LENGTH, closeParserLater, createParser, type NodeHttpParser } from '../../http/http1-parser.js';
import { REQUEST_HEAD_REFUSED, UpstreamError, type ResponseSink, type UpstreamExchangeControl, type UpstreamRequest } from './types.js';
import { requestHead } from '../../http/head.js';
import { NO_LENGTH, TE_AND_CL, framingOf } from '../framing.js';

const MAX_RESPONSE_HEADER_SIZE = 64 * 1024;
const TE_CHUNKED = 'Transfer-Encoding: chunked\r\n';

export class UpstreamConnection implements UpstreamExchangeControl, PooledConnection {
  readonly socket: Socket;
  readonly #parser: NodeHttpParser;
  readonly #owner: ConnectionOwner<UpstreamConnection>;
  #connected = false;
  #state: ConnectionState = 'idle';
  /** Requests completed on this connection; > 0 means the socket is being reused. */
  #served = 0;
  #sink: ResponseSink | null = null;
  #skipBody = false;
  #interim = false;
  #keepAlive = false;
  #responseStarted = false;
  #responseDone = false;
  /** Where the final response ends, as far as the parser tells (ENDS_*). */
  #ends = ENDS_UNKNOWN;
  /** A message began after the final response: bytes no request asked for. */
  #leftover = false;
  /** CR and LF bytes at the end of what the parser was given so far (see crlfTail). */
  #crlfRun = 0;
  #body: BodyPump | null = null;
  #pendingHeaders: string[] | null = null;
  /**
   * Bytes of a Content-Length body still to come. Such a body bypasses the parser: node's
   * parser copies every body chunk into a new Buffer, while the socket's own chunks can be
   * handed to the client as they are (one copy and one allocation less per chunk).
   */
  #bodyLeft = 0;
  #bypass = false;
  /** A request body waiting for the connection: it is read from the client only once the upstream is reachable. */
  #pendingBody: UpstreamRequest | null = null;
  readonly #idleTimeout: number;

  constructor(transport: Transport, connectTimeout: number, idleTimeout: number, owner: ConnectionOwner<UpstreamConnection>) {
    this.#owner = owner;
    this.#idleTimeout = idleTimeout;
    // Lenient only where RFC 9112 §6.3 rule 3 says what to do: Transfer-Encoding and
    // Content-Length together are read by the Transfer-Encoding (the connection is then closed).
    this.#parser = createParser(
      'response',
      MAX_RESPONSE_HEADER_SIZE,
      {
        onMessageBegin: this.#onMessageBegin,
        onHeaders: this.#onHeaderChunk,
        onHeadersComplete: this.#onHeadersComplete,
        onBody: this.#onBody,
        onMessageComplete: this.#onMessageComplete,
      },
      LENIENT_CHUNKED_LENGTH,
    );
    const socket = transport.dial();
    // connect_timeout covers the TLS handshake too: both must finish before a request can go.
    socket.setTimeout(connectTimeout);
    socket.once(transport.ready, this.#onReady);
    socket.on('data', this.#onData);
    socket.on('timeout', this.#onTimeout);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onSocketError);
    socket.on('close', this.#onClose);
    this.socket = socket;
  }

  get reused(): boolean {
    return this.#served > 0;
  }

  /** Whether the connection was established (TLS: handshake done): before that, nothing reached the upstream. */
  get connected(): boolean {
    return this.#connected;
  }

  get destroyed(): boolean {
    return this.#state === 'closed';
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The pool keeps this free connection for a later request. */
  park(): void {
    if (this.#state === 'free') this.#state = 'idle';
  }

  send(req: UpstreamRequest, sink: ResponseSink): void {
    if (this.#state !== 'idle' && this.#state !== 'free') {
      // Never two requests on one connection: the pool hands out idle or just-freed ones only.
      sink.onError(new UpstreamError('BUSY', `upstream connection is ${this.#state}`), false);
      return;
    }
    let head: string;
    try {
      head = requestHead(req.method, req.path, req.headers, req.body !== null && req.chunked ? TE_CHUNKED : '');
    } catch (err) {
      // Nothing was written: not the upstream's failure, and not one to retry (types.ts).
      this.destroy();
      sink.onError(new UpstreamError(REQUEST_HEAD_REFUSED, (err as Error).message), false);
      return;
    }
    this.#state = 'busy';
    this.#sink = sink;
    this.#skipBody = req.method === 'HEAD';
    this.#interim = false;
    this.#keepAlive = false;
    this.#responseStarted = false;
    this.#responseDone = false;
    this.#ends = ENDS_UNKNOWN;
    this.#leftover = false;
    this.#crlfRun = 0;
    this.#bypass = false;
    this.#bodyLeft = 0;
    sink.bind(this);
    this.socket.write(head, 'latin1');
    if (this.#connected) {
      this.socket.setTimeout(req.readTimeout);
      this.#body = req.body === null ? null : new BodyPump(req.body, this.socket, req.chunked, this);
    } else {
      // Not a byte of the body is taken from the client before the upstream is reachable, so
      // a connection that fails can be retried on another server with the body intact.
      this.#pendingBody = req;
    }
  }

  readonly #onReady = (): void => {
    this.#connected = true;
    const req = this.#pendingBody;
    this.#pendingBody = null;
    if (req === null || this.destroyed) return;
    this.socket.setTimeout(req.readTimeout);
    if (req.body !== null) this.#body = new BodyPump(req.body, this.socket, req.chunked, this);
  };

  /** Whether the request body has been fully written (or there was none). */
  get #requestSent(): boolean {
    return this.#pendingBody === null && (this.#body === null || this.#body.done);
  }

  /** Whether any of the body was taken from the client (a retry could not replay it). */
  get bodyTouched(): boolean {
    return this.#body !== null && this.#body.touched;
  }

  resume(): void {
    if (!this.destroyed) this.socket.resume();
  }

  abort(): void {
    this.#sink = null;
    this.destroy();
  }

  destroy(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#body?.stop();
    this.socket.destroy();
    this.#owner.forget(this);
    closeParserLater(this.#parser);
  }

  /** The client's body broke off: this request can't be completed upstream. */
  abortFromBody(): void {
    this.#fail(new UpstreamError('CLIENT_BODY', 'client closed the connection while sending the request body'));
  }

  /**
   * The response is complete (and the parser has returned): back to the pool only when the
   * connection can carry another request, else closed.
   */
  #settle(leftover: boolean): void {
    if (this.destroyed) return;
    // A response that arrives before its request body was sent (an early 413): the rest of the
    // body would be read as the next request.
    if (leftover || !this.#keepAlive || !this.#requestSent) return this.destroy();
    this.#recycle();
  }

  #recycle(): void {
    if (this.#state !== 'busy') return;
    this.#state = 'free';
    this.#body = null;
    this.#pendingBody = null;
    this.#served++;
    this.socket.setTimeout(this.#idleTimeout);
    // A sink that was full when the last body chunk arrived paused the socket; the next
    // request on this connection must not inherit that (its relay would never resume it).
    if (this.socket.isPaused()) this.socket.resume(); // resume() on a flowing socket still costs a tick
    this.#owner.release(this);
  }

  #fail(err: UpstreamError): void {
    const sink = this.#sink;
    this.#sink = null;
    const retryable = this.#served > 0 && !this.#responseStarted && !this.bodyTouched;
    this.destroy();
    if (sink && !this.#responseDone) sink.onError(err, retryable);
  }

  readonly #onData = (data: Buffer): void => {
    if (this.#state !== 'busy' || this.#sink === null) {
      // Bytes nobody asked for on an idle connection: its framing can't be trusted.
      this.destroy();
      return;
    }
    this.#responseStarted = true;
    if (this.#bypass) return this.#deliver(data);
    const ret = this.#parser.execute(data);
    if (typeof ret !== 'number') {
      if (this.#responseDone) return this.destroy(); // garbage after a complete response
      return this.#fail(new UpstreamError('BAD_RESPONSE', `invalid response from upstream (${ret.code ?? ret.message})`));
    }
    if (this.destroyed) return;
    if (this.#bypass) {
      if (ret < data.length) this.#deliver(data.subarray(ret));
      return;
    }
    if (this.#responseDone) {
      // A body-less response stopped the parser where it ends: anything after that is left
      // over. A chunked one was read to its end by the parser, which goes on and skips empty
      // lines before a next message: those are counted here (crlfTail), the rest began one.
      if (this.#ends === ENDS_AT_STOP) return this.#settle(ret < data.length || this.#leftover);
      if (this.#ends === ENDS_CHUNKED) return this.#settle(this.#leftover || crlfTail(data, this.#crlfRun) !== CHUNKED_END);
      return this.destroy(); // an end the parser found that cannot be checked: not reused
    }
    if (ret < data.length) {
      // The parser stopped short without an error object: node reports none while llhttp's
      // upgrade flag is still set from the previous response (the "2" below).
      return this.#fail(new UpstreamError('BAD_RESPONSE', 'invalid response from upstream'));
    }
    if (this.#ends === ENDS_CHUNKED) this.#crlfRun = crlfTail(data, this.#crlfRun);
  };

  /** A piece of a Content-Length body, straight from the socket. */
  #deliver(data: Buffer): void {
    let chunk = data;
    const leftover = chunk.length > this.#bodyLeft;
    // More bytes than announced: the upstream's framing is broken; they are not passed on.
    if (leftover) chunk = chunk.subarray(0, this.#bodyLeft);
    this.#bodyLeft -= chunk.length;
    const sink = this.#sink;
    if (sink !== null && !sink.onData(chunk) && !this.destroyed) this.socket.pause();
    if (this.#bodyLeft === 0 && !this.destroyed) {
      this.#bypass = false;
      this.#complete();
      this.#settle(leftover);
    }
  }

  readonly #onMessageBegin = (): void => {
    if (this.#responseDone) this.#leftover = true;
  };

  readonly #onHeaderChunk = (headers: string[]): void => {
    // llhttp delivers more than 32 header pairs in pieces before headers-complete.
    (this.#pendingHeaders ??= []).push(...headers);
  };

  readonly #onHeadersComplete = (
    _major: number,
    _minor: number,
    headers: string[] | undefined,
    _method: unknown,
    _url: unknown,
    status: number,
    statusText: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number => {
    let all = headers ?? [];
    if (this.#pendingHeaders !== null) {
      all = headers ? this.#pendingHeaders.concat(headers) : this.#pendingHeaders;
      this.#pendingHeaders = null;
    }
    if (this.#responseDone) return 2; // a message after the final response: stop right there
    if (status < 200) {
      if (status === 101 || upgrade) {
        this.#fail(new UpstreamError('BAD_RESPONSE', 'upstream switched protocols on a request that did not ask to'));
        return 1;
      }
      this.#interim = true; // 100/102/103: wait for the final response
      return 1;
    }
    const framing = framingOf(all);
    // RFC 9112 §6.3 rule 3: Transfer-Encoding overrides Content-Length, and such a message
    // "ought to be handled as an error": read it, then close the connection.
    this.#keepAlive = keepAlive && framing !== TE_AND_CL;
    this.#sink?.onHeaders(status, statusText, all);
    // 2: the parser treats the message as body-less and stops right after the head, so
    // execute() returns where the response ends (the parser's own "skip body", 1, would go
    // on parsing whatever follows as a next response).
    if (this.#skipBody || status === 204 || status === 304 || framing === 0) {
      // A response that has no body but announces one (a HEAD's Content-Length is the GET's):
      // some servers send it all the same, gunicorn in a second write that can arrive after the
      // connection went to the next request, as that request's response. Not reused then.
      if (framing !== 0 && framing !== NO_LENGTH) this.#keepAlive = false;
      this.#ends = ENDS_AT_STOP;
      return 2;
    }
    if (framing > 0) {
      // #onData passes the Content-Length body on by itself.
      this.#bodyLeft = framing;
      this.#bypass = true;
      return 2;
    }
    // Transfer-Encoding: chunked is read by the parser; any other ends with the connection.
    if (framing !== NO_LENGTH) this.#ends = ENDS_CHUNKED;
    return 0;
  };

  readonly #onBody = (chunk: Buffer): void => {
    if (this.#sink !== null && !this.#sink.onData(chunk)) this.socket.pause();
  };

  readonly #onMessageComplete = (): void => {
    if (this.#interim) {
      this.#interim = false;
      return;
    }
    if (this.#bypass || this.#responseDone) return; // the body is still to come, outside the parser
    this.#complete();
  };

  /** The response is complete: the sink hears it now; #settle decides the connection's fate. */
  #complete(): void {
    const sink = this.#sink;
    this.#sink = null;
    this.#responseDone = true;
    sink?.onEnd();
  }

  readonly #onTimeout = (): void => {
    if (this.#state !== 'busy' || this.#sink === null) return this.destroy(); // idle keep-alive connection expired
    if (!this.#connected) return this.#fail(new UpstreamError('CONNECT_TIMEOUT', 'connect timeout'));
    this.#fail(
      new UpstreamError(
        'READ_TIMEOUT',
        this.#responseStarted ? 'upstream body stalled longer than read_timeout' : 'upstream sent no response headers within read_timeout',
      ),
    );
  };

  readonly #onEnd = (): void => {
    // A body delimited by the connection closing ends here (and the connection with it).
    if (this.#sink !== null && this.#responseStarted) this.#parser.finish();
    if (this.#sink !== null) this.#fail(new UpstreamError('CLOSED', 'connection closed by upstream before the response was complete'));
    else this.destroy();
  };

  readonly #onSocketError = (err: Error & { code?: string }): void => {
    this.#fail(new UpstreamError(err.code ?? 'SOCKET', err.message));
  };

  readonly #onClose = (): void => {
    if (this.#sink !== null) this.#fail(new UpstreamError('CLOSED', 'connection closed by upstream'));
    else this.destroy();
  };
}

/** Streams a request body to the upstream socket, pausing the client when the socket is full. */
class BodyPump {
  done = false;
  touched = false;

  constructor(
    readonly body: Readable,
    readonly socket: Socket,
    readonly chunked: boolean,
    readonly conn: UpstreamConnection,
  ) {
    body.on('data', this.#onData);
    body.on('end', this.#onEnd);
    body.on('error', this.#onError);
    body.on('aborted', this.#onError);
    socket.on('drain', this.#onDrain);
    body.resume(); // a body a failed attempt paused flows again for this one
  }

  stop(): void {
    // Paused, not left flowing: a body no one has read yet keeps its bytes for the next try.
    if (!this.done) this.body.pause();
    this.body.off('data', this.#onData);
    this.body.off('end', this.#onEnd);
    this.body.off('aborted', this.#onError);
    // The 'error' listener stays: a client stream erroring later must not become uncaught.
    this.socket.off('drain', this.#onDrain);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.touched = true;
    let ok: boolean;
    if (this.chunked) {
      this.socket.cork();
      this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      this.socket.write(chunk);
      ok = this.socket.write('\r\n', 'latin1');
      this.socket.uncork();
    } else {
      ok = this.socket.write(chunk);
    }
    if (!ok) this.body.pause();
  };

  readonly #onDrain = (): void => {
    this.body.resume();
  };

  readonly #onEnd = (): void => {
    if (this.chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.done = true;
    this.stop();
  };

  readonly #onError = (): void => {
    // The client's body broke off: the upstream request cannot be completed.
    this.stop();
    this.conn.abortFromBody();
  };
}

/** #ends: the parser stopped right after a body-less response (onHeadersComplete returned 2). */
const ENDS_AT_STOP = 0;
/** #ends: a chunked body, read by the parser to its last chunk. */
const ENDS_CHUNKED = 1;
/** #ends: anything else (a body read until the connection closes). */
const ENDS_UNKNOWN = 2;

/** The last four bytes of a chunked message (RFC 9112 §7.1): the CRLF ending the last chunk or trailer, and the empty line. */
const CHUNKED_END = 4;

/**
 * The number of CR and LF bytes `data` ends with, plus `before` (the same count for the bytes
 * before it) when it has nothing else. A chunked message ends with exactly CHUNKED_END of them
 * (a chunk-size, extension or trailer byte precedes them), so more means empty lines after it.
 */
function crlfTail(data: Buffer, before: number): number {
  for (let i = data.length - 1; i >= 0; i--) {
    const c = data[i]!;
    if (c !== 13 && c !== 10) return data.length - 1 - i;
  }
  return before + data.length;
}
