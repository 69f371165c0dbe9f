/**
 * One proxied round trip over Portico's HTTP/1.1 upstream client: the response is written to
 * the client as it is parsed, with backpressure both ways (a full client socket pauses the
 * upstream socket), and a request that met a keep-alive race is sent again on a new
 * connection. No intermediate streams or promises on this path.
 */
import type { Exchange } from '../http/exchange.js';
import { applyHeaderOps, type HeaderOps } from '../http/header-ops.js';
import { clientResponseHeaders } from './response-headers.js';
import type { RedirectRule } from './location-rewrite.js';
import { classifyUpstreamError } from './upstream-error.js';
import { sendError } from '../http/send.js';
import type { ErrorLog } from '../log/error-log.js';
import type { H1Pool } from '../upstream/h1/pool.js';
import { REQUEST_HEAD_REFUSED, type ResponseSink, type UpstreamError, type UpstreamExchangeControl, type UpstreamRequest } from '../upstream/h1/types.js';
import { ResponseBuffer, bufferable, type ResponseBufferingOptions } from '../buffering/response-buffer.js';
import { SendTimer } from '../limits/send-timer.js';

export interface RelayTarget {
  readonly pool: H1Pool;
  /** "host:port", for logs. */
  readonly address: string;
  readonly responseHeaders: HeaderOps;
  /** Location and Refresh prefixes to replace (proxy.redirect and its default; location-rewrite.ts). */
  readonly redirects?: readonly RedirectRule[];
  readonly log: ErrorLog;
}

/** Per route, compiled once. */
export interface RelayOptions {
  /** null: the response is relayed with backpressure only (buffering.response: false). */
  readonly buffering: ResponseBufferingOptions | null;
  /** send_timeout, armed while the client's socket is full. */
  readonly sendTimeout: number;
}

/** A keep-alive race is retried on a new connection at most this many times. */
const STALE_RETRIES = 2;

/**
 * Only idempotent requests are sent again (RFC 9110 §9.2.2; nginx and Go do the same): the
 * upstream may have run a POST before its connection dropped, and running it twice is worse
 * than a 502.
 */
export const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Follows one attempt for a load-balanced request (src/proxy/balanced.ts): it records the
 * outcome for passive health and may send the request to another server instead of letting
 * this attempt answer the client. A plain route has none.
 */
export interface AttemptObserver {
  /** The response head arrived. True: drop this response, the observer sent the request elsewhere. */
  onStatus(status: number): boolean;
  /**
   * The attempt failed before its response reached the client. True: the observer sent the
   * request elsewhere (nothing more happens here); false: the client gets the 502/504.
   */
  onFailure(err: UpstreamError, connected: boolean, bodyTouched: boolean): boolean;
  /** The attempt is over for good: response relayed (err null), failed, or the client left. */
  onSettled(err: UpstreamError | null): void;
}

/**
 * With a pool that can retry, a small response to an idempotent request is held until it is
 * complete: an upstream dying between its head and its body (gunicorn writes them separately)
 * then costs a retry on another server, not a truncated reply to the client.
 */
const HOLD_LIMIT = 64 * 1024;

/** Unbuffered responses: bytes the client's socket may have pending before the upstream is paused. */
const STREAM_BACKLOG = 64 * 1024;

interface HeldResponse {
  status: number;
  statusText: string;
  headers: string[];
  body: Buffer[];
}

export function relay(ex: Exchange, target: RelayTarget, req: UpstreamRequest, opts: RelayOptions, observer: AttemptObserver | null = null): void {
  ex.upstream = target.address;
  target.pool.request(req, new Relay(ex, target, req, opts, 0, observer));
}

class Relay implements ResponseSink {
  #conn: UpstreamExchangeControl | null = null;
  #clientGone = false;
  #settled = false;
  /** The observer took the request elsewhere: this attempt says nothing more. */
  #handedOff = false;
  /** Upstream response headers, read only if the client turns out slow (bufferable()). */
  #rawHeaders: string[] | null = null;
  /** Set once the client's socket was full and the response may be buffered. */
  #buffer: ResponseBuffer | null = null;
  #bufferable: boolean | undefined = undefined;
  #sendTimer: SendTimer | null = null;
  #held: HeldResponse | null = null;

  constructor(
    readonly ex: Exchange,
    readonly target: RelayTarget,
    readonly req: UpstreamRequest,
    readonly opts: RelayOptions,
    readonly attempt: number,
    readonly observer: AttemptObserver | null,
  ) {
    ex.abortUpstream = this.#onClientGone;
  }

  readonly #onClientGone = (): void => {
    this.#clientGone = true;
    if (this.#conn !== null) this.#conn.abort();
    else this.target.pool.cancel(this);
    this.observer?.onSettled(null);
  };

  readonly #resume = (): void => {
    this.#sendTimer?.disarm();
    this.#conn?.resume();
  };

  bind(conn: UpstreamExchangeControl): void {
    this.#conn = conn;
    if (this.#clientGone) conn.abort();
  }

  onHeaders(status: number, statusText: string, rawHeaders: string[]): void {
    const res = this.ex.res;
    if (this.#clientGone || res.destroyed) return;
    if (this.observer !== null && this.observer.onStatus(status)) {
      this.#handedOff = true;
      this.#settled = true;
      this.#conn?.abort();
      return;
    }
    this.#rawHeaders = rawHeaders;
    // nginx's $upstream_status and $upstream_http_NAME, for the response header edits below.
    this.ex.upstreamStatus = status;
    this.ex.upstreamHeaders = rawHeaders;
    const filtered = clientResponseHeaders(rawHeaders, status, this.target.redirects);
    if (this.ex.setCookie !== null) filtered.push('Set-Cookie', this.ex.setCookie);
    const ops = this.target.responseHeaders;
    const headers = ops.empty ? filtered : applyHeaderOps(ops, filtered, this.ex, status);
    if (this.observer !== null && IDEMPOTENT.has(this.req.method) && smallBody(rawHeaders)) {
      this.#held = { status, statusText, headers, body: [] };
      return;
    }
    if (!this.#writeHead(status, statusText, headers)) return;
    // node sends a head with the first body bytes; a stream (an event stream waiting for its
    // first event) gets it now, so the client's EventSource opens at once (Caddy does the same).
    if (!(this.#bufferable ??= bufferable(rawHeaders))) this.ex.res.flushHeaders();
  }

  #writeHead(status: number, statusText: string, headers: string[]): boolean {
    try {
      this.ex.head(this.ex.res, status, statusText, headers);
      return true;
    } catch (err) {
      // A header node refuses to send (e.g. a bad character): the upstream's fault.
      this.#settled = true;
      this.#conn?.abort();
      this.observer?.onSettled(null);
      this.#fail(`invalid response header from upstream: ${(err as Error).message}`, 502);
      return false;
    }
  }

  onData(chunk: Buffer): boolean {
    if (this.#settled) return true;
    if (this.#held !== null) {
      this.#held.body.push(chunk);
      return true;
    }
    if (this.#buffer !== null) return this.#buffer.push(chunk);
    const res = this.ex.res;
    this.ex.bytesSent += chunk.length;
    // What the kernel has not taken yet of the earlier chunks. write()'s own answer says little:
    // node's http corks the socket until the next tick, so a 64 KiB chunk makes it false even
    // when the kernel then takes every byte (that made every 1 MiB response spill to disk).
    const backlog = res.writableLength;
    if (res.write(chunk)) return true;
    const buffering = this.opts.buffering;
    if (buffering !== null && (this.#bufferable ??= bufferable(this.#rawHeaders!))) {
      // Up to memory_limit, node's own write buffer holds the backlog: a client that is merely
      // a moment behind drains it at once and no disk is touched. Beyond it, spool to disk.
      if (backlog + chunk.length <= buffering.memory) return true;
      this.#buffer = new ResponseBuffer(this.ex, buffering, this.opts.sendTimeout, this.#resume);
      return true;
    }
    if (backlog + chunk.length <= STREAM_BACKLOG) return true;
    // The client is slower than the upstream, for now.
    res.once('drain', this.#resume);
    (this.#sendTimer ??= new SendTimer(res, this.opts.sendTimeout)).arm();
    return false;
  }

  onEnd(): void {
    // The connection goes on to other requests: a late 'drain' of this client must not resume it.
    this.#conn = null;
    this.ex.abortUpstream = null;
    if (this.#handedOff) return;
    const held = this.#held;
    if (held !== null && !this.#settled) {
      this.#held = null;
      if (!this.#writeHead(held.status, held.statusText, held.headers)) return;
      for (const chunk of held.body) {
        this.ex.bytesSent += chunk.length;
        this.ex.res.write(chunk);
      }
      this.ex.res.end();
    } else if (!this.#settled) {
      if (this.#buffer !== null) this.#buffer.end();
      else this.ex.res.end();
    }
    this.observer?.onSettled(null);
  }

  onError(err: UpstreamError, retryable: boolean): void {
    const ex = this.ex;
    if (this.#handedOff) return;
    ex.abortUpstream = null;
    // A client abort is logged as 499 by the access log; a client whose body broke off gets its
    // 400 from the server's parser. Neither is an upstream failure.
    if (this.#clientGone) return; // the observer was told when the client left
    if (this.#settled || err.code === 'CLIENT_BODY') return void this.observer?.onSettled(null);
    if (err.code === REQUEST_HEAD_REFUSED) {
      this.observer?.onSettled(null);
      this.target.log.error('request head refused', { route: ex.routeName, upstream: this.target.address, method: ex.req.method, uri: ex.req.url, err: err.message });
      return void sendError(ex, 500, this.target.responseHeaders);
    }
    if (retryable && this.attempt < STALE_RETRIES && !ex.res.headersSent && IDEMPOTENT.has(this.req.method)) {
      // A keep-alive race: the same server again on a new connection; the same attempt.
      this.target.pool.request(this.req, new Relay(ex, this.target, this.req, this.opts, this.attempt + 1, this.observer), true);
      return;
    }
    if (this.observer !== null) {
      const conn = this.#conn;
      if (!ex.res.headersSent && this.observer.onFailure(err, conn?.connected ?? false, conn?.bodyTouched ?? false)) return;
      this.observer.onSettled(err);
    }
    const failure = classifyUpstreamError(err);
    this.#fail(failure.cause, failure.status);
  }

  #fail(cause: string, status: number): void {
    const ex = this.ex;
    this.#sendTimer?.disarm();
    this.#buffer?.destroy();
    this.target.log.upstreamFailure(ex, cause, status);
    if (ex.res.headersSent) ex.res.destroy();
    else sendError(ex, status, this.target.responseHeaders);
  }
}

/** A response delimited by a Content-Length of at most HOLD_LIMIT (and not chunked). */
function smallBody(raw: readonly string[]): boolean {
  let small = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return false;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      const n = Number(raw[i + 1]);
      small = Number.isInteger(n) && n <= HOLD_LIMIT;
    }
  }
  return small;
}
