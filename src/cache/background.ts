/**
 * A background update (nginx proxy_cache_background_update, and RFC 5861's
 * stale-while-revalidate): the client got the stale entry, and a request of Portico's own
 * fetches the new one for the cache. It is the client's request again (its head copied, since
 * the client's objects are done with once it is answered), answered into a writer that sends
 * nowhere, through the route's filters and store filter as any response of the route, without
 * the guards (the client's request already passed them, as nginx's subrequest does) and
 * without an access-log line.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Exchange } from '../http/exchange.js';
import type { RequestHead } from '../http/request.js';
import { WriterBase } from '../http/response-writer.js';

/** The copy of a request head a background update sends, as GET (the cache fills GETs). */
export class DetachedHead implements RequestHead {
  readonly method = 'GET';
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;

  constructor(from: RequestHead) {
    this.url = from.url ?? '/';
    this.rawHeaders = from.rawHeaders.slice();
    this.headers = { ...from.headers };
    this.socket = from.socket;
  }
}

/** A response that goes nowhere: it finishes when it ends. */
export class NullWriter extends WriterBase {
  #head = false;
  #ended = false;
  #destroyed = false;

  constructor() {
    super(false);
  }

  get headersSent(): boolean {
    return this.#head;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get finished(): boolean {
    return this.#ended && !this.#destroyed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  get writableLength(): number {
    return 0;
  }

  protected sendHead(): void {
    this.#head = true;
  }

  protected sendBody(): boolean {
    return true;
  }

  protected sendEnd(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.closed();
  }

  protected watchDrain(): void {}

  flush(): void {}

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.closed();
  }

  writeContinue(): void {}

  closeConnection(): void {}
}

/** An exchange like `ex` (same route, client, host, path), for a response nobody waits for. */
export function detachedExchange(ex: Exchange): Exchange {
  const writer = new NullWriter();
  const d = new Exchange(
    new DetachedHead(ex.req),
    writer,
    null,
    {},
    ex.peerIp,
    ex.clientIp,
    ex.scheme,
    ex.peerTrusted,
    performance.now(),
    ex.hostHeader,
    ex.path,
    ex.rawPath,
    ex.query,
  );
  d.routeName = ex.routeName;
  d.captures = ex.captures;
  d.rewritten = ex.rewritten;
  d.internalRedirect = ex.internalRedirect;
  d.maps = ex.maps;
  // What the request's rewrite steps decided: its `set` variables, the `if` settings chosen.
  d.vars = ex.vars;
  d.variant = ex.variant;
  d.tlsClient = ex.tlsClient;
  d.limitRate = 0; // nobody waits for this response: nothing to pace (filters/limit-rate.ts)
  d.errorLog = ex.errorLog;
  d.skipAccessLog = true;
  return d;
}
