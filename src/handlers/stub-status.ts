/**
 * `stub_status: true`: nginx's basic status page (https://nginx.org/en/docs/http/ngx_http_stub_status_module.html)
 * in nginx's exact text format, for the scripts and monitoring plugins that read it:
 *
 *   Active connections: 2 
 *   server accepts handled requests
 *    17 17 40 
 *   Reading: 0 Writing: 1 Waiting: 1 
 *
 * From this process's counts (src/metrics/): with `workers`, each worker's own (nginx sums its
 * workers through shared memory; the admin API's /status and /metrics sum Portico's). Accepted
 * and handled are the same (Portico drops no accepted connection); requests counts this one;
 * Writing is the requests being answered as far as Portico counts them (this one and those in
 * flight upstream), Reading 0 (a head being read is not counted apart), Waiting the rest.
 */
import type { RouteHandler } from '../http/route-handler.js';
import { send } from '../http/send.js';
import { acceptedConnections, openConnections } from '../metrics/connections.js';
import { stats } from '../metrics/stats.js';
import { hostRegistry } from '../upstream/host-state.js';

function sum(values: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(values)) n += v;
  return n;
}

export function stubStatusHandler(): RouteHandler {
  return {
    handle(ex) {
      const active = sum(openConnections);
      const accepted = sum(acceptedConnections);
      let requests = 1;
      for (const r of stats.routes.values()) requests += r.total;
      let writing = 1;
      for (const h of hostRegistry.snapshot()) writing += h.inFlight;
      writing = Math.min(writing, Math.max(active, 1));
      const body =
        `Active connections: ${active} \nserver accepts handled requests\n ${accepted} ${accepted} ${requests} \n` +
        `Reading: 0 Writing: ${writing} Waiting: ${Math.max(0, active - writing)} \n`;
      send(ex, 200, ['Content-Type', 'text/plain', 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-cache'], body);
    },
  };
}
