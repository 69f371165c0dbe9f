/**
 * One proxied round trip over an undici pool, written as a raw dispatch handler: no
 * intermediate streams or promises, the response is written to the client as undici parses
 * it, and backpressure flows both ways (a full client socket pauses the upstream read).
 */
import type { Dispatcher, Pool } from 'undici';
import type { Exchange } from '../server/exchange.js';
import type { HeaderOps } from '../compile/header-ops.js';
import { applyHeaderOps } from '../compile/header-ops.js';
import { clientResponseHeaders } from './response-headers.js';
import { classifyUpstreamError } from './upstream-error.js';
import { sendError } from '../handlers/send.js';
import type { ErrorLog } from '../log/error-log.js';

export interface ForwardTarget {
  readonly pool: Pool;
  /** "host:port", for logs. */
  readonly address: string;
  readonly readTimeout: number;
  readonly responseHeaders: HeaderOps;
  readonly log: ErrorLog;
}

/**
 * A reused keep-alive connection may have been closed by the upstream just as we sent on it
 * (gunicorn's 2s keep-alive). Such a request is retried on another connection, at most this
 * many times, and only when none of its body was consumed.
 */
const STALE_RETRIES = 2;

/**
 * The same error is what an upstream that crashed while handling the request looks like, so
 * only methods that are safe to repeat are retried (RFC 9110 §9.2.2; nginx never passes a
 * POST, PATCH or LOCK on once it was sent, Go's transport neither): a bodiless POST that
 * charged a card must not run twice.
 */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function forward(ex: Exchange, target: ForwardTarget, path: string, headers: string[], hasBody: boolean): void {
  ex.upstream = target.address;
  dispatch(new Relay(ex, target, path, headers, hasBody, 0));
}

function dispatch(relay: Relay): void {
  const { ex, target } = relay;
  try {
    target.pool.dispatch(
      {
        path: relay.path,
        method: ex.req.method!,
        headers: relay.headers,
        body: relay.hasBody ? ex.req : null,
        headersTimeout: target.readTimeout,
        bodyTimeout: target.readTimeout,
      },
      relay,
    );
  } catch (err) {
    relay.onError(err as Error);
  }
}

class Relay implements Dispatcher.DispatchHandler {
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #clientGone = false;
  /** The exchange was already answered (a bad upstream header); later undici events are ignored. */
  #settled = false;

  constructor(
    readonly ex: Exchange,
    readonly target: ForwardTarget,
    readonly path: string,
    readonly headers: string[],
    readonly hasBody: boolean,
    readonly attempt: number,
  ) {
    ex.abortUpstream = () => {
      this.#clientGone = true;
      this.#abort?.();
    };
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#clientGone) abort();
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx interim responses (103 Early Hints) are not relayed
    const res = this.ex.res;
    if (this.#clientGone || res.destroyed) return false;
    this.#resume = resume;
    const filtered = clientResponseHeaders(rawHeaders ?? []);
    const ops = this.target.responseHeaders;
    const headers = ops.empty ? filtered : applyHeaderOps(ops, filtered, this.ex);
    try {
      if (statusText) res.writeHead(statusCode, statusText, headers);
      else res.writeHead(statusCode, headers);
    } catch (err) {
      // A header value node refuses to send: the upstream's fault.
      this.#settled = true;
      this.#abort?.();
      this.#fail(`invalid response header from upstream: ${(err as Error).message}`, 502);
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    const res = this.ex.res;
    this.ex.bytesSent += chunk.length;
    if (res.write(chunk)) return true;
    res.once('drain', this.#resume!);
    return false;
  }

  onComplete(): void {
    this.ex.abortUpstream = null;
    this.ex.res.end();
  }

  onError(err: Error): void {
    const ex = this.ex;
    ex.abortUpstream = null;
    if (this.#clientGone || this.#settled) return; // a client abort is logged as 499 by the access log
    const failure = classifyUpstreamError(err);
    if (
      failure.staleConnection &&
      !ex.res.headersSent &&
      this.attempt < STALE_RETRIES &&
      IDEMPOTENT.has(ex.req.method!) &&
      (!this.hasBody || !ex.req.readableDidRead)
    ) {
      dispatch(new Relay(ex, this.target, this.path, this.headers, this.hasBody, this.attempt + 1));
      return;
    }
    this.#fail(failure.cause, failure.status);
  }

  #fail(cause: string, status: number): void {
    const ex = this.ex;
    this.target.log.upstreamFailure(ex, cause, status);
    if (ex.res.headersSent) ex.res.destroy();
    else sendError(ex, status, this.target.responseHeaders);
  }
}
