/**
 * A response filter sits between a route's handler and the client: it wraps the exchange's
 * ResponseWriter (src/http/response-writer.ts) and sees the head (it may change the status
 * and headers), each body chunk and the end, so it can transform the body (compression will),
 * observe it (metrics) or tee it (a cache store). Caddy's ResponseWriterWrapper and Hono's
 * compress middleware are the models.
 *
 * A filter extends FilterWriter, which passes everything on to the writer it wraps, and
 * overrides what it needs. Filters are made per route when the config is compiled
 * (route-filters.ts decides which and in what order) and wrapped around a request's writer
 * once its route is chosen: one object per filter per request, and none at all for a route
 * without filters.
 */
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';

/** Wraps a request's writer (`inner`: the next filter, or the binding) for one exchange. */
export type ResponseFilter = (inner: ResponseWriter, ex: Exchange) => ResponseWriter;

export class FilterWriter implements ResponseWriter {
  constructor(protected readonly inner: ResponseWriter) {}

  get status(): number {
    return this.inner.status;
  }

  get headersSent(): boolean {
    return this.inner.headersSent;
  }

  get ended(): boolean {
    return this.inner.ended;
  }

  get finished(): boolean {
    return this.inner.finished;
  }

  get destroyed(): boolean {
    return this.inner.destroyed;
  }

  get bytesSent(): number {
    return this.inner.bytesSent;
  }

  get writableLength(): number {
    return this.inner.writableLength;
  }

  writeHead(status: number, reason: string, headers: string[]): void {
    this.inner.writeHead(status, reason, headers);
  }

  write(chunk: Buffer): boolean {
    return this.inner.write(chunk);
  }

  end(chunk?: Buffer | string): void {
    this.inner.end(chunk);
  }

  flush(): void {
    this.inner.flush();
  }

  destroy(): void {
    this.inner.destroy();
  }

  writeContinue(): void {
    this.inner.writeContinue();
  }

  closeConnection(): void {
    this.inner.closeConnection();
  }

  onDrain(fn: () => void): void {
    this.inner.onDrain(fn);
  }

  onClose(fn: () => void): void {
    this.inner.onClose(fn);
  }

  offClose(fn: () => void): void {
    this.inner.offClose(fn);
  }
}

/**
 * Filters in the order a response meets them (the first is outermost: the handler writes to
 * it), as one ResponseFilter; null when there are none, so a route without filters hands its
 * handler the binding itself.
 */
export function composeFilters(filters: readonly ResponseFilter[]): ResponseFilter | null {
  if (filters.length === 0) return null;
  if (filters.length === 1) return filters[0]!;
  return (inner, ex) => {
    let w = inner;
    for (let i = filters.length - 1; i >= 0; i--) w = filters[i]!(w, ex);
    return w;
  };
}
