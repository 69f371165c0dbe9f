/** What a proxy route's requests share, compiled once (handlers/proxy.ts builds it). */
import type { ErrorLog } from '../log/error-log.js';
import type { UpstreamPool } from '../upstream/h1/types.js';
import type { Balancer } from './balancer.js';
import type { RedirectRule } from './location-rewrite.js';
import type { SlowClientOptions } from './slow-client.js';
import type { TunnelTarget } from './tunnel.js';

/** One server of the route, as the relay reaches it. */
export interface RelayTarget {
  readonly pool: UpstreamPool;
  /** "host:port", for logs. */
  readonly address: string;
  /** Location and Refresh prefixes to replace (proxy.redirect and its default; location-rewrite.ts). */
  readonly redirects?: readonly RedirectRule[];
}

/** A server of the route, for requests and tunnels. */
export type ServerTarget = RelayTarget & TunnelTarget;

export interface ProxyRoute {
  /** Which server, and whether to try another. */
  readonly balancer: Balancer;
  /** A client slower than the upstream (buffering.response, send_timeout). */
  readonly options: SlowClientOptions;
  readonly log: ErrorLog;
}
