/**
 * One proxied request over Portico's HTTP/1.1 upstream client: the response is written to the
 * client as it is parsed, with backpressure both ways, and no intermediate streams or
 * promises. The Relay is the request's one object on this path (the upstream client's
 * ResponseSink), for every try; what it decides is in files of their own:
 *  - which server, and whether to try another (balancer.ts: one server, or a pool);
 *  - the response head sent to the client (response-headers.ts) and the sticky cookie;
 *  - a small response held whole while a retry is still possible (retry-hold.ts);
 *  - a client slower than the upstream: spool or backpressure, send_timeout (slow-client.ts);
 *  - a keep-alive race sent again on a new connection (stale-retry.ts);
 *  - what a failure answers and logs (upstream-error.ts).
 */
import type { Exchange } from '../http/exchange.js';
import { REQUEST_HEAD_REFUSED, type ResponseSink, type UpstreamError, type UpstreamExchangeControl, type UpstreamRequest } from '../upstream/h1/types.js';
import { bufferable } from '../buffering/response-buffer.js';
import { clientResponseHeaders } from './response-headers.js';
import { answerFailure, failResponse } from './upstream-error.js';
import type { Attempts } from './attempts.js';
import type { ProxyRoute, RelayTarget } from './proxy-route.js';
import { HeldResponse, holdable } from './retry-hold.js';
import { SlowClient } from './slow-client.js';
import { retryStale } from './stale-retry.js';

export class Relay implements ResponseSink {
  #target: RelayTarget | null = null;
  #conn: UpstreamExchangeControl | null = null;
  #clientGone = false;
  /** This try's answer is decided (handed to another server, or failed): it writes nothing more. */
  #settled = false;
  /** Times this try was sent again after a keep-alive race. */
  #stale = 0;
  #bufferable = true;
  #held: HeldResponse | null = null;
  #slow: SlowClient | null = null;
  /** A load-balanced route's bookkeeping for this request (group-balancer.ts); null for one server. */
  attempts: Attempts | null = null;

  constructor(
    readonly ex: Exchange,
    /** The request; a retry may replace it (a replayed body, another stand-in Host). */
    public req: UpstreamRequest,
    readonly route: ProxyRoute,
  ) {}

  /** Starts the request: the balancer picks the server. */
  start(): void {
    this.route.balancer.start(this);
  }

  /** One try on `target`. */
  send(target: RelayTarget): void {
    this.#target = target;
    this.#conn = null;
    this.#settled = false;
    this.#stale = 0;
    this.#held = null;
    this.ex.upstream = target.address;
    this.ex.upstreamSentAt = performance.now(); // metrics: the upstream's latency (src/metrics/stats.ts)
    this.ex.abortUpstream = this.#onClientGone;
    target.pool.request(this.req, this);
  }

  readonly #onClientGone = (): void => {
    this.#clientGone = true;
    if (this.#conn !== null) this.#conn.abort();
    else this.#target?.pool.cancel(this);
    this.route.balancer.settled(this, null);
  };

  readonly #resume = (): void => {
    this.#conn?.resume();
  };

  bind(conn: UpstreamExchangeControl): void {
    this.#conn = conn;
    if (this.#clientGone) conn.abort();
  }

  onHeaders(status: number, statusText: string, rawHeaders: string[]): void {
    const writer = this.ex.writer;
    if (this.#clientGone || writer.destroyed) return;
    this.ex.upstreamHeaderAt = performance.now();
    const balancer = this.route.balancer;
    const next = balancer.retries ? balancer.afterStatus(this, status) : undefined;
    if (next !== undefined) {
      // Dropped for a retry: this connection is given up before the next try takes one.
      this.#conn?.abort();
      return this.send(next);
    }
    const headers = clientResponseHeaders(rawHeaders, status, this.#target!.redirects);
    if (this.ex.setCookie !== null) headers.push('Set-Cookie', this.ex.setCookie);
    if (balancer.retries && holdable(this.req.method, rawHeaders)) {
      this.#held = new HeldResponse(status, statusText, headers);
      return;
    }
    if (!this.#writeHead(status, statusText, headers)) return;
    // node sends a head with the first body bytes; a stream (an event stream waiting for its
    // first event) gets it now, so the client's EventSource opens at once (Caddy does the same).
    this.#bufferable = bufferable(rawHeaders);
    if (!this.#bufferable) writer.flush();
  }

  /** A head the serializer refuses is the upstream's fault: 502. */
  #writeHead(status: number, statusText: string, headers: string[]): boolean {
    try {
      this.ex.writer.writeHead(status, statusText, headers);
      return true;
    } catch (err) {
      this.#settled = true;
      this.#conn?.abort();
      this.route.balancer.settled(this, null);
      this.ex.upstreamFailed = 'invalid_header';
      failResponse(this.ex, this.route.log, `invalid response header from upstream: ${(err as Error).message}`, 502);
      return false;
    }
  }

  onData(chunk: Buffer): boolean {
    if (this.#settled) return true;
    if (this.#held !== null) {
      this.#held.body.push(chunk);
      return true;
    }
    const slow = this.#slow;
    if (slow !== null && slow.buffering) return slow.push(chunk);
    const writer = this.ex.writer;
    const backlog = writer.writableLength;
    if (writer.write(chunk)) return true;
    return (this.#slow ??= new SlowClient(this.ex, this.route.options, this.#bufferable, this.#resume)).full(chunk, backlog);
  }

  onEnd(): void {
    // The connection goes on to other requests: a late 'drain' of this client must not resume it.
    this.#conn = null;
    this.ex.abortUpstream = null;
    const held = this.#held;
    if (!this.#settled) {
      if (held !== null) {
        this.#held = null;
        if (!this.#writeHead(held.status, held.statusText, held.headers)) return;
        held.writeBody(this.ex.writer);
      } else if (this.#slow !== null) this.#slow.end();
      else this.ex.writer.end();
    }
    this.route.balancer.settled(this, null);
  }

  onError(err: UpstreamError, retryable: boolean): void {
    const ex = this.ex;
    ex.abortUpstream = null;
    // A client abort is logged as 499 by the access log; a client whose body broke off gets its
    // 400 from the server's parser. Neither is an upstream failure.
    if (this.#clientGone) return; // the balancer was told when the client left
    const balancer = this.route.balancer;
    if (this.#settled || err.code === 'CLIENT_BODY') return balancer.settled(this, null);
    if (retryStale(retryable, this.#stale, this.req.method, ex.writer.headersSent)) {
      // The same server again on a new connection; the same try.
      this.#stale++;
      this.#conn = null;
      this.ex.abortUpstream = this.#onClientGone;
      this.#target!.pool.request(this.req, this, true);
      return;
    }
    // A request head Portico refused reached nobody: not the upstream's failure, no other try.
    if (balancer.retries && !ex.writer.headersSent && err.code !== REQUEST_HEAD_REFUSED) {
      const conn = this.#conn;
      const next = balancer.afterFailure(this, err, conn?.connected ?? false, conn?.bodyTouched ?? false);
      if (next !== undefined) return this.send(next);
    }
    balancer.settled(this, err);
    this.#slow?.destroy();
    answerFailure(ex, this.route.log, err, this.#target!.address);
  }
}
