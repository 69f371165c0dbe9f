/** `redirect`: a Location built from a template ("https://{host}{uri}"), with 3xx status. */
import type { RouteConfig } from '../config/schema.js';
import { compileTemplate } from '../http/template.js';
import type { RouteHandler } from '../http/route-handler.js';
import { send } from '../http/send.js';

export function redirectHandler(cfg: NonNullable<RouteConfig['redirect']>): RouteHandler {
  const location = compileTemplate(cfg.to, { context: 'location' });
  const status = cfg.status;
  return {
    handle(ex) {
      send(ex, status, ['Location', location(ex), 'Content-Length', '0'], '');
    },
  };
}
