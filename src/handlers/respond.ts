/** `respond`: a fixed status, body and headers (Caddy `respond`, nginx `return CODE TEXT`). */
import type { RouteConfig } from '../config/schema.js';
import type { RouteHandler } from '../http/route-handler.js';
import { send } from '../http/send.js';

export function respondHandler(cfg: NonNullable<RouteConfig['respond']>): RouteHandler {
  const body = Buffer.from(cfg.body);
  const headers: string[] = [];
  let hasType = false;
  for (const [name, value] of Object.entries(cfg.headers ?? {})) {
    if (name.toLowerCase() === 'content-type') hasType = true;
    if (name.toLowerCase() === 'content-length') continue;
    headers.push(name, value);
  }
  if (!hasType && body.length > 0) headers.push('Content-Type', 'text/plain; charset=utf-8');
  headers.push('Content-Length', String(body.length));
  const status = cfg.status;
  return {
    handle(ex) {
      send(ex, status, headers, body);
    },
  };
}
