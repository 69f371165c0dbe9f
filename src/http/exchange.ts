/**
 * One request as it moves through Portico: its head, its body (when it has one), the writer
 * its response goes through, what routing decided, and what the access log reports. A class
 * with every field set in the constructor keeps the object shape stable for V8 on the hot path.
 */
import type { RequestBody, RequestHead } from './request.js';
import type { ResponseWriter } from './response-writer.js';

/** The config's `maps` as compiled lookups, by name (compile/maps.ts builds them). */
export type MapLookups = ReadonlyMap<string, (ex: Exchange) => string>;
export const NO_MAPS: MapLookups = new Map();

/** What a request needs of the error log (log/error-log.ts's ErrorLog is one). */
export interface RequestErrorLog {
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * What a route's response cache keeps for one request (its class is src/cache/request.ts):
 * the writer beneath the cache's store filter, where a stored response is served, so that
 * the filters before it (response_headers, compression) are not applied twice.
 */
export interface CacheSlot {
  readonly beneath: ResponseWriter;
}

export class Exchange {
  /** The location that matched, for logs ("servers[0].routes[1] /api/"). */
  routeName = '-';
  /** nginx `$uri`: decoded, normalized path used for routing. */
  path: string;
  /** Path as received (still encoded), without the query. */
  rawPath: string;
  /** "?a=b" or "". */
  query: string;
  /** Regex captures of a `~` route or of the last matching rewrite, for {re.N} placeholders. */
  captures: RegExpExecArray | null = null;
  /**
   * A `break` rewrite changed the path inside the chosen route: the proxy sends the new path
   * as it is, without its prefix replacement (nginx ignores proxy_pass's URI part then).
   */
  rewritten = false;
  /** A rewrite changed the path before the route was chosen (nginx r->internal): `internal` routes may serve it. */
  internalRedirect = false;
  /** The route said `access_log: false`. */
  skipAccessLog = false;
  /** The config's `maps`, for {map.NAME}. */
  maps: MapLookups = NO_MAPS;
  /** Upstream address that served the request, for logs. */
  upstream = '-';
  /** Cancels upstream work when the client goes away; set by the proxy while it forwards. */
  abortUpstream: (() => void) | null = null;
  /**
   * Where the response goes: the binding (`base`), or the route's response filters around it
   * (src/filters/; dispatch wraps it once the route is known). Handlers write only here.
   */
  writer: ResponseWriter;
  /** The protocol's own writer, under any filters: what the access log reads (status, bytes). */
  base: ResponseWriter;
  /** The route chain's step this request is at (handlers/compose.ts: a next() called twice is a bug). */
  stage = 0;
  /** The server's error log, for a response head refused while sending (send.ts). */
  errorLog: RequestErrorLog | null = null;
  /** A Set-Cookie value Portico adds to the proxied response (sticky sessions), or null. */
  setCookie: string | null = null;
  /** The request's Content-Length, or -1 without one (no body, or chunked). */
  contentLength = -1;
  /** The client sent `Expect: 100-continue` and no 100 was sent yet: whoever reads the body sends it. */
  expectsContinue = false;
  /** HTTP/2: the stream did not end with its HEADERS frame, so DATA frames (a body) follow, with or without a content-length. */
  dataFollows = false;
  /** The basic-auth user, for the access log (nginx $remote_user). */
  remoteUser = '';
  /** Status for the access log when no response was written on purpose (444: closed unanswered). */
  logStatus = 0;
  /** performance.now() when the request last went to an upstream server (0: never), for metrics. */
  upstreamSentAt = 0;
  /** performance.now() when that server's response head arrived (nginx $upstream_header_time). */
  upstreamHeaderAt = 0;
  /** The request id (X-Request-ID), made or taken on first use: src/http/request-id.ts. */
  requestId = '';
  /** A server this request counts as in flight on until its upstream try settles (proxy/balancer.ts). */
  inFlightOn: { end(): void } | null = null;
  /** A route's metrics filter counts this request (src/filters/metrics.ts); dispatch counts the others. */
  metered = false;
  /** The route's response cache for this request (set by its store filter); null: the route has none. */
  cache: CacheSlot | null = null;
  /** nginx $upstream_cache_status: HIT, MISS, EXPIRED, STALE, UPDATING, REVALIDATED, BYPASS; '' when no cache was asked. */
  cacheStatus = '';
  /** Portico answers for a failed upstream: 'error', 'timeout' or 'invalid_header' (nginx's use_stale words); '' otherwise. */
  upstreamFailed = '';

  constructor(
    readonly req: RequestHead,
    writer: ResponseWriter,
    /** The request body as it arrives; null when there is none to read (the lean path, an upgrade's raw socket). */
    public body: RequestBody | null,
    /** The client connection the request came on (HTTP/2: its session), for per-connection shares. */
    readonly connection: object,
    /** The TCP peer. */
    readonly peerIp: string,
    /** The client as far as we can tell: the peer, or the right-most untrusted X-Forwarded-For entry. */
    readonly clientIp: string,
    readonly scheme: 'http' | 'https',
    /** Whether the peer is a trusted proxy (its X-Forwarded-* are kept). */
    readonly peerTrusted: boolean,
    readonly startedAt: number,
    /** The Host header as sent (with port), or '' for HTTP/1.0 without Host. */
    readonly hostHeader: string,
    path: string,
    rawPath: string,
    query: string,
  ) {
    this.writer = writer;
    this.base = writer;
    this.path = path;
    this.rawPath = rawPath;
    this.query = query;
  }

  /**
   * An upgrade's handler owns the raw socket now: the response goes to `writer`, with no
   * filters around it yet, and there is no body stream to read or discard.
   */
  rebind(writer: ResponseWriter): void {
    this.writer = writer;
    this.base = writer;
    this.body = null;
  }
}
