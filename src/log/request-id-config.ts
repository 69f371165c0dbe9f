/**
 * `request_id.upstream` and `.response` become header edits of every route, decided once when
 * the config is loaded: `request_headers.set` (the client's own header is replaced by the id:
 * a trusted proxy's, or one made here) and `response_headers.set`, both with {request_id}.
 * A route that edits that header itself keeps its own edit.
 */
import type { PorticoConfig, RouteConfig } from '../config/schema.js';
import { setRequestIdHeader } from '../http/request-id.js';

type Ops = { set?: Record<string, unknown>; add?: Record<string, unknown>; remove?: string[] };

function names(ops: Ops | undefined, lower: string): boolean {
  const all = [...Object.keys(ops?.set ?? {}), ...Object.keys(ops?.add ?? {}), ...(ops?.remove ?? [])];
  return all.some((n) => n.toLowerCase() === lower);
}

export function withRequestIds(config: PorticoConfig): PorticoConfig {
  const { header, upstream, response } = config.request_id;
  setRequestIdHeader(header);
  if (!upstream && !response) return config;
  const lower = header.toLowerCase();
  const route = (r: RouteConfig): RouteConfig => {
    const out = { ...r };
    if (upstream && !names(r.request_headers, lower)) out.request_headers = { ...r.request_headers, set: { ...r.request_headers?.set, [header]: '{request_id}' } };
    if (response && !names(r.response_headers as Ops | undefined, lower))
      out.response_headers = { ...r.response_headers, set: { ...r.response_headers?.set, [header]: '{request_id}' } };
    return out;
  };
  return { ...config, servers: config.servers.map((s) => ({ ...s, routes: s.routes.map(route) })) };
}
