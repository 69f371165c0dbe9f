/**
 * `limit_rate` (nginx's limit_rate, limit_rate_after and `set $limit_rate`,
 * https://nginx.org/en/docs/http/ngx_http_core_module.html#limit_rate): a response's body
 * leaves at no more than `rate` bytes per second once its first `after` bytes have gone. The
 * allowance grows as nginx's write filter computes it (ngx_http_write_filter:
 * rate * (seconds since the start + 1) - (bytes sent - after): the first second's worth at once).
 *
 * What is over the allowance is held here and write() says "full" until it has gone, so a
 * handler that keeps to backpressure waits as it waits for a slow client: the relay reads a
 * proxied response on into the spool at the upstream's pace (as nginx's proxy_buffering
 * does) while the client gets it at the rate; a body written in one piece (respond, an error
 * page) is let out piece by piece. A rate of 0 is no limit: the request gets no wrapper.
 */
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { FilterWriter, type ResponseFilter } from './filter.js';

/** The route's rate and allowance, in bytes (compile/limit-rate.ts: sizes or templates). */
export interface LimitRatePolicy {
  /** Bytes per second; 0: no limit. A `set` step's value (ex.limitRate) comes first. */
  rate(ex: Exchange): number;
  /** Bytes sent before the limit applies. */
  after(ex: Exchange): number;
}

/** Pieces let out per second at most: the held bytes go in tenths of the rate. */
const STEPS_PER_SECOND = 10;

class LimitRateWriter extends FilterWriter {
  readonly #rate: number;
  readonly #after: number;
  readonly #start = Date.now();
  /** Body bytes handed on so far. */
  #sent = 0;
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** end() was called while bytes were held: the end goes after them. */
  #ending = false;
  #timer: NodeJS.Timeout | null = null;
  /** Waiting for the client to take what was handed on (the inner writer's drain). */
  #waitingInner = false;
  #drains: (() => void)[] | null = null;

  constructor(inner: ResponseWriter, rate: number, after: number) {
    super(inner);
    this.#rate = rate;
    this.#after = after;
    inner.onClose(this.#stop);
  }

  override get ended(): boolean {
    return this.#ending || this.inner.ended;
  }

  override get writableLength(): number {
    return this.inner.writableLength + this.#heldBytes;
  }

  override write(chunk: Buffer): boolean {
    if (this.#heldBytes > 0) {
      this.#hold(chunk);
      return false;
    }
    const rest = this.#pass(chunk);
    if (rest === null) return this.inner.write(chunk);
    this.#hold(rest);
    this.#schedule();
    return false;
  }

  override end(chunk?: Buffer | string): void {
    const body = chunk === undefined || chunk.length === 0 ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.#heldBytes === 0) {
      const rest = body === undefined ? null : this.#pass(body);
      if (rest === null) return this.inner.end(body);
      this.#hold(rest);
      this.#ending = true;
      this.#schedule();
      return;
    }
    if (body !== undefined) this.#hold(body);
    this.#ending = true;
  }

  override onDrain(fn: () => void): void {
    if (this.#heldBytes === 0 && !this.#ending) return this.inner.onDrain(fn);
    (this.#drains ??= []).push(fn);
  }

  override destroy(): void {
    this.#stop();
    this.inner.destroy();
  }

  /** What may go now. */
  #allowance(): number {
    const seconds = (Date.now() - this.#start) / 1000;
    return this.#after + Math.floor(this.#rate * (seconds + 1)) - this.#sent;
  }

  /**
   * Hands on as much of `chunk` as the allowance lets go: null when that is all of it (the
   * caller writes it), else what is left over (the part that fits was written).
   */
  #pass(chunk: Buffer): Buffer | null {
    const allowed = this.#allowance();
    if (chunk.length <= allowed) {
      this.#sent += chunk.length;
      return null;
    }
    if (allowed <= 0) return chunk;
    this.#sent += allowed;
    this.inner.write(chunk.subarray(0, allowed));
    return chunk.subarray(allowed);
  }

  #hold(chunk: Buffer): void {
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
  }

  /** Lets the held bytes out when the allowance has grown by a step (or all of them). */
  #schedule(): void {
    if (this.#timer !== null || this.#waitingInner) return;
    const want = Math.min(this.#heldBytes, Math.max(1, Math.ceil(this.#rate / STEPS_PER_SECOND)));
    const delay = Math.max(1, Math.ceil(((want - this.#allowance()) * 1000) / this.#rate));
    this.#timer = setTimeout(this.#pump, delay);
  }

  readonly #pump = (): void => {
    this.#timer = null;
    this.#waitingInner = false;
    let allowed = this.#allowance();
    while (this.#heldBytes > 0 && allowed > 0) {
      let piece = this.#held[0]!;
      if (piece.length > allowed) {
        this.#held[0] = piece.subarray(allowed);
        piece = piece.subarray(0, allowed);
      } else this.#held.shift();
      this.#heldBytes -= piece.length;
      this.#sent += piece.length;
      allowed -= piece.length;
      if (this.#heldBytes === 0 && this.#ending) return this.inner.end(piece);
      if (!this.inner.write(piece)) {
        // The client is slower than the rate: go on once it took this.
        this.#waitingInner = true;
        this.inner.onDrain(this.#pump);
        return;
      }
    }
    if (this.#heldBytes > 0) return this.#schedule();
    if (this.#ending) return this.inner.end();
    const drains = this.#drains;
    this.#drains = null;
    if (drains !== null) for (const fn of drains) fn();
  };

  /** The response is over (finished, or the client gone): nothing more goes out. */
  readonly #stop = (): void => {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#held = [];
    this.#heldBytes = 0;
    this.#drains = null;
  };
}

/** The route's limit as a filter; a request whose rate comes out 0 is left unwrapped. */
export function limitRateFilter(policy: LimitRatePolicy): ResponseFilter {
  return (inner, ex) => {
    // A `set` step's rate wins; the route's is read here (nginx reads it in its write filter,
    // so $limit_rate in the head is 0 unless a `set` gave one, as here).
    const rate = ex.limitRate >= 0 ? ex.limitRate : policy.rate(ex);
    if (rate <= 0) return inner;
    return new LimitRateWriter(inner, rate, policy.after(ex));
  };
}
