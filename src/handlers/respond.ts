/**
 * `respond`: a status, body and headers (Caddy `respond`, nginx `return CODE TEXT`). The body
 * may hold placeholders (nginx `return 200 "$host"` answers the host); one without is built
 * once.
 */
import type { RouteConfig } from '../config/schema.js';
import type { RouteContext, RouteHandler } from './handler.js';
import type { Exchange } from '../http/exchange.js';
import { send } from '../http/send.js';
import { compileBody } from '../http/template.js';

export function respondHandler(cfg: NonNullable<RouteConfig['respond']>, ctx: RouteContext): RouteHandler {
  const respond = compileRespond(cfg);
  const ops = ctx.responseHeaders;
  return {
    handle(ex) {
      respond(ex, ops);
    },
  };
}

/** A `respond` as a function of the request and the header edits that apply (a rewrite step's `respond` too). */
export function compileRespond(cfg: NonNullable<RouteConfig['respond']>): (ex: Exchange, ops: RouteContext['responseHeaders']) => void {
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
    return (ex, ops) => send(ex, status, headers, body, ops);
  }
  return (ex, ops) => {
    const bytes = body(ex);
    const own = headers.slice();
    if (!hasType && bytes.length > 0) own.push('Content-Type', 'text/plain; charset=utf-8');
    own.push('Content-Length', String(bytes.length));
    send(ex, status, own, bytes, ops);
  };
}
