/**
 * `response_headers` (set, add, remove; nginx add_header, Caddy header): the route's edits
 * applied to every head the route writes, proxied, served from disk or made by Portico
 * (redirects, errors, an upgrade's 101 and refusals). The edits are compiled once
 * (src/http/header-ops.ts); `add` entries marked success_only see the status here.
 */
import { applyHeaderOps, type HeaderOps } from '../http/header-ops.js';
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { FilterWriter, type ResponseFilter } from './filter.js';

class HeadersFilter extends FilterWriter {
  constructor(
    inner: ResponseWriter,
    readonly ex: Exchange,
    readonly ops: HeaderOps,
  ) {
    super(inner);
  }

  override writeHead(status: number, reason: string, headers: string[]): void {
    this.inner.writeHead(status, reason, applyHeaderOps(this.ops, headers, this.ex, status));
  }
}

/** The route's response_headers as a filter; null when it has none. */
export function headersFilter(ops: HeaderOps): ResponseFilter | null {
  if (ops.empty) return null;
  return (inner, ex) => new HeadersFilter(inner, ex, ops);
}
