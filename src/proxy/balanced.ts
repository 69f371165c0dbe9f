/**
 * One request to a load-balanced pool: pick a server, relay, record the outcome for passive
 * health, and on failure try the next server when that is safe (nginx proxy_next_upstream,
 * Caddy lb_retries / lb_try_duration):
 *  - a connection that could not be made (refused, timed out, TLS handshake failed) sent
 *    nothing, so any request goes to the next server, body and all (the body is not read
 *    from the client before the connection is up);
 *  - after the request went out (reset, read timeout, invalid response), only idempotent
 *    methods are retried, and only if the body was not consumed or was buffered whole and
 *    can be replayed (UpstreamRequest.replayBody);
 *  - a 502/503/504 (any `http_NNN` in retry.on) is retried for idempotent methods only,
 *    under the same body rule, and only when configured;
 *  - never once response bytes reached the client; at most `tries` servers, each once, and
 *    no new try after `try_duration`.
 * With every usable server at max_conns the request waits in the pool's queue; with no
 * usable server at all it gets a 503 and one error-log line listing each server's state.
 */
import type { Exchange } from '../http/exchange.js';
import type { ErrorLog } from '../log/error-log.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { Upstream } from '../upstream/upstream.js';
import type { SelectRequest } from '../upstream/selection/policy.js';
import type { Waiter } from '../upstream/wait-queue.js';
import { failureKind } from '../upstream/conditions.js';
import type { UpstreamError, UpstreamRequest } from '../upstream/h1/types.js';
import { IDEMPOTENT, relay, type AttemptObserver, type RelayOptions, type RelayTarget } from './relay.js';
import { sendError } from '../http/send.js';
import { standInHost } from './stand-in-host.js';

export interface BalancedRoute {
  readonly group: UpstreamGroup;
  /** The route's connection target per server, by `Upstream.index`. */
  readonly targets: readonly RelayTarget[];
  readonly log: ErrorLog;
  /** Response buffering and send_timeout of the route. */
  readonly relayOptions: RelayOptions;
}

/** The request as the selection policies see it (client address, URI, headers, cookie). */
export class ExchangeSelectRequest implements SelectRequest {
  constructor(readonly ex: Exchange) {}

  get clientIp(): string {
    return this.ex.clientIp;
  }

  get uri(): string {
    return this.ex.req.url ?? '/';
  }

  get secure(): boolean {
    return this.ex.scheme === 'https';
  }

  header(name: string): string | undefined {
    const v = this.ex.req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  setCookie(value: string): void {
    this.ex.setCookie = value;
  }
}

export class BalancedRequest extends ExchangeSelectRequest implements AttemptObserver, Waiter {
  #current: Upstream | null = null;
  #tried: Upstream[] | null = null;
  #tries = 0;
  #firstTryAt = 0;
  /** When waiting in the queue must end (0: never queued). */
  #queueDeadline = 0;

  constructor(
    ex: Exchange,
    readonly route: BalancedRoute,
    public req: UpstreamRequest,
  ) {
    super(ex);
  }

  start(): void {
    const group = this.route.group;
    const upstream = group.select(this, null);
    if (upstream !== undefined) return this.#send(upstream);
    if (group.busy(null)) return this.#wait(group);
    this.#unavailable(`no available upstream in pool ${group.name} (${group.describe()})`);
  }

  #wait(group: UpstreamGroup): void {
    const now = group.clock.now();
    const first = this.#queueDeadline === 0;
    if (first) this.#queueDeadline = now + group.queueTimeout;
    if (!group.queue.push(this, Math.max(0, this.#queueDeadline - now), !first)) {
      return this.#unavailable(`every upstream in pool ${group.name} is at max_conns and its wait queue is full (${group.queue.size})`);
    }
    this.ex.abortUpstream = () => group.queue.remove(this);
  }

  resume(): void {
    this.ex.abortUpstream = null;
    this.start();
  }

  expire(): void {
    this.ex.abortUpstream = null;
    this.#unavailable(`waited ${this.route.group.queueTimeout}ms for a free upstream in pool ${this.route.group.name} (max_conns)`);
  }

  #send(upstream: Upstream): void {
    this.#current = upstream;
    this.#tries++;
    if (this.#firstTryAt === 0) this.#firstTryAt = this.route.group.clock.now();
    upstream.passive.picked(upstream.state);
    upstream.state.begin();
    relay(this.ex, this.route.targets[upstream.index]!, this.#withHost(upstream), this.route.relayOptions, this);
  }

  /**
   * A request without a Host value (HTTP/1.0 without Host, or an empty one): the chosen
   * server's own address stands in (as Caddy does), so it changes with each try.
   */
  #withHost(upstream: Upstream): UpstreamRequest {
    if (this.ex.hostHeader !== '') return this.req;
    const headers = this.req.headers.slice();
    standInHost(headers, upstream.transport.authority);
    return (this.req = { ...this.req, headers });
  }

  onStatus(status: number): boolean {
    const u = this.#current!;
    const failOn = u.passive.config.failOn;
    if (!failOn.noStatus && failOn.status(status)) u.passive.failed(u.state);
    else u.passive.succeeded(u.state);
    const on = this.route.group.retry.on;
    if (on.noStatus || !on.status(status) || !IDEMPOTENT.has(this.req.method)) return false;
    if (this.req.body !== null && this.req.replayBody === undefined) return false;
    return this.#retry(u, `status ${status}`, this.req.body !== null);
  }

  onFailure(err: UpstreamError, connected: boolean, bodyTouched: boolean): boolean {
    const u = this.#current!;
    const kind = failureKind(err.code);
    if (u.passive.config.failOn[kind]) u.passive.failed(u.state);
    if (!this.route.group.retry.on[kind]) return false;
    // Sent (or partly sent): only what can be sent again without harm.
    if (connected && (!IDEMPOTENT.has(this.req.method) || (bodyTouched && this.req.replayBody === undefined))) return false;
    return this.#retry(u, `${err.code}: ${err.message}`, bodyTouched);
  }

  onSettled(): void {
    this.#current?.state.end();
    this.#current = null;
  }

  /** Sends the request to the next server if the bounds allow; false leaves the failure to the client. */
  #retry(failed: Upstream, cause: string, replay: boolean): boolean {
    const group = this.route.group;
    if (this.#tries >= group.retry.tries) return false;
    if (group.retry.tryDuration > 0 && group.clock.now() - this.#firstTryAt >= group.retry.tryDuration) return false;
    (this.#tried ??= []).push(failed);
    const next = group.select(this, this.#tried);
    if (next === undefined) return false;
    this.route.log.debug('trying the next upstream', { route: this.ex.routeName, failed: failed.key, next: next.key, cause });
    failed.state.end();
    if (replay) this.req = { ...this.req, body: this.req.replayBody!() };
    this.#send(next);
    return true;
  }

  #unavailable(cause: string): void {
    this.ex.upstream = this.route.group.name;
    this.route.log.upstreamFailure(this.ex, cause, 503);
    sendError(this.ex, 503);
  }
}
