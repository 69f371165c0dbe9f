/**
 * send_timeout as nginx defines it: armed only while a write is waiting for the client to
 * take bytes, never for the whole response, so a long download or an idle event stream is
 * fine and a client that stopped reading is disconnected.
 */
import type { ResponseWriter } from '../http/response-writer.js';

export class SendTimer {
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly res: ResponseWriter,
    readonly ms: number,
  ) {}

  arm(): void {
    if (this.ms <= 0 || this.#timer !== null) return;
    this.#timer = setTimeout(this.#expire, this.ms);
    this.#timer.unref();
  }

  disarm(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  readonly #expire = (): void => {
    this.#timer = null;
    // The access log reports it as a client abort (499): the client stopped reading.
    this.res.destroy();
  };
}
