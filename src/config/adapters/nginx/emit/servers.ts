/**
 * `server` blocks -> Portico servers. Per server: listens, names, server-level rewrites or
 * `return`, and the flattened locations as routes. Across servers, nginx's address rules:
 * one `default_server` per address, a name taken twice on an address is ignored the second
 * time, and a server without names only answers when it is its address's default.
 */
import type { Directive } from '../parser.js';
import { effective, effectiveOne, makeScope, type LocationNode, type Scope } from '../scope.js';
import { buildLocations, flatten } from '../locations.js';
import type { AdaptContext, ValueScope } from './context.js';
import { parseListens, parseServerNames, type ListenInfo, type ServerNames } from './server.js';
import { emitRoute, type RouteInput } from './route.js';
import { emitScript } from './rewrite.js';
import { responseHeaders } from './headers.js';
import { routeAccessLog } from './logs.js';
import { emitTls, sslOn } from './tls.js';
import { located } from '../../diagnostics.js';

interface Parsed {
  d: Directive;
  scope: Scope;
  listens: ListenInfo[];
  names: ServerNames;
  out: Record<string, unknown>;
}

export function emitServers(http: Scope, ctx: AdaptContext): Record<string, unknown>[] {
  const parsed: Parsed[] = [];
  for (const d of http.directives) {
    if (d.name !== 'server' || !d.block) continue;
    const scope = makeScope('server', http, d, d.block);
    const listens = parseListens(scope, ctx.diag, sslOn(scope));
    const names = parseServerNames(scope, ctx.diag);
    const routes = emitRoutes(scope, names, ctx);
    const out: Record<string, unknown> = {};
    const trusted = effective(scope, 'set_real_ip_from').map((r) => r.args[0]!);
    if (trusted.length > 0) out.trusted_proxies = realIpSources(scope, trusted, ctx);
    // nginx passes "_" names on when they are allowed, or when invalid names are not ignored.
    if (effectiveOne(scope, 'underscores_in_headers')?.args[0]?.toLowerCase() === 'on' || effectiveOne(scope, 'ignore_invalid_headers')?.args[0]?.toLowerCase() === 'off')
      out.underscores_in_headers = true;
    const script = emitScript(scope, ctx, serverValues(names));
    if (script.rules.length > 0) out.rewrite = script.rules;
    out.routes = routes;
    parsed.push({ d, scope, listens, names, out });
  }
  resolveAddresses(parsed, ctx);
  // Portico's TLS is per server (every listen address of it), nginx's per listen: a server with
  // both kinds becomes two Portico servers with the same routes.
  const out: Record<string, unknown>[] = [];
  for (const p of parsed) {
    if (p.listens.length === 0 || (p.out.routes as unknown[]).length === 0) continue;
    const plain = p.listens.filter((l) => !l.ssl);
    const secure = p.listens.filter((l) => l.ssl);
    if (plain.length > 0) out.push(serverOf(p, plain, plain.some((l) => l.port === 443) ? { tls: 'off' } : {}));
    if (secure.length > 0) {
      const tls = emitTls(p.scope, secure, ctx);
      if (tls) out.push(serverOf(p, secure, tls));
    }
  }
  return out;
}

function serverOf(p: Parsed, listens: ListenInfo[], extra: Record<string, unknown>): Record<string, unknown> {
  const server: Record<string, unknown> = { listen: listens.map((l) => l.address) };
  if (p.names.names.length > 0) server.hosts = p.names.names.map((n) => n.name);
  if (listens.some((l) => l.defaultServer)) server.default = true;
  return located({ ...server, ...extra, ...p.out }, p.d);
}

function serverValues(names: ServerNames): ValueScope {
  return { constants: new Map([['server_name', names.primary]]), captures: new Set(names.captures) };
}

function emitRoutes(scope: Scope, names: ServerNames, ctx: AdaptContext): RouteInput[] {
  const vs = serverValues(names);
  const top = buildLocations(scope, undefined, ctx.diag);
  const script = emitScript(scope, ctx, vs);
  if (script.terminal) {
    // A server-level `return` answers every request before any location is looked at.
    const route: RouteInput = scope.block ? located({ path: '/', ...script.terminal }, scope.block) : { path: '/', ...script.terminal };
    const headers = responseHeaders(scope, [], ctx, vs);
    if (headers) route.response_headers = headers;
    const log = routeAccessLog(scope, ctx);
    if (log !== undefined) route.access_log = log;
    return [route];
  }
  const named = new Map<string, LocationNode>();
  for (const n of top) if (n.match.kind === 'named') named.set(n.match.name, n);
  const routes: RouteInput[] = [];
  for (const f of flatten(top, ctx.diag)) {
    const route = emitRoute(f.path, f.node.scope, f.node, named, ctx, vs);
    if (route) routes.push(route);
  }
  // A request no location matches is served in the server's own context (its root, index,
  // try_files): a "/" route that only wins when nothing else does.
  if (!top.some((n) => n.match.kind === 'prefix' && n.match.path === '/')) {
    const route = emitRoute('/', scope, undefined, named, ctx, vs);
    if (route) routes.push(route);
  }
  return routes;
}

/** set_real_ip_from -> trusted_proxies; nginx reads X-Real-IP unless told X-Forwarded-For. */
function realIpSources(scope: Scope, trusted: string[], ctx: AdaptContext): string[] {
  const header = effective(scope, 'real_ip_header')[0];
  if (!header || header.args[0]!.toLowerCase() !== 'x-forwarded-for') {
    ctx.diag.warn(header ?? effective(scope, 'set_real_ip_from')[0]!, `real_ip_header ${header?.args[0] ?? 'X-Real-IP'} (nginx's default): Portico reads the client address from X-Forwarded-For`);
  }
  const recursive = effective(scope, 'real_ip_recursive')[0];
  if (!recursive || recursive.args[0]!.toLowerCase() !== 'on') {
    ctx.diag.warn(recursive ?? effective(scope, 'set_real_ip_from')[0]!, `real_ip_recursive off: Portico skips every trusted address in X-Forwarded-For (real_ip_recursive on)`);
  }
  return trusted.map((t) => (t === 'unix:' ? '127.0.0.1' : t));
}

/** nginx's per-address rules (ngx_http_add_addresses, ngx_http_server_names). */
function resolveAddresses(parsed: Parsed[], ctx: AdaptContext): void {
  const byKey = new Map<string, Parsed[]>();
  for (const p of parsed) for (const l of p.listens) byKey.set(l.key, [...(byKey.get(l.key) ?? []), p]);
  for (const [key, servers] of byKey) {
    const explicit = servers.filter((p) => p.listens.some((l) => l.key === key && l.defaultServer));
    if (explicit.length > 1) ctx.diag.error(explicit[1]!.listens.find((l) => l.key === key)!.d ?? explicit[1]!.d, `a duplicate default server for ${key}`);
    const defaultServer = explicit[0] ?? servers[0]!;
    const taken = new Map<string, Parsed>();
    for (const p of servers) {
      p.names.names = p.names.names.filter((n) => {
        const owner = taken.get(n.name);
        if (owner && owner !== p) {
          ctx.diag.warn(n.d, `conflicting server name "${n.name}" on ${key}, ignored`);
          return false;
        }
        taken.set(n.name, p);
        return true;
      });
    }
    for (const p of servers) {
      if (p.names.names.length > 0 || p === defaultServer) continue;
      ctx.diag.warn(p.listens.find((l) => l.key === key)?.d ?? p.d, `this server has no name and is not the default server for ${key}: it never answers there; left out`);
      p.listens = p.listens.filter((l) => l.key !== key);
    }
  }
}
