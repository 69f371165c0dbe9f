/**
 * What one process counts, in plain numbers and typed arrays: a request costs a few array
 * increments, never a label lookup or an allocation. /metrics (prometheus.ts), /status and
 * the dashboard read these when asked; with `workers` each worker counts its own and the
 * admin listener adds them up (cluster.ts). Counters only grow, so N requests move a counter
 * by exactly N however the processes are scraped.
 *
 * countRequest() is the one function every finished request goes through, once: from a
 * route's metrics filter (src/filters/metrics.ts, the last filter of the response pipeline,
 * with the route's RouteStats found when the config was compiled), or from dispatch for a
 * request no filter saw (recordRequest: refused before a route was chosen, no location, a
 * server-level redirect, Portico's own routes).
 */
import type { Exchange } from '../http/exchange.js';
import { HISTOGRAM_LENGTH, observe } from './buckets.js';
import { TailRing } from './tail.js';

/** PORTICO_METRICS=off: no request is counted (the bench's "metrics off" side). */
export const metricsEnabled = process.env.PORTICO_METRICS !== 'off';

/**
 * Methods get their own label value only from this list; anything else is OTHER, so a client
 * inventing methods cannot grow the number of series (each would cost memory for good).
 */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const;
const METHOD_INDEX = new Map<string, number>(METHODS.map((m, i) => [m, i]));
const OTHER = METHODS.length - 1;
export const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export function classIndex(status: number): number {
  const c = ((status / 100) | 0) - 1;
  return c < 0 ? 0 : c > 4 ? 4 : c;
}

export class RouteStats {
  /** Requests by method and status class: [method * 5 + class]. */
  readonly requests = new Float64Array(METHODS.length * CLASSES.length);
  /** Time from the request head to the end of the response, ms (tunnels not included). */
  readonly duration = new Float64Array(HISTOGRAM_LENGTH);
  /** Request body bytes as declared by Content-Length. */
  bytesIn = 0;
  /** Response body bytes sent (nginx $body_bytes_sent). */
  bytesOut = 0;
  total = 0;

  constructor(
    /** "servers[0]": the server block the route is in; "-" before one is known. */
    readonly server: string,
    /** The route's name ("servers[0].routes[1] /api/"), or "-" for requests no route took. */
    readonly route: string,
  ) {}
}

export class UpstreamStats {
  /** Responses the server gave by status class (each client request once, on the server that answered). */
  readonly responses = new Float64Array(CLASSES.length);
  /** From sending the request to the response head (nginx $upstream_header_time), ms. */
  readonly header = new Float64Array(HISTOGRAM_LENGTH);

  constructor(readonly address: string) {}
}

export interface CompressionStats {
  responses: number;
  /** Body bytes the handler wrote (before compression). */
  bytesIn: number;
  /** Compressed bytes handed to the client's writer. */
  bytesOut: number;
}

/** Why a request was refused before its handler ran. */
export type Denial = 'access' | 'limit_req' | 'limit_conn' | 'basic_auth';

export class ProcessStats {
  readonly routes = new Map<string, RouteStats>();
  readonly upstreams = new Map<string, UpstreamStats>();
  /** Requests sent to another server of their pool after a failure. */
  retries = 0;
  readonly denials: Record<Denial, number> = { access: 0, limit_req: 0, limit_conn: 0, basic_auth: 0 };
  /** Compressed responses and their bytes before and after compression, by coding (gzip, br, zstd). */
  readonly compression = new Map<string, CompressionStats>();
  /** Access-log lines not written (the destination failed), and write errors seen. */
  logDrops = 0;
  logErrors = 0;
  readonly startedAt = Date.now();
  /** Recent requests for the dashboard's live tail; null while nobody watches. */
  tail: TailRing | null = null;
  #tailUntil = 0;

  route(name: string): RouteStats {
    let r = this.routes.get(name);
    if (r === undefined) {
      r = new RouteStats(serverOf(name), name);
      this.routes.set(name, r);
    }
    return r;
  }

  upstream(address: string): UpstreamStats {
    let u = this.upstreams.get(address);
    if (u === undefined) {
      u = new UpstreamStats(address);
      this.upstreams.set(address, u);
    }
    return u;
  }

  /** Keeps the live tail filled for the next `ms` (a dashboard asks again while it is open). */
  watchTail(ms: number): void {
    this.#tailUntil = Date.now() + ms;
    this.tail ??= new TailRing();
  }

  /** Stops filling the tail once nobody asked for it lately. */
  expireTail(): void {
    if (this.tail !== null && Date.now() > this.#tailUntil) this.tail = null;
  }
}

/** "servers[0].routes[1] /api/" -> "servers[0]"; "servers[2] http->https" -> "servers[2]". */
function serverOf(route: string): string {
  const m = /^servers\[\d+\]/.exec(route);
  return m ? m[0] : '-';
}

/** This process's counts. */
export const stats = new ProcessStats();

/**
 * A request no metrics filter counted (server/dispatch.ts), under its route's name ("-": no
 * route). `status` is what the access log writes (499 for a client that left first).
 */
export function recordRequest(ex: Exchange, status: number): void {
  if (!metricsEnabled) return;
  countRequest(stats.route(ex.routeName), ex, status, ex.base.bytesSent);
}

/**
 * One finished request of route `r`: its counters and latency, its upstream server's, bytes,
 * and the live tail while a dashboard watches. `bytesOut`: body bytes sent to the client.
 */
export function countRequest(r: RouteStats, ex: Exchange, status: number, bytesOut: number): void {
  // Normally ended when the upstream try settled (proxy/balancer.ts); a request that never
  // got that far must not stay in flight.
  if (ex.inFlightOn !== null) {
    ex.inFlightOn.end();
    ex.inFlightOn = null;
  }
  const ms = performance.now() - ex.startedAt;
  const c = classIndex(status);
  r.requests[(METHOD_INDEX.get(ex.req.method ?? '') ?? OTHER) * CLASSES.length + c]!++;
  r.total++;
  // A tunnel's life is not a latency.
  if (status !== 101) observe(r.duration, ms);
  if (ex.contentLength > 0) r.bytesIn += ex.contentLength;
  r.bytesOut += bytesOut;
  // The server that answered (a head arrived after the last try went out): Portico's own 502s are not its.
  if (ex.upstreamSentAt > 0 && ex.upstreamHeaderAt >= ex.upstreamSentAt) {
    const u = stats.upstream(ex.upstream);
    u.responses[c]!++;
    observe(u.header, ex.upstreamHeaderAt - ex.upstreamSentAt);
  }
  if (stats.tail !== null) stats.tail.push(ex, status, ms);
}

/** A request sent to the next server of its pool (proxy/balanced.ts). */
export function recordRetry(): void {
  stats.retries++;
}

/** Bytes into and out of the compressor, by coding (filters/compress.ts, once per response). */
export function recordCompression(coding: string, bytesIn: number, bytesOut: number): void {
  let c = stats.compression.get(coding);
  if (c === undefined) stats.compression.set(coding, (c = { responses: 0, bytesIn: 0, bytesOut: 0 }));
  c.responses++;
  c.bytesIn += bytesIn;
  c.bytesOut += bytesOut;
}

/** A request refused by a shield check (shield/guards.ts). */
export function recordDenial(kind: Denial): void {
  stats.denials[kind]++;
}
