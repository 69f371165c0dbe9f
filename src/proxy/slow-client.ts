/**
 * A proxied response whose client reads slower than the upstream sends. While the client
 * keeps up the relay writes straight through and none of this exists; the first write that
 * finds the client's socket full makes one (per response):
 *  - a bufferable response (buffering.response, not a stream: response-buffer.ts) may let
 *    node's write buffer hold up to memory_limit, then goes on into a temp-file spool that the
 *    upstream fills at its own pace, so the upstream connection is released early;
 *  - anything else is relayed with backpressure: past STREAM_BACKLOG pending bytes the
 *    upstream socket is paused until the client's drains, and send_timeout runs meanwhile
 *    (nginx's definition: only while a write waits, never for the whole response).
 */
import type { Exchange } from '../http/exchange.js';
import { ResponseBuffer } from '../buffering/response-buffer.js';
import { SendTimer } from '../limits/send-timer.js';
import type { ResponseBufferingOptions } from '../buffering/response-buffer.js';

/** Unbuffered responses: bytes the client's socket may have pending before the upstream is paused. */
const STREAM_BACKLOG = 64 * 1024;

/** Per route, compiled once. */
export interface SlowClientOptions {
  /** null: the response is relayed with backpressure only (buffering.response: false). */
  readonly buffering: ResponseBufferingOptions | null;
  /** send_timeout, armed while the client's socket is full. */
  readonly sendTimeout: number;
}

export class SlowClient {
  #buffer: ResponseBuffer | null = null;
  #timer: SendTimer | null = null;

  constructor(
    readonly ex: Exchange,
    readonly options: SlowClientOptions,
    /** The response may be spooled (buffering/response-buffer.ts: bufferable). */
    readonly bufferable: boolean,
    /** Resumes the upstream socket. */
    readonly resume: () => void,
  ) {}

  /** The rest of the response goes through the spool. */
  get buffering(): boolean {
    return this.#buffer !== null;
  }

  /** A chunk for the spool; false: it is full, pause the upstream until `resume`. */
  push(chunk: Buffer): boolean {
    return this.#buffer!.push(chunk);
  }

  /**
   * write() returned false for `chunk`, with `backlog` bytes already pending before it (what
   * the kernel has not taken of earlier chunks: write()'s own answer says little, as node's
   * http corks the socket until the next tick, so a 64 KiB chunk makes it false even when the
   * kernel then takes every byte). False: pause the upstream until `resume`.
   */
  full(chunk: Buffer, backlog: number): boolean {
    const buffering = this.options.buffering;
    if (buffering !== null && this.bufferable) {
      // Up to memory_limit, node's own write buffer holds the backlog: a client that is merely
      // a moment behind drains it at once and no disk is touched. Beyond it, spool to disk.
      if (backlog + chunk.length <= buffering.memory) return true;
      this.#buffer = new ResponseBuffer(this.ex, buffering, this.options.sendTimeout, this.resume);
      return true;
    }
    if (backlog + chunk.length <= STREAM_BACKLOG) return true;
    this.ex.writer.onDrain(this.#drained);
    (this.#timer ??= new SendTimer(this.ex.writer, this.options.sendTimeout)).arm();
    return false;
  }

  /** The upstream is done: the spool drains the rest, or the response ends now. */
  end(): void {
    if (this.#buffer !== null) this.#buffer.end();
    else this.ex.writer.end();
  }

  /** The response failed: nothing more is written. */
  destroy(): void {
    this.#timer?.disarm();
    this.#buffer?.destroy();
  }

  readonly #drained = (): void => {
    this.#timer?.disarm();
    this.resume();
  };
}
