/**
 * `respond`: a status, body and headers (Caddy `respond`, nginx `return CODE TEXT`). The body
 * may hold placeholders (nginx `return 200 "$host"` answers the host); one without is built
 * once. It goes through the exchange's writer, so the route's response filters (its
 * response_headers first) apply as to any other response.
 */
import type { RouteConfig } from '../config/schema.js';
import type { RouteHandler } from '../http/route-handler.js';
import type { Exchange } from '../http/exchange.js';
import { send } from '../http/send.js';
import { compileBody } from '../http/template.js';

export function respondHandler(cfg: NonNullable<RouteConfig['respond']>): RouteHandler {
  const respond = compileRespond(cfg);
  return { handle: respond };
}

/** A `respond` as a function of the request (a rewrite step's `return` too). */
export function compileRespond(cfg: NonNullable<RouteConfig['respond']>): (ex: Exchange) => void {
  const body = compileBody(cfg.body);
  const headers: string[] = [];
  let hasType = false;
  for (const [name, value] of Object.entries(cfg.headers ?? {})) {
    if (name.toLowerCase() === 'content-type') hasType = true;
    if (name.toLowerCase() === 'content-length') continue;
    headers.push(name, value);
  }
  const status = cfg.status;
  if (Buffer.isBuffer(body)) {
    if (!hasType && body.length > 0) headers.push('Content-Type', 'text/plain; charset=utf-8');
    headers.push('Content-Length', String(body.length));
    return (ex) => send(ex, status, headers, body);
  }
  return (ex) => {
    const bytes = body(ex);
    const own = headers.slice();
    if (!hasType && bytes.length > 0) own.push('Content-Type', 'text/plain; charset=utf-8');
    own.push('Content-Length', String(bytes.length));
    send(ex, status, own, bytes);
  };
}
