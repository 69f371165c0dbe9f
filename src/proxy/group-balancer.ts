/**
 * A load-balanced pool's requests: pick a server, record the outcome for passive health, and
 * on failure try the next server when that is safe (nginx proxy_next_upstream, Caddy
 * lb_retries / lb_try_duration):
 *  - a connection that could not be made (refused, timed out, TLS handshake failed) sent
 *    nothing, so any request goes to the next server, body and all (the body is not read
 *    from the client before the connection is up);
 *  - after the request went out (reset, read timeout, invalid response), only idempotent
 *    methods are retried (others too with nginx's `non_idempotent` in retry.on), and only if
 *    the body was not consumed or was buffered whole and can be replayed
 *    (UpstreamRequest.replayBody: request buffering keeps it for routes that retry);
 *  - a 502/503/504 (any `http_NNN` in retry.on) is retried for idempotent methods only,
 *    under the same body rule, and only when configured;
 *  - never once response bytes reached the client; at most `tries` servers, each once, and
 *    no new try after `try_duration`.
 * With every usable server at max_conns the request waits in the pool's queue; with no
 * usable server at all it gets a 503 and one error-log line listing each server's state.
 *
 * With `try_duration` (and `try_interval`, Caddy's lb_try_duration and lb_try_interval), a
 * request that failed on every server by an error or timeout it may be retried on, or found
 * none available, waits `try_interval` and tries them all again, the same ones included,
 * until no new try may start: an application restarting behind Portico (connections refused
 * for a second) costs its clients a wait, not a 502. The rules above still decide what may be
 * sent again: a request whose body was sent is not, unless it was idempotent and the body
 * can be replayed. nginx never waits (proxy_next_upstream_timeout only bounds); Caddy waits
 * before every retry, Portico only once each server was tried.
 */
import type { Duplex } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import { sendError } from '../http/send.js';
import type { ErrorLog } from '../log/error-log.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { Upstream } from '../upstream/upstream.js';
import { failureKind } from '../upstream/conditions.js';
import type { UpstreamError } from '../upstream/h1/types.js';
import { LATER, type Balancer } from './balancer.js';
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
    // try_duration counts from here (as Caddy's lb_try_duration), tries or not.
    if (a.firstTryAt === 0) a.firstTryAt = group.clock.now();
    const upstream = group.select(a, null);
    if (upstream !== undefined) return this.#send(relay, a, upstream);
    if (group.busy(null)) return this.#wait(a);
    const cause = `no available upstream in pool ${group.name} (${group.describe()})`;
    if (this.#mayTryLater(a)) return this.#later(relay, a, cause, null);
    this.unavailable(relay, cause);
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
    if (on.noStatus || !on.status(status) || (!IDEMPOTENT.has(req.method) && !on.nonIdempotent)) return undefined;
    if (req.body !== null && req.replayBody === undefined) return undefined;
    return this.#next(relay, a, u, `status ${status}`, req.body !== null);
  }

  afterFailure(relay: Relay, err: UpstreamError, connected: boolean, bodyTouched: boolean): ServerTarget | typeof LATER | undefined {
    const a = relay.attempts!;
    const u = a.current!;
    const kind = failureKind(err.code);
    if (u.passive.config.failOn[kind]) u.passive.failed(u.state);
    const on = this.group.retry.on;
    if (!on[kind]) return undefined;
    // Sent (or partly sent): only what can be sent again without harm (or what the config says may be).
    const req = relay.req;
    if (connected && ((!IDEMPOTENT.has(req.method) && !on.nonIdempotent) || (bodyTouched && req.replayBody === undefined))) return undefined;
    const cause = `${err.code}: ${err.message}`;
    const next = this.#next(relay, a, u, cause, bodyTouched);
    if (next !== undefined || !this.#mayTryLater(a)) return next;
    // Every server was tried (or none is left): wait, then all of them again.
    u.state.end();
    a.current = null;
    if (bodyTouched) relay.req = { ...relay.req, body: relay.req.replayBody!() };
    this.#later(relay, a, cause, err);
    return LATER;
  }

  settled(relay: Relay): void {
    const a = relay.attempts;
    if (a === null) return; // still queued, or never started
    a.current?.state.end();
    a.current = null;
  }

  /** The next server not tried yet if the bounds allow; undefined leaves the failure to the client (or a later round). */
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

  /** Whether another round may start after try_interval: waiting is on, and a try would start within try_duration. */
  #mayTryLater(a: Attempts): boolean {
    const { tries, tryDuration, tryInterval } = this.group.retry;
    if (tryDuration === 0 || tryInterval === 0 || a.tries >= tries) return false;
    return this.group.clock.now() + tryInterval < a.firstTryAt + tryDuration;
  }

  /**
   * Tries every server again after try_interval. `err`: the last try's failure, answered if no
   * server takes the request by then (null: none was available, a 503).
   */
  #later(relay: Relay, a: Attempts, cause: string, err: UpstreamError | null): void {
    const group = this.group;
    this.log.debug('waiting for an upstream to try again', { route: relay.ex.routeName, pool: group.name, in_ms: group.retry.tryInterval, cause });
    a.tried = null; // a new round: the servers that failed are candidates again
    const timer = group.clock.after(group.retry.tryInterval, () => {
      relay.ex.abortUpstream = null;
      const upstream = group.select(a, null);
      if (upstream !== undefined) return this.#send(relay, a, upstream);
      if (group.busy(null)) return this.#wait(a);
      const now = `no available upstream in pool ${group.name} (${group.describe()})`;
      if (this.#mayTryLater(a)) return this.#later(relay, a, now, err);
      if (err !== null) relay.fail(err);
      else this.unavailable(relay, now);
    });
    // The client left while its request waited: nothing more is tried.
    relay.ex.abortUpstream = () => timer.cancel();
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
