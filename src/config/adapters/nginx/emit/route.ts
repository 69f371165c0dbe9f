/**
 * One location (or a server's fallback) -> one Portico route: its rewrite steps, its handler
 * (a `return`, a `proxy_pass`, or the static files nginx would serve), and the headers and
 * logging that apply there after inheritance. An `if` in the location whose block changes
 * settings becomes an `if` step with those settings as its `route` (a variant).
 */
import type { Directive } from '../parser.js';
import type { LocationNode, Scope } from '../scope.js';
import { makeScope, own } from '../scope.js';
import type { AdaptContext, ValueScope } from './context.js';
import { emitProxy } from './proxy.js';
import { emitScript, returnIsHandler, type Step } from './rewrite.js';
import { responseHeaders } from './headers.js';
import { routeAccessLog } from './logs.js';
import { documentRoot, emitFiles, indexRedirect } from './files.js';
import { literalTemplate } from '../../../../http/template.js';
import { proxyBuffering, routeShield } from './shield.js';
import { located } from '../../diagnostics.js';
import { emitCompress } from './compress.js';
import { emitLimitRate } from './limit-rate.js';
import { emitCache } from './cache.js';

export type RouteInput = Record<string, unknown> & { path: string };

const OTHER_PASSES = ['fastcgi_pass', 'uwsgi_pass', 'scgi_pass', 'grpc_pass', 'memcached_pass'];

/** The rewrite module's own directives: an `if` block holding only these has the location's settings. */
const SCRIPT_ONLY = new Set(['rewrite', 'return', 'break', 'set', 'if', 'rewrite_log', 'uninitialized_variable_warn']);

/** A location's settings that nginx does not merge into an `if` block's location (try_files: "if is evil"). */
const NOT_INTO_IF = ['try_files'];

/** A location's settings that nginx does merge into an `if` block although they are not inherited by nested locations. */
const INTO_IF = ['alias', 'proxy_pass', ...OTHER_PASSES];

export function emitRoute(
  path: string,
  scope: Scope,
  node: LocationNode | undefined,
  named: ReadonlyMap<string, LocationNode>,
  ctx: AdaptContext,
  serverValues: ValueScope,
): RouteInput | undefined {
  const vs: ValueScope = { constants: new Map(serverValues.constants), templates: new Map(serverValues.templates), captures: new Set(serverValues.captures) };
  if (node?.match.kind === 'regex') for (const m of node.match.source.matchAll(/\(\?P?<([A-Za-z_]\w*)>/g)) vs.captures.add(m[1]!);
  // The handler first: it knows $proxy_host, $document_root... that steps may read. A request
  // no location matches skips the rewrite phase (ngx_http_rewrite_handler: "server null
  // location"); the server's own steps ran before.
  const root = documentRoot(scope, node, ctx);
  if (root) {
    vs.constants.set('document_root', root.dir);
    // $request_filename: the root and $uri (an alias replaces the location's prefix: not carried over).
    if (!root.alias) vs.templates.set('request_filename', `${literalTemplate(root.dir.replace(/\/$/, ''))}{path}`);
  }
  const steps = node !== undefined;
  let mine = settings(scope, node, named, ctx, vs, !(steps && returnIsHandler(scope)));
  const route: RouteInput = { path };
  if (steps) {
    const script = emitScript(scope, ctx, vs, { variant: (d, at) => emitVariant(d, scope, node, named, ctx, at) });
    const except = script.terminal ? undefined : methodVariant(scope, node, named, ctx, vs);
    if (except) script.steps.unshift(except);
    // An absolute index is an internal redirect of the content phase: after the location's steps.
    const index = script.terminal || own(scope, 'proxy_pass').length > 0 ? undefined : indexRedirect(scope, node, ctx, vs);
    if (index) script.steps.push(index as Step);
    if (script.steps.length > 0) route.rewrite = script.steps;
    if (script.terminal) Object.assign(route, script.terminal);
    else if (returnIsHandler(scope)) mine = settings(scope, node, named, ctx, vs, true); // the return was left out
  }
  Object.assign(route, mine);
  const at = node?.scope.block ?? scope.block;
  return at ? located(route, at) : route;
}

/**
 * What a route does besides its steps: the handler (unless a `return` is the handler), the
 * response headers, logging and the limits, as they apply in `scope`.
 */
function settings(scope: Scope, node: LocationNode | undefined, named: ReadonlyMap<string, LocationNode>, ctx: AdaptContext, vs: ValueScope, withHandler: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let hide: string[] = [];
  let filesExpires = false;
  if (withHandler) {
    const handler = contentHandler(scope, node, named, ctx, vs);
    Object.assign(out, handler.handler);
    hide = handler.hide;
    filesExpires = (handler.handler.files as { expires?: unknown } | undefined)?.expires !== undefined;
  }
  const response = responseHeaders(scope, hide, ctx, vs, filesExpires);
  if (response) out.response_headers = response;
  const compress = emitCompress(scope, ctx);
  if (compress) out.compress = compress;
  const rate = emitLimitRate(scope, ctx, vs);
  if (rate) out.limit_rate = rate;
  const log = routeAccessLog(scope, ctx);
  if (log !== undefined) out.access_log = log;
  Object.assign(out, routeShield(scope, ctx, vs, ctx.topBodySize));
  return out;
}

/**
 * An `if` in a location: nginx makes its block a location of its own (ngx_http_rewrite_if),
 * merged with the location around it, and a request whose condition holds is served with it.
 * Its settings as a route, or undefined when they are the location's own (the block holds only
 * rewrite directives and the location nothing an `if` loses).
 */
function emitVariant(d: Directive, location: Scope, node: LocationNode | undefined, named: ReadonlyMap<string, LocationNode>, ctx: AdaptContext, at: ValueScope): Record<string, unknown> | undefined {
  if (location.kind !== 'location' && location.kind !== 'server') return undefined;
  const block = d.block ?? [];
  const own_ = block.some((b) => !SCRIPT_ONLY.has(b.name));
  const loses = NOT_INTO_IF.some((n) => own(location, n).length > 0);
  if (!own_ && !loses) return undefined;
  // What the `if` block's location has: its own directives, and those of the location that
  // nginx's merge carries into it (ngx_http_core_merge_loc_conf: alias; the content handler).
  const carried = INTO_IF.filter((n) => !block.some((b) => b.name === n) && !(n !== 'alias' && block.some((b) => b.name === 'proxy_pass' || OTHER_PASSES.includes(b.name))))
    .flatMap((n) => own(location, n));
  const pass = block.find((b) => b.name === 'proxy_pass');
  if (pass && /^https?:\/\/[^/]+\/./.test(pass.args[0]!) && !pass.args[0]!.includes('$')) {
    ctx.diag.error(pass, `"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block`);
    return undefined;
  }
  const scope = makeScope('location', location, d, [...block, ...carried]);
  const vs: ValueScope = { constants: new Map(at.constants), templates: new Map(at.templates), captures: new Set(at.captures) };
  return settings(scope, node, named, ctx, vs, true);
}

/**
 * `limit_except METHODS { proxy_pass ...; }`: the other methods are served by the block's
 * location (ngx_http_core_limit_except: a location of its own, merged with the one around it),
 * as an `if` on the method whose route is that block's settings. GET implies HEAD.
 */
function methodVariant(location: Scope, node: LocationNode | undefined, named: ReadonlyMap<string, LocationNode>, ctx: AdaptContext, vs: ValueScope): Step | undefined {
  const d = own(location, 'limit_except')[0];
  if (!d?.block?.some((b) => b.name === 'proxy_pass')) return undefined;
  const methods = d.args.map((m) => m.toUpperCase());
  if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
  const route = emitVariant({ ...d, block: d.block.filter((b) => b.name === 'proxy_pass') }, location, node, named, ctx, vs);
  if (route === undefined) return undefined;
  return { if: { value: '{method}', op: '!~', with: `^(?:${methods.join('|')})$` }, then: [], route };
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
