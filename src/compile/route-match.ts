/**
 * A route's `match` conditions compiled into one predicate over the request. Every condition
 * given must hold. `remote_ip` (and `not_remote_ip`, its negation) tests the client address the dispatcher derived (ex.clientIp:
 * the TCP peer, or behind the server's trusted_proxies the forwarded client), which is
 * Caddy's `client_ip`; nginx writes the same with `allow`/`deny` or a `geo` map.
 */
import type { RouteMatchConfig } from '../config/match-schema.js';
import type { Exchange } from '../http/exchange.js';
import { cidrMatcher } from '../http/cidr.js';
import type { Condition } from './location-table.js';

export function compileRouteMatch(cfg: RouteMatchConfig | undefined): Condition<Exchange> | null {
  if (cfg === undefined) return null;
  const ips = cfg.remote_ip ? cidrMatcher(cfg.remote_ip) : undefined;
  const notIps = cfg.not_remote_ip ? cidrMatcher(cfg.not_remote_ip) : undefined;
  if (notIps === undefined) {
    return function remoteIpMatches(ex) {
      return ips!.has(ex.clientIp);
    };
  }
  return function remoteIpMatches(ex) {
    return (ips === undefined || ips.has(ex.clientIp)) && !notIps.has(ex.clientIp);
  };
}
