/**
 * Response buffering (nginx proxy_buffering on), engaged only when it matters: while the
 * client keeps up, the relay writes straight through and nothing here runs. When the client
 * falls behind, the relay lets node's write buffer hold up to `memory_limit`; past that, the
 * rest of the response goes into a Spool on a private temp file that the upstream fills as
 * fast as it sends, so the upstream connection — a gunicorn sync worker — is released as soon
 * as the response is complete, while the spool drains to the client at the client's pace.
 * Past `max_temp_file_size` on disk, or past the process's or the client connection's share of
 * `temp_files` (spool-budget.ts), the upstream is paused and the response goes at the client's
 * pace, as with buffering off (nginx passes the rest synchronously too).
 *
 * Never for streams: text/event-stream, `X-Accel-Buffering: no` (nginx's switch), and
 * WebSockets (tunnelled elsewhere) are relayed with backpressure instead.
 */
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { Spool } from './spool.js';
import type { SpoolBudget } from './spool-budget.js';
import { SendTimer } from '../limits/send-timer.js';

export interface ResponseBufferingOptions {
  memory: number;
  maxTempFileSize: number;
  /** The process's temp-file budget; this response counts against its client connection's share. */
  budget: SpoolBudget;
}

/** Whether a response with these upstream headers may be buffered. */
export function bufferable(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 12 && name.toLowerCase() === 'content-type') {
      if (/^\s*text\/event-stream/i.test(rawHeaders[i + 1]!)) return false;
    } else if (name.length === 17 && name.toLowerCase() === 'x-accel-buffering') {
      if (rawHeaders[i + 1]!.trim().toLowerCase() === 'no') return false;
    }
  }
  return true;
}

/**
 * Takes over a response whose client socket is full: push() the remaining upstream chunks,
 * end() when the upstream is done. Writes to the client as it drains, then ends the response.
 */
export class ResponseBuffer {
  readonly #spool: Spool;
  readonly #res: ResponseWriter;
  readonly #timer: SendTimer;

  constructor(ex: Exchange, opts: ResponseBufferingOptions, sendTimeout: number, onSpace: () => void) {
    this.#res = ex.writer;
    // memory_limit is already held in node's write buffer (proxy/slow-client.ts): the rest goes to disk.
    this.#spool = new Spool({ memory: 0, file: opts.maxTempFileSize, budget: opts.budget, account: opts.budget.accountOf(ex.connection) });
    this.#spool.onSpace = onSpace;
    this.#timer = new SendTimer(ex.writer, sendTimeout);
    this.#res.onClose(this.destroy);
    this.#res.onDrain(this.#onDrain);
    this.#timer.arm();
  }

  /** false: the backlog is full, pause the upstream until onSpace. */
  push(chunk: Buffer): boolean {
    const ok = this.#spool.push(chunk);
    if (this.#spool.error) this.#failDisk();
    return ok;
  }

  /** The upstream is done; the read waiting in #pump (if any) sees the end. */
  end(): void {
    this.#spool.end();
  }

  readonly destroy = (): void => {
    this.#timer.disarm();
    this.#spool.destroy();
  };

  readonly #onDrain = (): void => {
    this.#timer.disarm();
    this.#pump();
  };

  /** One read at a time: after a chunk is written the next is read, or 'drain' is awaited. */
  #pump(): void {
    this.#spool.read(this.#onChunk);
  }

  readonly #onChunk = (err: Error | null, chunk: Buffer | null): void => {
    const res = this.#res;
    if (res.destroyed) return;
    if (err) {
      if (this.#spool.error) this.#failDisk();
      return;
    }
    if (chunk === null) {
      this.destroy();
      res.end();
      return;
    }
    if (res.write(chunk)) return this.#pump();
    res.onDrain(this.#onDrain);
    this.#timer.arm();
  };

  #failDisk(): void {
    // Cannot keep the rest: the client gets a truncated response, as for an upstream failure.
    this.destroy();
    this.#res.destroy();
  }
}
