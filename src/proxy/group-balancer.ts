/**
 * A load-balanced pool's requests: pick a server, record the outcome for passive health, and
 * on failure try the next server when that is safe (nginx proxy_next_upstream, Caddy
 * lb_retries / lb_try_duration):
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
import type { Duplex } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import { sendError } from '../http/send.js';
import type { ErrorLog } from '../log/error-log.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { Upstream } from '../upstream/upstream.js';
import { failureKind } from '../upstream/conditions.js';
import type { UpstreamError } from '../upstream/h1/types.js';
import type { Balancer } from './balancer.js';
import type { ServerTarget } from './proxy-route.js';
import type { Relay } from './relay.js';
import { IDEMPOTENT } from './idempotent.js';
import { ExchangeSelectRequest } from './select-request.js';
import { Attempts } from './attempts.js';
import { standInHost } from './stand-in-host.js';
import { recordRetry } from '../metrics/stats.js';

export class GroupBalancer implements Balancer {
  readonly retries = true;

  constructor(
    readonly group: UpstreamGroup,
    /** The route's target per server, by `Upstream.index`. */
    readonly targets: readonly ServerTarget[],
    readonly log: ErrorLog,
  ) {}

  start(relay: Relay): void {
    const a = (relay.attempts ??= new Attempts(relay, this));
    const group = this.group;
    const upstream = group.select(a, null);
    if (upstream !== undefined) return this.#send(relay, a, upstream);
    if (group.busy(null)) return this.#wait(a);
    this.unavailable(relay, `no available upstream in pool ${group.name} (${group.describe()})`);
  }

  #wait(a: Attempts): void {
    const group = this.group;
    const now = group.clock.now();
    const first = a.queueDeadline === 0;
    if (first) a.queueDeadline = now + group.queueTimeout;
    if (!group.queue.push(a, Math.max(0, a.queueDeadline - now), !first)) {
      return this.unavailable(a.relay, `every upstream in pool ${group.name} is at max_conns and its wait queue is full (${group.queue.size})`);
    }
    a.ex.abortUpstream = () => group.queue.remove(a);
  }

  #send(relay: Relay, a: Attempts, upstream: Upstream): void {
    this.#begin(relay, a, upstream);
    relay.send(this.targets[upstream.index]!);
  }

  /** `upstream` takes the next try: counted in flight, and its address standing in for a missing Host. */
  #begin(relay: Relay, a: Attempts, upstream: Upstream): void {
    a.current = upstream;
    a.tries++;
    if (a.firstTryAt === 0) a.firstTryAt = this.group.clock.now();
    upstream.passive.picked(upstream.state);
    upstream.state.begin();
    // A request without a Host value: the chosen server's own address stands in (as Caddy
    // does), so it changes with each try.
    if (relay.ex.hostHeader !== '') return;
    const headers = relay.req.headers.slice();
    standInHost(headers, upstream.transport.authority);
    relay.req = { ...relay.req, headers };
  }

  afterStatus(relay: Relay, status: number): ServerTarget | undefined {
    const a = relay.attempts!;
    const u = a.current!;
    const failOn = u.passive.config.failOn;
    if (!failOn.noStatus && failOn.status(status)) u.passive.failed(u.state);
    else u.passive.succeeded(u.state);
    const on = this.group.retry.on;
    const req = relay.req;
    if (on.noStatus || !on.status(status) || !IDEMPOTENT.has(req.method)) return undefined;
    if (req.body !== null && req.replayBody === undefined) return undefined;
    return this.#next(relay, a, u, `status ${status}`, req.body !== null);
  }

  afterFailure(relay: Relay, err: UpstreamError, connected: boolean, bodyTouched: boolean): ServerTarget | undefined {
    const a = relay.attempts!;
    const u = a.current!;
    const kind = failureKind(err.code);
    if (u.passive.config.failOn[kind]) u.passive.failed(u.state);
    if (!this.group.retry.on[kind]) return undefined;
    // Sent (or partly sent): only what can be sent again without harm.
    const req = relay.req;
    if (connected && (!IDEMPOTENT.has(req.method) || (bodyTouched && req.replayBody === undefined))) return undefined;
    return this.#next(relay, a, u, `${err.code}: ${err.message}`, bodyTouched);
  }

  settled(relay: Relay): void {
    const a = relay.attempts;
    if (a === null) return; // still queued, or never started
    a.current?.state.end();
    a.current = null;
  }

  /** The next server if the bounds allow; undefined leaves the failure to the client. */
  #next(relay: Relay, a: Attempts, failed: Upstream, cause: string, replay: boolean): ServerTarget | undefined {
    const group = this.group;
    if (a.tries >= group.retry.tries) return undefined;
    if (group.retry.tryDuration > 0 && group.clock.now() - a.firstTryAt >= group.retry.tryDuration) return undefined;
    (a.tried ??= []).push(failed);
    const next = group.select(a, a.tried);
    if (next === undefined) return undefined;
    this.log.debug('trying the next upstream', { route: relay.ex.routeName, failed: failed.key, next: next.key, cause });
    recordRetry();
    failed.state.end();
    if (replay) relay.req = { ...relay.req, body: relay.req.replayBody!() };
    this.#begin(relay, a, next);
    return this.targets[next.index]!;
  }

  unavailable(relay: Relay, cause: string): void {
    relay.ex.upstream = this.group.name;
    relay.ex.upstreamFailed = 'error'; // nginx: "no live upstreams" is an error for proxy_cache_use_stale
    this.log.upstreamFailure(relay.ex, cause, 503);
    sendError(relay.ex, 503);
  }

  tunnel(ex: Exchange, socket: Duplex): ServerTarget | undefined {
    const upstream = this.group.select(new ExchangeSelectRequest(ex), null);
    if (upstream === undefined) {
      ex.upstream = this.group.name;
      this.log.upstreamFailure(ex, `no available upstream in pool ${this.group.name} (${this.group.describe()})`, 503);
      return undefined;
    }
    // It counts as in flight on that server while it is open, for least_conn and max_conns.
    upstream.state.begin();
    socket.once('close', () => upstream.state.end());
    return this.targets[upstream.index]!;
  }
}
