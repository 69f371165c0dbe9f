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
import { cloneState, emptyState, type CaddyContext, type MatchSet, type RouteState } from './context.js';
import { headerOps } from './directives/headers.js';
import { errorResponse, redir, respond } from './directives/responses.js';
import { reverseProxy } from './directives/reverse-proxy.js';
import { fileServer, rootDirective, tryFiles } from './directives/file-server.js';
import { rewriteRule, uri } from './directives/uri.js';
import { basicAuth, requestBody } from './directives/limits.js';
import { encode } from './directives/encode.js';

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
      const plugin = PLUGINS[d.name];
      ctx.diag.error(d, plugin ? `unrecognized directive: ${d.name} (${plugin}, a plugin Portico does not have; it restricts requests, so it cannot be left out)` : `unrecognized directive: ${d.name}`);
      continue;
    }
    if (spec.kind === 'site') continue;
    if (spec.support.kind === 'warn') {
      ctx.diag.warn(d, `${d.name} is not carried over: ${spec.support.why}`);
      continue;
    }
    if (spec.support.kind === 'refuse') {
      ctx.diag.error(d, `${d.name} cannot be carried over: ${spec.support.why}`);
      continue;
    }
    const { matcher, args } = matcherOf(d, named, ctx.diag);
    if (matcher && !usable(matcher, d, ctx, opts.siteLevel)) continue;
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
      if (e.matcher?.match) base.state.match = e.matcher.match;
      for (const c of applyMiddleware(base, middleware, ctx)) {
        const handler = terminal(e, ctx, c.state, out);
        if (handler) out.candidates.push({ ...c, handler });
      }
    }
  }
  return out;
}

/** Well-known plugin directives that restrict requests, named in the error (Caddy itself refuses them without the plugin). */
const PLUGINS: Record<string, string> = {
  rate_limit: 'github.com/mholt/caddy-ratelimit',
  authorize: 'caddy-security',
  authenticate: 'caddy-security',
  jwtauth: 'caddy-jwt',
  crowdsec: 'caddy-crowdsec-bouncer',
  coraza_waf: 'coraza-caddy',
};

/**
 * Directives that refuse or guard the requests their matcher picks: error, abort, redir and a
 * respond with an error status (or `close`) refuse them; basic_auth, forward_auth and
 * request_body hold them back; a group does whatever its directives do. Leaving one of them
 * out because Portico cannot evaluate its matcher would serve those requests as if nothing
 * were written, so that refuses the config. (A 2xx respond left out is warned about.)
 */
const GATES = new Set(['error', 'abort', 'redir', 'basic_auth', 'basicauth', 'forward_auth', 'request_body']);

export function gates(d: Directive): boolean {
  if (GATES.has(d.name)) return true;
  if (d.name === 'respond') {
    const [a, b] = d.args.filter((t) => !t.text.startsWith('@') && t.text !== '*' && !(t === d.args[0] && t.text.startsWith('/') && !t.quoted));
    const status = a && /^\d{3}$/.test(a.text) && !a.quoted ? a.text : (b?.text ?? '200');
    return Number(status) >= 400 || (d.block ?? []).some((s) => s.name === 'close');
  }
  return CADDY_DIRECTIVES[d.name]?.kind === 'group' && (d.block ?? []).some(gates);
}

/**
 * Conditions Portico cannot check (`file`, `tls`, a `vars` on a variable, an expression it cannot
 * read): the directive is left out, so that nothing meant for a few clients is served to all of
 * them - or, for a directive that answers or guards requests (GATES), the config is refused.
 * A site-level `rewrite` runs before any route is chosen, where no condition but the path is
 * checked: with other conditions it is left out the same way.
 */
function usable(m: Matcher, d: Directive, ctx: CaddyContext, siteLevel: boolean): boolean {
  const leaveOut = (why: string) => {
    if (gates(d)) ctx.diag.error(d, `matcher ${m.label}: ${why}; leaving this ${d.name} out would serve the requests it answers or guards, so it cannot be carried over`);
    else ctx.diag.warn(d, `matcher ${m.label}: ${why}; this ${d.name} is left out`);
    return false;
  };
  if (m.dropped.length > 0) return leaveOut(`Portico cannot check "${m.dropped.join('", "')}"`);
  if (m.match && siteLevel && d.name === 'rewrite') return leaveOut('a site-level rewrite runs before routing, where Portico checks the path only');
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
    // Caddy strips the matcher's path up to its "*" (httpcaddyfile/builtins.go, parseHandlePath).
    if (!e.matcher || (p.kind !== 'prefix' && p.kind !== 'exact') || patterns.length > 1) ctx.diag.error(e.d, 'handle_path: expected one path prefix such as /api/*');
    else strip = p.path.replace(/\/$/, '');
  }
  const candidates: Candidate[] = [];
  for (const gp of patterns) {
    for (const c of inner.candidates) {
      const pattern = intersect(gp, c.pattern, ctx, e.d);
      if (!pattern) continue;
      const state = cloneState(c.state);
      if (e.matcher?.match) state.match = joinMatch(e.matcher.match, state.match);
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

/** Both sets hold: one set when their conditions differ, else `all` of them. */
export function joinMatch(outer: MatchSet | undefined, inner: MatchSet | undefined): MatchSet | undefined {
  if (!outer) return inner;
  if (!inner) return outer;
  const overlap = Object.keys(inner).some((k) => k in outer);
  return overlap ? { all: [outer, inner] } : { ...outer, ...inner };
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
    const cond = m.matcher?.match;
    // With conditions besides the path, the middleware applies to a copy of the route that
    // checks them, tried first; the route without them follows.
    const split = (r: Candidate, pattern: PathPattern): Candidate => {
      const s: Candidate = { ...r, pattern, state: cloneState(r.state) };
      s.state.match = joinMatch(r.state.match, cond);
      middlewareInto(m, s.state, ctx);
      return s;
    };
    for (const r of routes) {
      const applies = patternsOf(m.matcher);
      const narrower = applies.filter((p) => !covers(p, r.pattern) && covers(r.pattern, p));
      for (const p of narrower) next.push(split(r, p));
      if (applies.some((p) => covers(p, r.pattern))) {
        if (cond) next.push(split(r, r.pattern));
        else middlewareInto(m, r.state, ctx);
      } else if (narrower.length === 0 && applies.some((p) => p.kind === 'regex' || r.pattern.kind === 'regex')) {
        const why = `${m.d.name}: Portico cannot tell whether its matcher overlaps the route at line ${r.d.line}`;
        if (gates(m.d)) ctx.diag.error(m.d, `${why}, and not applying it there could let requests through unguarded; give both plain path matchers`);
        else ctx.diag.warn(m.d, `${why}; not applied there`);
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
    case 'encode':
      return encode(ctx, m.d, m.args, state);
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

export { routePath } from './matchers.js';
