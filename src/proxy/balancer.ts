/**
 * Which server of a route gets a request, and whether a failed try goes to another: one
 * interface, chosen once per route when the config is compiled, so the relay (relay.ts) is
 * one path for every route. A pool of one plain server (upstream/group.ts: `trivial`) is
 * SingleServer: it always picks its server, keeps no health and never retries, so its
 * requests pay for none of that; every other pool is a GroupBalancer (group-balancer.ts).
 */
import type { Duplex } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { UpstreamError } from '../upstream/h1/types.js';
import type { Relay } from './relay.js';
import type { RelayTarget, ServerTarget } from './proxy-route.js';
import { standInHost } from './stand-in-host.js';

/**
 * What afterFailure returns when the balancer keeps the request for a later try (try_duration
 * with try_interval): it calls relay.send() when a server may take it, or relay.fail().
 */
export const LATER = Symbol('later');

export interface Balancer {
  /** A request may go to another server after a try: small responses are held meanwhile (retry-hold.ts). */
  readonly retries: boolean;
  /** The first try: picks a server and calls relay.send(), queues the request, or answers 503. */
  start(relay: Relay): void;
  /** A response head arrived (health is recorded): the server to try next when this response is dropped. */
  afterStatus(relay: Relay, status: number): RelayTarget | undefined;
  /**
   * A try failed before its response reached the client: the server to try next, LATER (the
   * balancer tries again after a wait), or undefined (the client gets the error).
   */
  afterFailure(relay: Relay, err: UpstreamError, connected: boolean, bodyTouched: boolean): RelayTarget | typeof LATER | undefined;
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

  constructor(readonly target: ServerTarget) {}

  start(relay: Relay): void {
    // A request without a Host value (HTTP/1.0 without Host, or an empty one): the server's own address stands in.
    if (relay.ex.hostHeader === '') standInHost(relay.req.headers, this.target.transport.authority);
    relay.send(this.target);
  }

  afterStatus(): undefined {
    return undefined;
  }

  afterFailure(): undefined {
    return undefined;
  }

  settled(): void {}

  tunnel(): ServerTarget {
    return this.target;
  }
}
