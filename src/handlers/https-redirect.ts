/**
 * The automatic HTTP->HTTPS redirect of a TLS server (Caddy's automatic HTTPS): same host and
 * request target, the HTTPS port (left out when 443). 308 for every method, as Caddy sends:
 * it is permanent and keeps the method and body (RFC 9110 §15.4.9), where a 301 lets clients
 * turn a POST into a GET; every browser in use understands it.
 */
import type { Exchange } from '../http/exchange.js';
import { hostWithoutPort } from '../http/host.js';
import type { RouteHandler } from '../http/route-handler.js';
import { send } from '../http/send.js';

export function httpsRedirectHandler(httpsPort: { readonly port: number }): RouteHandler {
  return {
    handle(ex: Exchange) {
      const host = hostWithoutPort(ex.hostHeader);
      const authority = host.includes(':') ? `[${host}]` : host;
      const port = httpsPort.port === 443 ? '' : `:${httpsPort.port}`;
      send(ex, 308, ['Location', `https://${authority}${port}${ex.rawPath}${ex.query}`, 'Content-Length', '0'], '');
    },
  };
}
