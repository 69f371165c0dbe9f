/**
 * A site's (or a handle's) directives -> Portico routes, with Caddy's semantics:
 *  - directives run in Caddy's fixed order (https://caddyserver.com/docs/caddyfile/directives#directive-order),
 *    same-named ones by path specificity (a single path matcher first, longer first, `/x`
 *    before `/x*`), then other matchers in file order, then none; `route` keeps file order;
 *  - the first terminal directive (respond, redir, reverse_proxy, file_server) whose matcher
 *    matches answers; `handle` blocks are mutually exclusive in the same way;
 *  - middleware before a terminal (header, uri, rewrite, root, try_files) applies when its own
 *    matcher matches: fully when it covers the terminal's path, and for a narrower matcher a
 *    route of its own is split off for that path.
 * Every route is a case-insensitive regex route in that order (Portico tries regex routes in
 * order, first match wins, exactly Caddy's rule), except the catch-all, which is the "/" prefix.
 */
import type { Directive } from './parser.js';
import type { Token } from './lexer.js';
import { CADDY_DIRECTIVES, orderOf, sortName } from './registry.js';
import { ALL, covers, matcherDefinitions, matcherOf, patternRegex, type Matcher, type PathPattern } from './matchers.js';
import { cloneState, emptyState, type CaddyContext, type RouteState } from './context.js';
import { headerOps } from './directives/headers.js';
import { errorResponse, redir, respond } from './directives/responses.js';
import { reverseProxy } from './directives/reverse-proxy.js';
import { fileServer, rootDirective, tryFiles } from './directives/file-server.js';
import { rewriteRule, uri } from './directives/uri.js';
import { basicAuth, requestBody } from './directives/limits.js';

export interface Candidate {
  pattern: PathPattern;
  handler: Record<string, unknown>;
  state: RouteState;
  d: Directive;
}

export interface BlockResult {
  candidates: Candidate[];
  /** Site-level rewrites (run before a route is chosen). */
  serverRewrites: { match: string; to: string; flag: string }[];
  trustedProxies: string[];
}

interface Pending {
  d: Directive;
  matcher: Matcher | undefined;
  args: Token[];
}

export function routesOf(dirs: readonly Directive[], ctx: CaddyContext, opts: { siteLevel: boolean; ordered: boolean; named?: ReadonlyMap<string, Matcher> }): BlockResult {
  const named = matcherDefinitions(dirs, ctx.diag, opts.named);
  const out: BlockResult = { candidates: [], serverRewrites: [], trustedProxies: [] };
  const entries: Pending[] = [];
  for (const d of dirs) {
    if (d.name.startsWith('@')) continue;
    const spec = CADDY_DIRECTIVES[d.name];
    if (!spec) {
      ctx.diag.error(d, `unrecognized directive: ${d.name}`);
      continue;
    }
    if (spec.kind === 'site') continue;
    if (spec.support.kind === 'warn') {
      ctx.diag.warn(d, `${d.name} is not carried over: ${spec.support.why}`);
      continue;
    }
    const { matcher, args } = matcherOf(d, named, ctx.diag);
    if (matcher && !usable(matcher, d, ctx)) continue;
    entries.push({ d, matcher, args });
  }
  const sorted = opts.ordered ? entries : sortByOrder(entries);
  const middleware: Pending[] = [];
  let rewrites = 0;
  for (const e of sorted) {
    const spec = CADDY_DIRECTIVES[e.d.name]!;
    if (spec.kind === 'middleware') {
      if (e.d.name === 'rewrite' && opts.siteLevel) {
        // Site-level rewrites run before the route is chosen; in Caddy only the first that matches applies.
        for (const p of patternsOf(e.matcher)) {
          const rule = rewriteRule(ctx, e.d, e.args, p, 'last');
          if (rule) out.serverRewrites.push(rule);
        }
        rewrites++;
        continue;
      }
      middleware.push(e);
      continue;
    }
    if (spec.kind === 'group') {
      const inner = group(e, ctx, named);
      for (const c of inner.candidates) out.candidates.push(...applyMiddleware(c, middleware, ctx));
      out.trustedProxies.push(...inner.trustedProxies);
      continue;
    }
    for (const p of patternsOf(e.matcher)) {
      const base: Candidate = { pattern: p, handler: {}, state: emptyState(), d: e.d };
      if (e.matcher && e.matcher.remoteIps.length > 0) base.state.remoteIps = e.matcher.remoteIps;
      for (const c of applyMiddleware(base, middleware, ctx)) {
        const handler = terminal(e, ctx, c.state, out);
        if (handler) out.candidates.push({ ...c, handler });
      }
    }
  }
  return out;
}

/**
 * Conditions Portico cannot route on: a `method` condition is dropped (the route then answers
 * every method); any other (header, not, query, host...) leaves the directive out, so that
 * nothing meant for a few clients is served to all of them. `remote_ip`/`client_ip` become the
 * route's `match.remote_ip`.
 */
function usable(m: Matcher, d: Directive, ctx: CaddyContext): boolean {
  if (m.remoteIps.length > 0 && CADDY_DIRECTIVES[d.name]?.kind === 'middleware') {
    ctx.diag.warn(d, `matcher ${m.label}: Portico checks remote_ip on routes, not on ${d.name}; this ${d.name} is left out`);
    return false;
  }
  const risky = m.dropped.filter((c) => !c.startsWith('method '));
  if (risky.length > 0 || m.hosts.length > 0) {
    const what = [...risky, ...(m.hosts.length > 0 ? [`host ${m.hosts.join(' ')}`] : [])].join('", "');
    ctx.diag.warn(d, `matcher ${m.label}: Portico routes by path only and cannot check "${what}"; this ${d.name} is left out`);
    return false;
  }
  for (const c of m.dropped) ctx.diag.warn(d, `matcher ${m.label}: Portico routes by path only; "${c}" is dropped, so every method matches`);
  return true;
}

function patternsOf(m: Matcher | undefined): PathPattern[] {
  if (!m || m.paths.length === 0) return [{ kind: 'all' }];
  return m.paths;
}

/** Caddy's sort (httpcaddyfile/directives.go, sortRoutes): directive order, then path specificity. */
function sortByOrder(entries: Pending[]): Pending[] {
  const rank = (e: Pending) => (e.matcher === undefined ? 2 : e.args !== e.d.args && e.d.args[0]!.text.startsWith('/') ? 0 : 1);
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => {
      const o = orderOf(a.e.d.name) - orderOf(b.e.d.name);
      if (o !== 0 || sortName(a.e.d.name) !== sortName(b.e.d.name)) return o || a.i - b.i;
      const ra = rank(a.e);
      const rb = rank(b.e);
      if (ra !== rb) return ra - rb;
      if (ra === 0) {
        const pa = a.e.d.args[0]!.text;
        const pb = b.e.d.args[0]!.text;
        if (pa.replace(/\*$/, '') === pb.replace(/\*$/, '')) return pa.length - pb.length;
        if (pa.length !== pb.length) return pb.length - pa.length;
      }
      return a.i - b.i;
    })
    .map((x) => x.e);
}

function group(e: Pending, ctx: CaddyContext, named: ReadonlyMap<string, Matcher>): BlockResult {
  const inner = routesOf(e.d.block ?? [], ctx, { siteLevel: false, ordered: e.d.name === 'route', named });
  const patterns = patternsOf(e.matcher);
  let strip: string | undefined;
  if (e.d.name === 'handle_path') {
    const p = patterns[0]!;
    if (!e.matcher || p.kind !== 'prefix' || patterns.length > 1) ctx.diag.error(e.d, 'handle_path: expected one path prefix such as /api/*');
    else strip = p.path.replace(/\/$/, '');
  }
  const candidates: Candidate[] = [];
  for (const gp of patterns) {
    for (const c of inner.candidates) {
      const pattern = intersect(gp, c.pattern, ctx, e.d);
      if (!pattern) continue;
      const state = cloneState(c.state);
      if (e.matcher && e.matcher.remoteIps.length > 0) {
        if (state.remoteIps) ctx.diag.warn(c.d, 'remote_ip inside a block that has remote_ip too: Portico keeps the inner one');
        else state.remoteIps = e.matcher.remoteIps;
      }
      if (strip !== undefined) {
        if (state.strip !== undefined) ctx.diag.warn(c.d, 'uri strip_prefix inside handle_path: Portico strips once; the handle_path prefix is kept');
        else state.strip = strip;
        if (c.handler.files) {
          const files = c.handler.files as Record<string, unknown>;
          if (files.root !== undefined) {
            files.alias = files.root;
            delete files.root;
          }
        }
      }
      candidates.push({ ...c, pattern, state });
    }
  }
  return { candidates, serverRewrites: [], trustedProxies: inner.trustedProxies };
}

/** The paths both a group's matcher and an inner one match (literal patterns only). */
function intersect(outer: PathPattern, inner: PathPattern, ctx: CaddyContext, d: Directive): PathPattern | undefined {
  if (covers(outer, inner)) return inner;
  if (covers(inner, outer)) return outer;
  if (outer.kind !== 'regex' && inner.kind !== 'regex') return undefined; // disjoint literals
  ctx.diag.warn(d, 'a matcher inside this block is combined with the block\'s own by the block\'s path only');
  return outer;
}

/**
 * The route(s) a terminal gets from the middleware before it: middleware whose matcher covers
 * the terminal's path applies; one with a narrower path splits off a route for that path.
 */
function applyMiddleware(c: Candidate, middleware: readonly Pending[], ctx: CaddyContext): Candidate[] {
  let routes: Candidate[] = [c];
  for (const m of middleware) {
    const next: Candidate[] = [];
    for (const r of routes) {
      const applies = patternsOf(m.matcher);
      const narrower = applies.filter((p) => !covers(p, r.pattern) && covers(r.pattern, p));
      for (const p of narrower) {
        const split: Candidate = { ...r, pattern: p, state: cloneState(r.state) };
        middlewareInto(m, split.state, ctx);
        next.push(split);
      }
      if (applies.some((p) => covers(p, r.pattern))) middlewareInto(m, r.state, ctx);
      else if (narrower.length === 0 && applies.some((p) => p.kind === 'regex' || r.pattern.kind === 'regex')) {
        ctx.diag.warn(m.d, `${m.d.name}: Portico cannot tell whether its matcher overlaps the route at line ${r.d.line}; not applied there`);
      }
      next.push(r);
    }
    routes = next;
  }
  return routes;
}

function middlewareInto(m: Pending, state: RouteState, ctx: CaddyContext): void {
  switch (m.d.name) {
    case 'header':
      return headerOps(ctx, m.d, m.args.map((t) => t.text), state.responseHeaders);
    case 'request_header':
      return headerOps(ctx, m.d, m.args.map((t) => t.text), state.requestHeaders, undefined, true);
    case 'uri':
      return uri(ctx, m.d, m.args, state);
    case 'rewrite': {
      const rule = rewriteRule(ctx, m.d, m.args, ALL.paths[0]!, 'break');
      if (rule) state.rewrite.push(rule);
      return;
    }
    case 'root':
      return rootDirective(ctx, m.d, m.args, state);
    case 'try_files':
      return tryFiles(ctx, m.d, m.args, state);
    case 'request_body':
      return requestBody(ctx, m.d, state);
    case 'basic_auth':
    case 'basicauth':
      return basicAuth(ctx, m.d, m.args, state);
  }
}

function terminal(e: Pending, ctx: CaddyContext, state: RouteState, out: BlockResult): Record<string, unknown> | undefined {
  switch (e.d.name) {
    case 'respond':
      return respond(ctx, e.d, e.args);
    case 'redir':
      return redir(ctx, e.d, e.args);
    case 'error':
    case 'abort':
      return errorResponse(ctx, e.d, e.args);
    case 'reverse_proxy': {
      const r = reverseProxy(ctx, e.d, e.args, state);
      if (r) out.trustedProxies.push(...r.trustedProxies);
      return r?.handler;
    }
    case 'file_server':
      return fileServer(ctx, e.d, e.args, state);
  }
  return undefined;
}

/** The regex of a route for `pattern` (case-insensitive, as Caddy matches paths), or "/" for everything. */
export function routePath(pattern: PathPattern): string {
  if (pattern.kind === 'all') return '/';
  const re = patternRegex(pattern);
  return re.startsWith('(?i)') ? `~* ${re.slice(4)}` : `~ ${re}`;
}
