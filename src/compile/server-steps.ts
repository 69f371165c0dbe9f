/**
 * What a server runs before any route is chosen: the client certificate check first (an access
 * restriction: nginx checks it in ngx_http_process_request, before any phase), then the
 * server's rewrite steps (rewrite.ts). What these answer themselves goes through the response
 * filters of the route the request would reach (nginx's server-level add_header, which its
 * locations inherit, is on its 400 pages and on a server-level `return` alike).
 */
import type { RewriteStepConfig } from '../config/schema.js';
import type { Exchange } from '../http/exchange.js';
import type { ResponseFilter } from '../filters/filter.js';
import { refusedClientCertificate, refuseClientCertificate, type ClientAuth } from '../shield/client-certificates.js';
import { compileRewrites, useFilter, type RewriteResult, type Rewrites } from './rewrite.js';

const NONE: RewriteResult = { kind: 'none' };
const ANSWERED: RewriteResult = { kind: 'answered' };

export function compileServerSteps(
  steps: readonly RewriteStepConfig[] | undefined,
  clientAuth: ClientAuth | undefined,
  filterFor: (ex: Exchange) => ResponseFilter | null,
): Rewrites | undefined {
  const rewrites = compileRewrites(steps, { filterFor });
  if (clientAuth === undefined) return rewrites;
  return (ex) => {
    if (refusedClientCertificate(ex, clientAuth)) {
      useFilter(ex, filterFor(ex));
      refuseClientCertificate(ex);
      return ANSWERED;
    }
    return rewrites !== undefined ? rewrites(ex) : NONE;
  };
}
