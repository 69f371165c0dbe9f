/**
 * The response side of the lean HTTP/2 path (lean-h2.ts): a ResponseWriter on node's
 * ServerHttp2Stream itself, without the compatibility response (Http2ServerResponse), which
 * stores every field again one by one (each validated and lower-cased a second time) before
 * handing node's stream the same header object.
 *
 * As NodeH2Writer (src/http/node-writers.ts): the head is checked by the one head serializer's
 * rules (head.ts) first; the reason phrase and connection-specific fields go (RFC 9113 §8.3.2,
 * §8.2.2); repeated fields (Set-Cookie) are sent as repeated fields; node adds Date and ends the
 * stream after the head of a HEAD request, a 204, a 205 or a 304; a response given up is reset
 * with INTERNAL_ERROR, never ended (RFC 9113 §8.1).
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { checkFields, checkStatus } from '../../http/head.js';
import { WriterBase } from '../../http/response-writer.js';

/** The error a given-up stream is destroyed with: node resets it with INTERNAL_ERROR (RFC 9113 §8.1). */
const GIVEN_UP = Object.assign(new Error('response given up'), { code: 'ERR_RESPONSE_GIVEN_UP' });

/** Lower-case names of the connection-specific fields (RFC 9113 §8.2.2) by length, for one compare each. */
const FORBIDDEN = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];
const FORBIDDEN_LENGTH: readonly boolean[] = Array.from({ length: 32 }, (_, n) => FORBIDDEN.some((f) => f.length === n));

const noop = (): void => {};
const END_STREAM = { endStream: true };
export class LeanH2Response extends WriterBase {
  #head: OutgoingHttpHeaders | null = null;
  #hasBody: boolean;
  #ended = false;
  /** destroy() was called: the stream is being reset, nothing more goes out. */
  #gone = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    isHead: boolean,
  ) {
    super(isHead);
    this.#hasBody = !isHead;
    // A reset stream emits 'error'; its 'close' tells the rest (node's compatibility request
    // swallows it the same way).
    stream.on('error', noop);
    stream.once('close', this.#onClose);
  }

  readonly #onClose = (): void => this.closed();
  readonly #onDrain = (): void => this.drained();

  get headersSent(): boolean {
    return this.#head !== null;
  }

  /** Our own: node ends the writable side of a HEAD request's stream before anything is sent. */
  get ended(): boolean {
    return this.#ended;
  }

  get finished(): boolean {
    return this.#ended && this.stream.headersSent && this.stream.writableFinished;
  }

  get destroyed(): boolean {
    return this.#gone || this.stream.destroyed;
  }

  get writableLength(): number {
    return this.stream.writableLength;
  }

  protected sendHead(status: number, _reason: string, headers: string[]): void {
    if (this.#head !== null) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP2_HEADERS_SENT' });
    checkStatus(status, '');
    checkFields(headers);
    const head: OutgoingHttpHeaders = { ':status': status };
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (FORBIDDEN_LENGTH[name.length] === true && FORBIDDEN.includes(name.toLowerCase())) continue;
      const key = name.toLowerCase();
      const value = headers[i + 1]!;
      const seen = head[key];
      if (seen === undefined) head[key] = value;
      else if (Array.isArray(seen)) seen.push(value);
      else head[key] = [seen as string, value];
    }
    if (status === 204 || status === 205 || status === 304 || status < 200) this.#hasBody = false;
    this.#head = head;
  }

  #respond(endStream: boolean): void {
    if (this.#head === null) this.writeHead(this.status, '', []);
    const stream = this.stream;
    if (stream.headersSent || stream.destroyed || stream.closed) return;
    stream.respond(this.#head!, endStream ? END_STREAM : undefined);
  }

  protected sendBody(chunk: Buffer): boolean {
    if (this.#ended || this.destroyed) return false;
    this.#respond(false);
    if (!this.#hasBody || chunk.length === 0) return true;
    if (this.stream.writableEnded) return false;
    return this.stream.write(chunk);
  }

  protected sendEnd(chunk: Buffer | string | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    const stream = this.stream;
    if (this.destroyed) return;
    const data = chunk === undefined || !this.#hasBody ? undefined : chunk;
    const empty = data === undefined || data.length === 0;
    if (!stream.headersSent) this.#respond(empty);
    // node ended the writable side already for a HEAD request, and with the head of a 204,
    // 205 or 304.
    if (stream.writableEnded) return;
    if (empty) stream.end();
    else stream.end(data);
  }

  protected watchDrain(): void {
    this.stream.on('drain', this.#onDrain);
  }

  flush(): void {
    if (!this.destroyed) this.#respond(false);
  }

  /**
   * Resets this stream only, with INTERNAL_ERROR: destroy() given an error sends RST_STREAM and
   * nothing else. (close(code) would first end the writable side, and as the request side has
   * ended too the client would read END_STREAM, a complete response, before the reset; the
   * compatibility response avoids that by holding END_STREAM back for trailers.)
   */
  destroy(): void {
    this.#gone = true;
    if (!this.stream.destroyed) this.stream.destroy(GIVEN_UP);
  }

  writeContinue(): void {
    if (!this.destroyed && !this.stream.headersSent) this.stream.additionalHeaders({ ':status': 100 });
  }

  /** An HTTP/2 stream's end closes nothing else. */
  closeConnection(): void {}
}

