/**
 * Which server of a route gets a request, and whether a failed try goes to another: one
 * interface, chosen once per route when the config is compiled, so the relay (relay.ts) is
 * one path for every route. A pool of one plain server (upstream/group.ts: `trivial`) is
 * SingleServer: it always picks its server, keeps no health and never retries, so its
 * requests pay for none of that; every other pool is a GroupBalancer (group-balancer.ts).
 * The admin API may still drain or disable that server (upstream/host-state.ts): its
 * requests then get a 503, as a pool's do when none of its servers is available.
 */
import type { Duplex } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import { sendError } from '../http/send.js';
import type { ErrorLog } from '../log/error-log.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { HostState } from '../upstream/host-state.js';
import { metricsEnabled } from '../metrics/stats.js';
import type { UpstreamError } from '../upstream/h1/types.js';
import type { Relay } from './relay.js';
import type { RelayTarget, ServerTarget } from './proxy-route.js';
import { standInHost } from './stand-in-host.js';

export interface Balancer {
  /** A request may go to another server after a try: small responses are held meanwhile (retry-hold.ts). */
  readonly retries: boolean;
  /** The first try: picks a server and calls relay.send(), queues the request, or answers 503. */
  start(relay: Relay): void;
  /** A response head arrived (health is recorded): the server to try next when this response is dropped. */
  afterStatus(relay: Relay, status: number): RelayTarget | undefined;
  /** A try failed before its response reached the client: the server to try next, or undefined (the client gets the error). */
  afterFailure(relay: Relay, err: UpstreamError, connected: boolean, bodyTouched: boolean): RelayTarget | undefined;
  /** The try is over for good: relayed (err null), failed, or the client left. */
  settled(relay: Relay, err: UpstreamError | null): void;
  /**
   * The server for a WebSocket tunnel, counted in flight while `socket` is open; undefined:
   * none available (503). A handshake is one try on one server: it is not sent again.
   */
  tunnel(ex: Exchange, socket: Duplex): ServerTarget | undefined;
}

export class SingleServer implements Balancer {
  readonly retries = false;

  readonly #state: HostState;

  constructor(
    readonly target: ServerTarget,
    /** The pool of one server: its state (admin API), its name for the 503's log line. */
    readonly group: UpstreamGroup,
    readonly log: ErrorLog,
  ) {
    this.#state = group.members[0]!.state;
  }

  start(relay: Relay): void {
    const ex = relay.ex;
    if (this.#state.admin !== 'up') return this.#unavailable(ex);
    // In flight on the server, for /status and the dashboard (a pool counts its own);
    // settled() ends it. Not counted with PORTICO_METRICS=off.
    if (metricsEnabled) {
      this.#state.begin();
      ex.inFlightOn = this.#state;
    }
    // A request without a Host value (HTTP/1.0 without Host, or an empty one): the server's own address stands in.
    if (ex.hostHeader === '') standInHost(relay.req.headers, this.target.transport.authority);
    relay.send(this.target);
  }

  /** Drained or disabled through the admin API: nowhere to send the request. */
  #unavailable(ex: Exchange): void {
    ex.upstream = this.group.name;
    this.log.upstreamFailure(ex, `no available upstream in pool ${this.group.name} (${this.group.describe()})`, 503);
    sendError(ex, 503);
  }

  afterStatus(): undefined {
    return undefined;
  }

  afterFailure(): undefined {
    return undefined;
  }

  settled(relay: Relay): void {
    const ex = relay.ex;
    if (ex.inFlightOn === null) return;
    ex.inFlightOn.end();
    ex.inFlightOn = null;
  }

  tunnel(ex: Exchange): ServerTarget | undefined {
    if (this.#state.admin === 'up') return this.target;
    ex.upstream = this.group.name;
    this.log.upstreamFailure(ex, `no available upstream in pool ${this.group.name} (${this.group.describe()})`, 503);
    return undefined;
  }
}
