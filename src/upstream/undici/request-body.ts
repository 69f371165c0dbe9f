/**
 * The request body as undici reads it: a stream in front of the client's body, so that
 *  - nothing is taken from the client before undici writes the request on a connected socket
 *    (it reads the body only then): a request that could not connect goes to another server
 *    with its body intact, as with the h1 client's pending body;
 *  - `touched` says whether any byte was taken (a retry could not send it again);
 *  - undici destroying its body on a failure (as it does) destroys this stream only: the
 *    client's request stays open for its 502 and is merely paused, keeping its unread bytes.
 * Backpressure passes through: undici pauses this stream when the socket is full, and the
 * client's stream is paused while this one's buffer is full.
 */
import { Readable } from 'node:stream';
import { UpstreamError } from '../h1/types.js';

export class RequestBody extends Readable {
  /** Some of the body was taken from the client. */
  touched = false;
  /** The client's body ended and was handed on whole. */
  done = false;
  #attached = false;

  constructor(readonly source: Readable) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    const source = this.source;
    if (!this.#attached) {
      this.#attached = true;
      source.on('data', this.#onData);
      source.on('end', this.#onEnd);
      source.on('error', this.#onError);
      source.on('aborted', this.#onError);
    }
    source.resume(); // a body a failed attempt paused flows again for this one
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#detach();
    callback(err);
  }

  #detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    const source = this.source;
    // Paused, not left flowing: a body no one has read yet keeps its bytes for the next try.
    if (!this.done) source.pause();
    source.off('data', this.#onData);
    source.off('end', this.#onEnd);
    source.off('aborted', this.#onError);
    // The 'error' listener stays: a client stream erroring later must not become uncaught.
  }

  readonly #onData = (chunk: Buffer): void => {
    this.touched = true;
    if (!this.push(chunk)) this.source.pause();
  };

  readonly #onEnd = (): void => {
    this.done = true;
    this.#detach();
    this.push(null);
  };

  readonly #onError = (): void => {
    // The client's body broke off: the upstream request cannot be completed (undici aborts it
    // with this error, which the connection passes on as it is).
    this.#detach();
    this.destroy(new UpstreamError('CLIENT_BODY', 'client closed the connection while sending the request body'));
  };
}
