/**
 * The one way a response leaves Portico. Handlers, the relay, files, guards, error pages and
 * the tunnel's answers write through a ResponseWriter; a route's response filters
 * (src/filters/) wrap it, as Caddy's ResponseWriterWrapper wraps http.ResponseWriter.
 * Bindings, each a WriterBase:
 *  - node's HTTP/1.1 ServerResponse and HTTP/2 compatibility response (node-writers.ts),
 *  - the lean HTTP/1.1 path's response (src/server/lean/lean-response.ts),
 *  - the raw socket of an Upgrade request (socket-writer.ts).
 *
 * A head is a status, a reason ('' for the standard one) and a flat [name, value, ...] list.
 * writeHead checks it by the serializer's rules (head.ts) and throws a HeadError before
 * anything is written or changed when it refuses it. The body goes with backpressure: write()
 * returns false when the transport's buffer is full, and onDrain() says when to go on.
 *
 * What every binding shares is counted here, once: the status written (for the access log),
 * the body bytes sent (nginx's $body_bytes_sent: none for HEAD, 1xx, 204, 304), and the end
 * of the response (onClose: finished, or the client gone), which is how every part of a
 * request learns to stop its work.
 */

export interface ResponseWriter {
  /** The status written (200 until a head is). */
  readonly status: number;
  readonly headersSent: boolean;
  /** end() was called. */
  readonly ended: boolean;
  /** Every byte was handed to the transport: the response is complete. */
  readonly finished: boolean;
  /** Destroyed, or the client went away. */
  readonly destroyed: boolean;
  /** Body bytes written (what the access log reports). */
  readonly bytesSent: number;
  /** Bytes written that the transport has not taken yet. */
  readonly writableLength: number;

  /** Throws a HeadError (head.ts), with nothing written, for a head the serializer refuses. */
  writeHead(status: number, reason: string, headers: string[]): void;
  /** false: the transport's buffer is full; more may still be written, onDrain says when it emptied. */
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): void;
  /** Sends the head now rather than with the first body bytes (streams, server-sent events). */
  flush(): void;
  destroy(): void;
  /** `100 Continue`, for a request that sent `Expect: 100-continue` (HTTP/1.1). */
  writeContinue(): void;
  /** The connection closes after this response (HTTP/1; a no-op on HTTP/2 and upgrade sockets). */
  closeConnection(): void;
  /** Calls `fn` once, the next time the transport's buffer empties. */
  onDrain(fn: () => void): void;
  /** Calls `fn` once when the response is over: finished, or the client gone. Not after that. */
  onClose(fn: () => void): void;
  offClose(fn: () => void): void;
}

type Listeners = (() => void) | (() => void)[] | null;

function add(list: Listeners, fn: () => void): Listeners {
  if (list === null) return fn;
  if (typeof list === 'function') return [list, fn];
  list.push(fn);
  return list;
}

function remove(list: Listeners, fn: () => void): Listeners {
  if (list === fn) return null;
  if (Array.isArray(list)) {
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }
  return list;
}

function run(list: Listeners): void {
  if (typeof list === 'function') list();
  else if (list !== null) for (const fn of list.slice()) fn();
}

/** Where a binding keeps what every response counts (see the top of the file). */
export abstract class WriterBase implements ResponseWriter {
  #status = 200;
  #bytes = 0;
  /** A body may be sent: not HEAD, not 1xx, 204 or 304 (RFC 9110 §6.4.1). */
  #body: boolean;
  #closed = false;
  #closeListeners: Listeners = null;
  #drainListeners: Listeners = null;
  #watchingDrain = false;

  constructor(isHead: boolean) {
    this.#body = !isHead;
  }

  abstract readonly headersSent: boolean;
  abstract readonly ended: boolean;
  abstract readonly finished: boolean;
  abstract readonly destroyed: boolean;
  abstract readonly writableLength: number;
  /** The binding's head; throws before changing anything (see ResponseWriter.writeHead). */
  protected abstract sendHead(status: number, reason: string, headers: string[]): void;
  protected abstract sendBody(chunk: Buffer): boolean;
  protected abstract sendEnd(chunk: Buffer | string | undefined): void;
  /** The binding starts reporting its drains (drained()), once, when someone first waits for one. */
  protected abstract watchDrain(): void;
  abstract flush(): void;
  abstract destroy(): void;
  abstract writeContinue(): void;
  abstract closeConnection(): void;

  get status(): number {
    return this.#status;
  }

  get bytesSent(): number {
    return this.#bytes;
  }

  writeHead(status: number, reason: string, headers: string[]): void {
    this.sendHead(status, reason, headers);
    this.#status = status;
    if (status < 200 || status === 204 || status === 304) this.#body = false;
  }

  write(chunk: Buffer): boolean {
    if (this.#body) this.#bytes += chunk.length;
    return this.sendBody(chunk);
  }

  end(chunk?: Buffer | string): void {
    if (chunk !== undefined && this.#body) this.#bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    this.sendEnd(chunk);
  }

  onDrain(fn: () => void): void {
    if (!this.#watchingDrain) {
      this.#watchingDrain = true;
      this.watchDrain();
    }
    this.#drainListeners = add(this.#drainListeners, fn);
  }

  onClose(fn: () => void): void {
    if (!this.#closed) this.#closeListeners = add(this.#closeListeners, fn);
  }

  offClose(fn: () => void): void {
    this.#closeListeners = remove(this.#closeListeners, fn);
  }

  /** The binding's transport took every byte it had: run (and forget) the drain listeners. */
  protected drained(): void {
    const listeners = this.#drainListeners;
    if (listeners === null) return;
    this.#drainListeners = null;
    run(listeners);
  }

  /** The binding's response is over (finished or aborted): run the close listeners, once. */
  protected closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const listeners = this.#closeListeners;
    this.#closeListeners = null;
    run(listeners);
  }
}
