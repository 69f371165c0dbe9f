/**
 * The metrics filter: counts each response of its route once, when the response is over
 * (finished, or the client gone), into the route's RouteStats (src/metrics/stats.ts), found
 * once when the config is compiled, so a request pays no lookup by name. It is the last
 * filter (route-filters.ts), right above the protocol's writer: the status and body bytes it
 * reads there are what left Portico, after compression, as the access log reports them. It
 * wraps nothing: it listens for the end of the response and hands the writer on.
 *
 * Requests that no route's filters see (refused before a route is chosen, no location, a
 * server-level redirect, Portico's own routes) are counted by dispatch instead
 * (server/dispatch.ts `finish`); `ex.metered` tells the two apart, so each request is
 * counted exactly once.
 */
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { countRequest, type RouteStats } from '../metrics/stats.js';
import type { ResponseFilter } from './filter.js';

/**
 * What the access log writes for the response: its status once it was sent whole (a tunnel's
 * 101 for its life), 499 when the client left first, or the status set on purpose (444).
 */
function statusOf(ex: Exchange, w: ResponseWriter): number {
  if (ex.logStatus !== 0) return ex.logStatus;
  const status = w.status;
  return w.finished || status === 101 ? status : 499;
}

export function metricsFilter(route: RouteStats): ResponseFilter {
  return (inner, ex) => {
    ex.metered = true;
    inner.onClose(() => countRequest(route, ex, statusOf(ex, inner), inner.bytesSent));
    return inner;
  };
}
