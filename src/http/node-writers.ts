/**
 * ResponseWriter bindings for node's own responses: the HTTP/1.1 ServerResponse and the
 * HTTP/2 compatibility response (the HTTP/2 side of a TLS listener). The protocol is chosen
 * once per node server, so no request checks which one it is on.
 *
 * Every head is checked by the one head serializer's rules (head.ts) before node sees it, and
 * refused with a HeadError: node's writeHead would throw ERR_INVALID_CHAR halfway, with the
 * response's status already changed (a fallback 500 then went out as "500 Found"), and node's
 * HTTP/2 writeHead does not check values at all (a header holding CR LF went missing without
 * an error).
 *
 * HTTP/2 has no reason phrase (RFC 9113 §8.3.2; node warns when given one) and forbids
 * connection-specific headers (RFC 9113 §8.2.2; node throws on them): they are dropped here,
 * which is what they mean anyway on a multiplexed connection. Everything else (order,
 * repeated Set-Cookie) passes through node's flat-array writeHead as on HTTP/1.1.
 */
import type { ServerResponse } from 'node:http';
import { constants as h2constants, type Http2ServerResponse } from 'node:http2';
import { checkFields, checkStatus } from './head.js';
import { WriterBase } from './response-writer.js';

export class NodeH1Writer extends WriterBase {
  constructor(
    readonly res: ServerResponse,
    isHead: boolean,
  ) {
    super(isHead);
    res.once('close', this.#onClose);
  }

  readonly #onClose = (): void => this.closed();
  readonly #onDrain = (): void => this.drained();

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get ended(): boolean {
    return this.res.writableEnded;
  }

  get finished(): boolean {
    return this.res.writableFinished;
  }

  get destroyed(): boolean {
    return this.res.destroyed;
  }

  get writableLength(): number {
    return this.res.writableLength;
  }

  protected sendHead(status: number, reason: string, headers: string[]): void {
    checkStatus(status, reason);
    checkFields(headers);
    if (reason) this.res.writeHead(status, reason, headers);
    else this.res.writeHead(status, headers);
  }

  protected sendBody(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  protected sendEnd(chunk: Buffer | string | undefined): void {
    if (chunk === undefined) this.res.end();
    else this.res.end(chunk);
  }

  protected watchDrain(): void {
    this.res.on('drain', this.#onDrain);
  }

  flush(): void {
    this.res.flushHeaders();
  }

  destroy(): void {
    this.res.destroy();
  }

  writeContinue(): void {
    this.res.writeContinue();
  }

  closeConnection(): void {
    this.res.shouldKeepAlive = false;
  }
}

const { NGHTTP2_INTERNAL_ERROR } = h2constants;

const H2_FORBIDDEN: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

declare module 'http2' {
  // What node's compatibility response does (lib/internal/http2/compat.js) and @types/node
  // does not list: writeHead takes a flat [name, value, ...] list as ServerResponse.writeHead
  // does, and flushHeaders sends the head now.
  interface Http2ServerResponse<Request extends Http2ServerRequest = Http2ServerRequest> {
    writeHead(statusCode: number, headers: string[]): this;
    flushHeaders(): void;
  }
}

export class NodeH2Writer extends WriterBase {
  constructor(
    readonly res: Http2ServerResponse,
    isHead: boolean,
  ) {
    super(isHead);
    res.once('close', this.#onClose);
  }

  readonly #onClose = (): void => this.closed();
  readonly #onDrain = (): void => this.drained();

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get ended(): boolean {
    return this.res.writableEnded;
  }

  get finished(): boolean {
    return this.res.writableFinished;
  }

  /** The compatibility response has no `destroyed` of its own: its stream's. */
  get destroyed(): boolean {
    return this.res.stream.destroyed;
  }

  get writableLength(): number {
    return this.res.writableLength;
  }

  protected sendHead(status: number, _reason: string, headers: string[]): void {
    let clean = headers;
    for (let i = 0; i < headers.length; i += 2) {
      if (H2_FORBIDDEN.has(headers[i]!.toLowerCase())) {
        clean = [];
        for (let j = 0; j < headers.length; j += 2) if (!H2_FORBIDDEN.has(headers[j]!.toLowerCase())) clean.push(headers[j]!, headers[j + 1]!);
        break;
      }
    }
    checkStatus(status, '');
    checkFields(clean);
    this.res.writeHead(status, clean);
  }

  protected sendBody(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  protected sendEnd(chunk: Buffer | string | undefined): void {
    if (chunk === undefined) this.res.end();
    else this.res.end(chunk);
  }

  protected watchDrain(): void {
    this.res.on('drain', this.#onDrain);
  }

  flush(): void {
    this.res.flushHeaders();
  }

  /**
   * Resets this stream only; the session carries other requests. A response Portico gives up
   * (an upstream that broke off, send_timeout) is reset with INTERNAL_ERROR (RFC 9113 §8.1, as
   * nginx does): node's own destroy() resets with NO_ERROR, which a client reads as the end
   * of a complete response when it has no Content-Length to compare (a compressed one).
   */
  destroy(): void {
    const stream = this.res.stream;
    if (!stream.destroyed && !stream.closed) stream.close(NGHTTP2_INTERNAL_ERROR);
    else this.res.destroy();
  }

  writeContinue(): void {
    this.res.writeContinue();
  }

  /** An HTTP/2 stream's end closes nothing else. */
  closeConnection(): void {}
}
