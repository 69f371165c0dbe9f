/**
 * `compress` (nginx gzip, Caddy encode): the response filter that compresses a route's
 * responses on the fly, in the compression slot of route-filters.ts (after response_headers,
 * so it judges the head the client gets). What is compressed and how the head changes:
 * compress-head.ts; the encoders and their memory: compress-codings.ts.
 *
 * The request's side is read once, when the filter wraps the writer: the coding this client
 * takes (Accept-Encoding through the route's memoized chooser), and the exclusions that
 * depend on the request only (HTTP version, User-Agent). Tunnels (an Upgrade request, CONNECT)
 * get no wrapper at all: what follows a 101 is not an HTTP body.
 *
 * The body goes through zlib's streaming API, whose work runs on libuv's threadpool, with
 * backpressure both ways:
 *  - toward the client: when the writer below refuses more (its transport is full), the
 *    encoder's output is paused; it stops compressing once its output buffer is full, and
 *    its input queue grows until write() answers false;
 *  - toward the handler: write() answers false once the encoder holds more than
 *    COMPRESS_AHEAD bytes of input not yet compressed, or the client is full, and onDrain()
 *    calls back when both have room again. Input waiting for the threadpool up to
 *    COMPRESS_AHEAD is work in progress, not a slow client: writableLength (what the proxy
 *    reads as the client's backlog, to decide whether to spool) counts only what is beyond it.
 * A HEAD gets the head a GET would (Content-Encoding, no Content-Length) and no encoder; a
 * 304 gets Vary and the weak ETag. end() ends the encoder; the response ends when its last
 * output has been written. A client that goes away destroys the encoder (its memory is freed
 * at once, not when it would have finished).
 */
import type { Transform } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { FilterWriter, type ResponseFilter } from './filter.js';
import { COMPRESS_AHEAD, createEncoder } from './compress-codings.js';
import { decideHead, type CompressPolicy, type RequestSide } from './compress-head.js';
import { metricsEnabled, recordCompression } from '../metrics/stats.js';

/** Encoders alive in this process (tests and diagnostics read it). */
export const compressStats = { live: 0, started: 0 };

class CompressWriter extends FilterWriter {
  #enc: Transform | null = null;
  #decided = false;
  #ended = false;
  /** The writer below refused more: the encoder's output is paused until it drains. */
  #blocked = false;
  #waiters: (() => void)[] | null = null;
  /** The coding in use, and the body bytes before and after it (metrics: per coding, at the end). */
  #coding = '';
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(
    inner: ResponseWriter,
    readonly ex: Exchange,
    readonly policy: CompressPolicy,
    readonly req: RequestSide,
    readonly isHead: boolean,
  ) {
    super(inner);
  }

  override get ended(): boolean {
    return this.#ended || this.inner.ended;
  }

  override get writableLength(): number {
    const enc = this.#enc;
    if (enc === null) return this.inner.writableLength;
    return this.inner.writableLength + enc.readableLength + Math.max(0, enc.writableLength - COMPRESS_AHEAD);
  }

  override writeHead(status: number, reason: string, headers: string[]): void {
    // Informational heads (103) go as they are; the final head is judged once.
    if (this.#decided || status < 200) return this.inner.writeHead(status, reason, headers);
    const d = decideHead(this.policy, this.req, status, headers);
    // The writer below may refuse the head (HeadError): nothing here has changed then.
    this.inner.writeHead(status, reason, d.headers);
    this.#decided = true;
    if (d.coding !== null && !this.isHead) this.#start(d.coding, d.length, d.flushEachWrite);
  }

  #start(coding: NonNullable<RequestSide['coding']>, length: number, flushEachWrite: boolean): void {
    const enc = createEncoder(coding, this.policy.level[coding], length, flushEachWrite);
    enc.on('data', this.#onOutput);
    enc.on('end', this.#onEnd);
    enc.on('drain', this.#maybeDrained);
    enc.on('error', this.#onError);
    this.#enc = enc;
    this.#coding = coding;
    compressStats.live++;
    compressStats.started++;
    enc.once('close', this.#onEncoderClosed);
    this.inner.onClose(this.#onClose);
  }

  override write(chunk: Buffer): boolean {
    const enc = this.#enc;
    if (enc === null) return this.inner.write(chunk);
    if (this.#ended || enc.destroyed) return false;
    if (chunk.length === 0) return !this.#blocked;
    this.#bytesIn += chunk.length;
    return enc.write(chunk) && !this.#blocked;
  }

  override end(chunk?: Buffer | string): void {
    const enc = this.#enc;
    if (enc === null) return this.inner.end(chunk);
    if (this.#ended) return;
    this.#ended = true;
    if (enc.destroyed) return;
    if (chunk === undefined || chunk.length === 0) enc.end();
    else {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.#bytesIn += bytes.length;
      enc.end(bytes);
    }
  }

  override destroy(): void {
    this.#enc?.destroy();
    this.inner.destroy();
  }

  override onDrain(fn: () => void): void {
    if (this.#enc === null) return this.inner.onDrain(fn);
    (this.#waiters ??= []).push(fn);
    // Asked while there is room already (nothing would ever drain): answer on the next tick.
    if (!this.#full()) process.nextTick(this.#maybeDrained);
  }

  #full(): boolean {
    return this.#blocked || this.#enc!.writableNeedDrain;
  }

  readonly #onOutput = (out: Buffer): void => {
    this.#bytesOut += out.length;
    if (this.inner.write(out) || this.#blocked) return;
    this.#blocked = true;
    this.#enc!.pause();
    this.inner.onDrain(this.#resume);
  };

  readonly #resume = (): void => {
    this.#blocked = false;
    const enc = this.#enc!;
    if (enc.destroyed) return;
    enc.resume();
    this.#maybeDrained();
  };

  readonly #maybeDrained = (): void => {
    const waiters = this.#waiters;
    if (waiters === null || this.#enc === null || this.#full()) return;
    this.#waiters = null;
    for (const fn of waiters) fn();
  };

  readonly #onEnd = (): void => {
    this.inner.end();
  };

  readonly #onError = (err: Error): void => {
    this.ex.errorLog?.error('compression failed', { route: this.ex.routeName, err: err.message });
    this.inner.destroy();
  };

  readonly #onEncoderClosed = (): void => {
    compressStats.live--;
  };

  /** The response is over (finished, or the client gone): the encoder's memory goes now. */
  readonly #onClose = (): void => {
    this.#waiters = null;
    if (metricsEnabled) recordCompression(this.#coding, this.#bytesIn, this.#bytesOut);
    const enc = this.#enc;
    if (enc !== null && !enc.destroyed) enc.destroy();
  };
}

/**
 * The route's compression as a filter. Per request: a tunnel gets no wrapper; otherwise the
 * coding this client takes is chosen here, once.
 */
export function compressFilter(policy: CompressPolicy): ResponseFilter {
  return (inner, ex) => {
    const req = ex.req;
    const h = req.headers;
    if (req.method === 'CONNECT' || h.upgrade !== undefined) return inner;
    let coding: RequestSide['coding'] = policy.chooser(h['accept-encoding'])[0] ?? null;
    if (coding !== null) {
      if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0 && !policy.http10) coding = null;
      else if (policy.disabledFor !== null && h['user-agent'] !== undefined && policy.disabledFor(h['user-agent'])) coding = null;
    }
    return new CompressWriter(inner, ex, policy, { coding, via: h.via !== undefined, auth: h.authorization !== undefined }, req.method === 'HEAD');
  };
}
