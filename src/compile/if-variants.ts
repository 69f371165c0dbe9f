/**
 * A route whose steps hold an `if` with settings of its own (nginx's "if is evil": the `if`
 * block's configuration replaces the location's for the request, ngx_http_script_if_code sets
 * r->loc_conf). Each such `if` is the route compiled again with those settings (route-chain.ts);
 * the steps leave the one picked on the exchange (ex.variant), and these route its request and
 * its response there: its guards and handler, and its response filters.
 */
import type { RouteHandler } from '../http/route-handler.js';
import type { ResponseFilter } from '../filters/filter.js';

/** The chain of the variant the steps picked, else the route's own. */
export function variantHandler(own: RouteHandler): RouteHandler {
  const handler: RouteHandler = { handle: (ex) => (ex.variant?.handler ?? own).handle(ex) };
  if (own.upgrade !== undefined) {
    handler.upgrade = (ex, socket, head) => {
      const h = ex.variant?.handler ?? own;
      if (h.upgrade !== undefined) h.upgrade(ex, socket, head);
      else h.handle(ex); // answered like any other request, and the connection is closed
    };
  }
  return handler;
}

/** The filters of the variant the steps picked, else the route's own (null: none). */
export function variantFilter(own: ResponseFilter | null): ResponseFilter {
  return (inner, ex) => {
    const f = ex.variant !== null ? ex.variant.filter : own;
    return f === null ? inner : f(inner, ex);
  };
}
