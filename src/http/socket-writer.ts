/**
 * The ResponseWriter of an Upgrade request once its handler owns the raw socket (node hands
 * it over detached from any response): the tunnel's 101 and its refusals, guards refusing a
 * handshake, an upstream's answer that declined the upgrade. Heads are written by the
 * serializer (head.ts) with the standard reason when none is given; every answer but a 101
 * ends the connection, so it says `Connection: close` (last, after the route's edits) and
 * end() half-closes the socket.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { responseHead } from './head.js';
import { WriterBase } from './response-writer.js';

export class SocketWriter extends WriterBase {
  #headersSent = false;
  #ended = false;
  #finished = false;

  constructor(readonly socket: Duplex) {
    super(false);
    socket.once('finish', this.#onFinish);
    socket.once('close', this.#onClose);
  }

  readonly #onFinish = (): void => {
    this.#finished = true;
  };

  readonly #onClose = (): void => this.closed();
  readonly #onDrain = (): void => this.drained();

  get headersSent(): boolean {
    return this.#headersSent;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get finished(): boolean {
    return this.#finished;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  protected sendHead(status: number, reason: string, headers: string[]): void {
    const fields = status === 101 ? headers : [...headers, 'Connection', 'close'];
    const head = responseHead(status, reason || STATUS_CODES[status] || '', fields);
    this.#headersSent = true;
    if (this.socket.writable) this.socket.write(head, 'latin1');
  }

  protected sendBody(chunk: Buffer): boolean {
    return this.socket.writable ? this.socket.write(chunk) : false;
  }

  protected sendEnd(chunk: Buffer | string | undefined): void {
    this.#ended = true;
    if (!this.socket.writable) return;
    if (chunk === undefined) this.socket.end();
    else this.socket.end(chunk);
  }

  protected watchDrain(): void {
    this.socket.on('drain', this.#onDrain);
  }

  /** The head went out when it was written. */
  flush(): void {}

  destroy(): void {
    this.socket.destroy();
  }

  /** An upgrade handshake has no body to wait for. */
  writeContinue(): void {}

  /** Every answer on an upgrade socket but a 101 closes it. */
  closeConnection(): void {}
}
