/**
 * One keep-alive HTTP/1.1 connection to an upstream, parsing responses with node's native
 * llhttp. It carries one request at a time (no pipelining): writes the head in one syscall,
 * streams the body with backpressure (chunked when its length is unknown), and hands the
 * response to a ResponseSink as it is parsed, pausing the socket when the sink is full.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Transport } from '../transport.js';
import { closeParserLater, createParser, type NodeHttpParser } from './http-parser.js';
import { REQUEST_HEAD_REFUSED, UpstreamError, type ResponseSink, type UpstreamExchangeControl, type UpstreamRequest } from './types.js';
import { requestHead } from '../../http/head.js';

export interface ConnectionOwner {
  /** The response is complete and the connection can carry another request. */
  release(conn: UpstreamConnection): void;
  /** The connection is gone (closed, failed, aborted). */
  forget(conn: UpstreamConnection): void;
}

const MAX_RESPONSE_HEADER_SIZE = 64 * 1024;
const TE_CHUNKED = 'Transfer-Encoding: chunked\r\n';

export class UpstreamConnection implements UpstreamExchangeControl {
  readonly socket: Socket;
  readonly #parser: NodeHttpParser;
  readonly #owner: ConnectionOwner;
  #connected = false;
  #destroyed = false;
  /** Requests completed on this connection; > 0 means the socket is being reused. */
  #served = 0;
  #sink: ResponseSink | null = null;
  #skipBody = false;
  #interim = false;
  #keepAlive = false;
  #responseStarted = false;
  #responseDone = false;
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

  constructor(transport: Transport, connectTimeout: number, idleTimeout: number, owner: ConnectionOwner) {
    this.#owner = owner;
    this.#idleTimeout = idleTimeout;
    this.#parser = createParser('response', MAX_RESPONSE_HEADER_SIZE, {
      onHeaders: this.#onHeaderChunk,
      onHeadersComplete: this.#onHeadersComplete,
      onBody: this.#onBody,
      onMessageComplete: this.#onMessageComplete,
    });
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
    return this.#destroyed;
  }

  send(req: UpstreamRequest, sink: ResponseSink): void {
    let head: string;
    try {
      head = requestHead(req.method, req.path, req.headers, req.body !== null && req.chunked ? TE_CHUNKED : '');
    } catch (err) {
      // Nothing was written: not the upstream's failure, and not one to retry (types.ts).
      this.destroy();
      sink.onError(new UpstreamError(REQUEST_HEAD_REFUSED, (err as Error).message), false);
      return;
    }
    this.#sink = sink;
    this.#skipBody = req.method === 'HEAD';
    this.#interim = false;
    this.#keepAlive = false;
    this.#responseStarted = false;
    this.#responseDone = false;
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
    if (req === null || this.#destroyed) return;
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
    if (!this.#destroyed) this.socket.resume();
  }

  abort(): void {
    this.#sink = null;
    this.destroy();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#body?.stop();
    this.socket.destroy();
    this.#owner.forget(this);
    closeParserLater(this.#parser);
  }

  /** The client's body broke off: this request can't be completed upstream. */
  abortFromBody(): void {
    this.#fail(new UpstreamError('CLIENT_BODY', 'client closed the connection while sending the request body'));
  }

  /** Body done and response done: back to the pool, or closed. */
  bodyFinished(): void {
    if (this.#responseDone) this.#recycle();
  }

  #recycle(): void {
    if (this.#destroyed) return;
    this.#body = null;
    this.#pendingBody = null;
    if (!this.#keepAlive) return this.destroy();
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
    if (this.#sink === null) {
      // Bytes nobody asked for on an idle connection: its framing can't be trusted.
      this.destroy();
      return;
    }
    this.#responseStarted = true;
    if (this.#bypass) return this.#deliver(data);
    const ret = this.#parser.execute(data);
    if (typeof ret !== 'number') {
      this.#fail(new UpstreamError('BAD_RESPONSE', `invalid response from upstream (${ret.code ?? ret.message})`));
    } else if (this.#bypass && ret < data.length) {
      this.#deliver(data.subarray(ret));
    }
  };

  /** A piece of a Content-Length body, straight from the socket. */
  #deliver(data: Buffer): void {
    let chunk = data;
    if (chunk.length > this.#bodyLeft) {
      // More bytes than announced: the upstream's framing is broken; don't reuse the socket.
      chunk = chunk.subarray(0, this.#bodyLeft);
      this.#keepAlive = false;
    }
    this.#bodyLeft -= chunk.length;
    const sink = this.#sink;
    if (sink !== null && !sink.onData(chunk) && !this.#destroyed) this.socket.pause();
    if (this.#bodyLeft === 0 && !this.#destroyed) {
      this.#bypass = false;
      this.#complete();
    }
  }

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
    if (status < 200) {
      if (status === 101 || upgrade) {
        this.#fail(new UpstreamError('BAD_RESPONSE', 'upstream switched protocols on a request that did not ask to'));
        return 1;
      }
      this.#interim = true; // 100/102/103: wait for the final response
      return 1;
    }
    this.#keepAlive = keepAlive;
    this.#sink?.onHeaders(status, statusText, all);
    if (this.#skipBody) return 1;
    if (status === 204 || status === 304) return 0;
    const length = contentLengthOnly(all);
    if (length > 0) {
      // 2: the parser treats the message as bodyless and stops right after the headers;
      // #onData passes the body on by itself.
      this.#bodyLeft = length;
      this.#bypass = true;
      return 2;
    }
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
    if (this.#bypass) return; // the body is still to come, outside the parser
    this.#complete();
  };

  #complete(): void {
    const sink = this.#sink;
    this.#sink = null;
    this.#responseDone = true;
    sink?.onEnd();
    // A response that arrives before its request body was sent (an early 413): the rest of
    // the body would be read as the next request, so the connection is not reused.
    if (this.#requestSent) this.#recycle();
    else this.destroy();
  }

  readonly #onTimeout = (): void => {
    if (this.#sink === null) return this.destroy(); // idle keep-alive connection expired
    if (!this.#connected) return this.#fail(new UpstreamError('CONNECT_TIMEOUT', 'connect timeout'));
    this.#fail(
      new UpstreamError(
        'READ_TIMEOUT',
        this.#responseStarted ? 'upstream body stalled longer than read_timeout' : 'upstream sent no response headers within read_timeout',
      ),
    );
  };

  readonly #onEnd = (): void => {
    // A body delimited by the connection closing ends here.
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
    this.conn.bodyFinished();
  };

  readonly #onError = (): void => {
    // The client's body broke off: the upstream request cannot be completed.
    this.stop();
    this.conn.abortFromBody();
  };
}

/**
 * The body length when the response is delimited by exactly one valid Content-Length and no
 * Transfer-Encoding (otherwise -1: the parser handles chunked, close-delimited and odd cases).
 */
function contentLengthOnly(headers: readonly string[]): number {
  let length = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (length >= 0) return -1;
      const value = headers[i + 1]!;
      if (!/^\d{1,15}$/.test(value)) return -1;
      length = Number(value);
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      return -1;
    }
  }
  return length;
}
