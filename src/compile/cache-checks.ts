/**
 * What a cached route cannot do: a response header made from the request
 * (`response_headers` with a placeholder such as {remote_ip} or {header.Origin}). The cache
 * stores the response as the client got it, headers included (src/filters/route-filters.ts:
 * response_headers come before the cache store), so every client the entry answers would get
 * the value of the request that filled it: one client's address or cookie handed to others.
 * nginx applies add_header to each response, cached or not; Portico refuses the config
 * rather than serve that. The cache's own status goes in `cache.status_header`.
 */
import type { PorticoConfig } from '../config/schema.js';

/** Any placeholder, known today or added later (src/http/template.ts's syntax). */
const PLACEHOLDER = /\{[a-z_]+(?:\.[A-Za-z0-9_-]+)?\}/;

export function cacheProblems(config: PorticoConfig, file: string): string[] {
  const problems: string[] = [];
  config.servers.forEach((server, si) =>
    server.routes.forEach((route, ri) => {
      if (route.cache === undefined) return;
      const ops = route.response_headers;
      const values: [string, string][] = [
        ...Object.entries(ops?.set ?? {}).map(([n, v]): [string, string] => [`set.${n}`, v]),
        ...Object.entries(ops?.add ?? {}).map(([n, v]): [string, string] => [`add.${n}`, typeof v === 'string' ? v : v.value]),
      ];
      for (const [where, value] of values)
        if (PLACEHOLDER.test(value))
          problems.push(
            `${file}: servers[${si}].routes[${ri}].response_headers.${where}: '${value}' is computed from the request, but the route's responses are cached ` +
              'and shared: every client would get the value of the request that filled the entry; make it a constant (the cache status goes in cache.status_header)',
          );
    }),
  );
  return problems;
}
