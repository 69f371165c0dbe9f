/**
 * One location (or a server's fallback) -> one Portico route: its rewrite rules, its handler
 * (a `return`, a `proxy_pass`, or the static files nginx would serve), and the headers and
 * logging that apply there after inheritance.
 */
import type { LocationNode, Scope } from '../scope.js';
import { effectiveOne, own } from '../scope.js';
import type { AdaptContext, ValueScope } from './context.js';
import { emitProxy } from './proxy.js';
import { emitScript } from './rewrite.js';
import { responseHeaders } from './headers.js';
import { routeAccessLog } from './logs.js';
import { emitFiles } from './files.js';
import { proxyBuffering, routeShield } from './shield.js';
import { located } from '../../diagnostics.js';
import { emitCompress } from './compress.js';
import { emitCache } from './cache.js';

export type RouteInput = Record<string, unknown> & { path: string };

const OTHER_PASSES = ['fastcgi_pass', 'uwsgi_pass', 'scgi_pass', 'grpc_pass', 'memcached_pass'];

export function emitRoute(
  path: string,
  scope: Scope,
  node: LocationNode | undefined,
  named: ReadonlyMap<string, LocationNode>,
  ctx: AdaptContext,
  serverValues: ValueScope,
): RouteInput | undefined {
  const vs: ValueScope = { constants: new Map(serverValues.constants), captures: new Set(serverValues.captures) };
  if (node?.match.kind === 'regex') for (const m of node.match.source.matchAll(/\(\?P?<([A-Za-z_]\w*)>/g)) vs.captures.add(m[1]!);
  const route: RouteInput = { path };
  const script = emitScript(scope, ctx, vs);
  if (script.rules.length > 0) route.rewrite = script.rules;
  let hide: string[] = [];
  if (script.terminal) Object.assign(route, script.terminal);
  else {
    const handler = contentHandler(scope, node, named, ctx, vs);
    Object.assign(route, handler.handler);
    hide = handler.hide;
  }
  const response = responseHeaders(scope, hide, ctx, vs);
  if (response) route.response_headers = response;
  const compress = emitCompress(scope, ctx);
  if (compress) route.compress = compress;
  const log = routeAccessLog(scope, ctx);
  if (log !== undefined) route.access_log = log;
  Object.assign(route, routeShield(scope, ctx, vs, ctx.topBodySize));
  const at = node?.scope.block ?? scope.block;
  return at ? located(route, at) : route;
}

interface Content {
  handler: Record<string, unknown>;
  hide: string[];
}

function contentHandler(scope: Scope, node: LocationNode | undefined, named: ReadonlyMap<string, LocationNode>, ctx: AdaptContext, vs: ValueScope): Content {
  const pass = own(scope, 'proxy_pass')[0];
  if (pass) {
    const out = emitProxy(pass, scope, node, ctx, vs);
    if (!out?.proxy) return { handler: { respond: { status: 502 } }, hide: [] };
    const buffering = proxyBuffering(scope);
    const handler: Record<string, unknown> = { proxy: buffering === undefined ? out.proxy : { ...out.proxy, buffering } };
    if (out.requestHeaders) handler.request_headers = out.requestHeaders;
    const cache = emitCache(scope, ctx, vs);
    if (cache) handler.cache = cache;
    const expires = effectiveOne(scope, 'expires');
    if (expires && expires.args[0] !== 'off') ctx.diag.warn(expires, `expires on a proxied location is not carried over: Portico sets Expires/Cache-Control on files only (use response_headers)`);
    return { handler, hide: out.hideHeaders };
  }
  if (OTHER_PASSES.some((p) => own(scope, p).length > 0)) return { handler: { respond: { status: 502 } }, hide: [] };
  if (own(scope, 'stub_status').length > 0) return { handler: { stub_status: true }, hide: [] };
  const out = emitFiles(scope, node, named, ctx, vs);
  if (!out) return { handler: { respond: { status: 404 } }, hide: [] };
  const handler: Record<string, unknown> = { files: out.files };
  if (out.fallback) {
    const fb = contentHandler(out.fallback.scope, out.fallback, named, ctx, vs);
    if (fb.handler.proxy) {
      out.files.fallback = { proxy: fb.handler.proxy };
      if (fb.handler.request_headers) handler.request_headers = fb.handler.request_headers;
      if (fb.handler.cache) handler.cache = fb.handler.cache;
    } else if (fb.handler.respond) {
      ctx.diag.warn(out.fallback.scope.block!, `named location "${out.fallback.text}" does not proxy: Portico's try_files fallback is a proxy; a miss is 404`);
    }
  }
  return { handler, hide: [] };
}
