/**
 * `proxy_pass` and the directives around it (https://nginx.org/en/docs/http/ngx_http_proxy_module.html)
 * -> a Portico `proxy` handler and the route's `request_headers`:
 *  - `proxy_pass http://host:port` sends the path as received; with a URI part
 *    (`http://host/v1/`) the location's prefix is replaced by it, literally (`path_prefix`);
 *  - `proxy_set_header` is inherited only by levels that set none (resolved by the caller);
 *    without `Host` in the list nginx sends `Host: $proxy_host`, and so does the adapted route;
 *  - Portico already sets X-Forwarded-For/-Proto/-Host and X-Real-IP and handles Connection and
 *    Upgrade (WebSockets) itself, so the usual lines for those are left out rather than copied;
 *  - `proxy_connect_timeout`, `proxy_read_timeout` map to `connect_timeout`, `read_timeout`;
 *  - `proxy_pass http://NAME` names the `upstream NAME` pool, `https://` servers are verified
 *    TLS, `http://unix:/path:` is a unix socket; proxy_next_upstream* become the pool's retry.
 */
import { located } from '../../diagnostics.js';
import type { Directive } from '../parser.js';
import { effective, effectiveOne, type LocationNode, type Scope } from '../scope.js';
import { template, type AdaptContext, type ValueScope } from './context.js';
import { hostPort, poolName, poolOf } from './upstreams.js';
import { isAbsolute, join } from 'node:path';
import { variablesIn } from '../variables.js';
import { duration, parseTime } from './values.js';
import { PORTICO_FRAMED } from '../../../schema.js';

export interface ProxyOutput {
  /** undefined: nothing Portico can proxy to (the route answers 502). */
  proxy: Record<string, unknown> | undefined;
  requestHeaders: { set?: Record<string, string>; remove?: string[] } | undefined;
  hideHeaders: string[];
}

/** Lines Portico does by itself: header name -> the nginx values that mean "the usual thing". */
const PORTICO_DOES: Record<string, readonly string[]> = {
  'x-forwarded-for': ['$proxy_add_x_forwarded_for'],
  'x-real-ip': ['$remote_addr'],
  'x-forwarded-proto': ['$scheme'],
  host: ['$http_host'],
};
/** Framing and hop-by-hop headers: Portico writes them itself, and request_headers may not name them. */
const HOP_BY_HOP: ReadonlySet<string> = new Set(PORTICO_FRAMED);

export function emitProxy(d: Directive, scope: Scope, node: LocationNode | undefined, ctx: AdaptContext, vs: ValueScope): ProxyOutput | undefined {
  const target = parseTarget(d, scope, ctx);
  if (!target) return undefined;
  const { to, proxyHost, uri } = target;
  if (to === undefined) return { proxy: undefined, requestHeaders: undefined, hideHeaders: [] };
  const proxy: Record<string, unknown> = { to };
  if (uri !== undefined) {
    const m = node?.match;
    if (!m || m.kind === 'regex' || m.kind === 'named' || d.block) {
      ctx.diag.error(
        d,
        `"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block`,
      );
      return undefined;
    }
    proxy.path_prefix = uri;
  }
  for (const [name, key] of [
    ['proxy_connect_timeout', 'connect_timeout'],
    ['proxy_read_timeout', 'read_timeout'],
  ] as const) {
    const t = effectiveOne(scope, name);
    if (!t) continue;
    const ms = parseTime(t.args[0]!);
    if (ms === undefined) ctx.diag.error(t, `"${name}" directive invalid value`);
    else proxy[key] = duration(ms);
  }
  if (target.keepaliveTimeout !== undefined) proxy.keepalive_timeout = duration(target.keepaliveTimeout);
  vs.constants.set('proxy_host', proxyHost);
  vs.constants.set('proxy_port', proxyHost.includes(':') ? proxyHost.slice(proxyHost.lastIndexOf(':') + 1) : '80');
  // nginx tunnels an Upgrade only when it passes the header on (proxy_set_header Upgrade
  // $http_upgrade); otherwise the request goes upstream as a plain one, as with `upgrade: []`.
  if (!effective(scope, 'proxy_set_header').some((h) => h.args[0]!.toLowerCase() === 'upgrade' && h.args[1] !== '')) proxy.upgrade = [];
  const headers = requestHeaders(scope, proxyHost, ctx, vs);
  const redirects = redirectRules(d, scope, node, uri, ctx, vs);
  if (redirects.length > 0) proxy.redirect = redirects;
  // Portico's own default (the servers' addresses) only where nginx's default is in effect.
  if (!defaultRedirect(scope)) proxy.redirect_default = false;
  return { proxy, requestHeaders: headers, hideHeaders: effective(scope, 'proxy_hide_header').map((h) => h.args[0]!) };
}

/**
 * proxy_redirect (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_redirect).
 * `default` (also what no directive means) replaces the proxy_pass URL with the location:
 * "http://app/two/" -> "/one/" with a URI part, "http://app/" -> "/" without one.
 */
function redirectRules(
  pass: Directive,
  scope: Scope,
  node: LocationNode | undefined,
  uri: string | undefined,
  ctx: AdaptContext,
  vs: ValueScope,
): { from: string; to: string }[] {
  const list = effective(scope, 'proxy_redirect');
  if (list.some((r) => r.args[0] === 'off')) return [];
  const defaultRule = () => {
    const url = pass.args[0]!;
    const name = node && node.match.kind !== 'regex' && node.match.kind !== 'named' ? node.match.path : undefined;
    if (uri !== undefined && name !== undefined) return { from: url, to: name };
    return { from: `${url}/`, to: '/' };
  };
  if (list.length === 0) return [defaultRule()];
  const out: { from: string; to: string }[] = [];
  for (const r of list) {
    if (r.args[0] === 'default') {
      out.push(defaultRule());
      continue;
    }
    const [from, to] = r.args as [string, string | undefined];
    if (to === undefined || from.startsWith('~')) {
      ctx.diag.warn(r, `proxy_redirect ${r.args.join(' ')}: Portico replaces fixed prefixes only; left out`);
      continue;
    }
    const f = template(ctx, vs, r, from, 'proxy_redirect');
    const t = template(ctx, vs, r, to, 'proxy_redirect');
    if (f === undefined || t === undefined) continue;
    if (f.includes('{') || t.includes('{')) {
      ctx.diag.warn(r, `proxy_redirect ${r.args.join(' ')}: Portico replaces fixed prefixes only; left out`);
      continue;
    }
    out.push({ from: f, to: t });
  }
  return out;
}

/** Whether nginx applies `proxy_redirect default` here: no directive, or one naming it (not `off`). */
function defaultRedirect(scope: Scope): boolean {
  const list = effective(scope, 'proxy_redirect');
  if (list.some((r) => r.args[0] === 'off')) return false;
  return list.length === 0 || list.some((r) => r.args[0] === 'default');
}

interface Target {
  /** proxy.to: a pool name, an address, or an inline pool. */
  to: unknown;
  /** nginx's $proxy_host: what it sends as Host by default. */
  proxyHost: string;
  uri: string | undefined;
  keepaliveTimeout: number | undefined;
}

const UNAVAILABLE: Target = { to: undefined, proxyHost: '', uri: undefined, keepaliveTimeout: undefined };

function parseTarget(d: Directive, scope: Scope, ctx: AdaptContext): Target | undefined {
  let url = d.args[0]!;
  const m = /^(https?):\/\/(.*)$/i.exec(url);
  if (!m && variablesIn(url).length > 0) {
    // nginx parses a URL built from variables per request (and answers 500 for a bad one).
    ctx.diag.warn(d, `proxy_pass "${url}": Portico cannot choose the upstream or its path from variables; the route answers 502`);
    return UNAVAILABLE;
  }
  if (!m) {
    ctx.diag.error(d, `invalid URL prefix in "${url}"`);
    return undefined;
  }
  const scheme = m[1]!.toLowerCase() as 'http' | 'https';
  url = m[2]!;
  if (url.startsWith('unix:')) {
    // http://unix:/path/to.sock:/uri
    const rest = url.slice(5);
    const colon = rest.indexOf(':');
    const path = colon < 0 ? rest : rest.slice(0, colon);
    const uri = colon < 0 || rest.slice(colon + 1) === '' ? undefined : rest.slice(colon + 1);
    return { to: `unix:${path}`, proxyHost: 'localhost', uri, keepaliveTimeout: undefined };
  }
  const slash = url.indexOf('/');
  let authority = slash < 0 ? url : url.slice(0, slash);
  let uri = slash < 0 ? undefined : url.slice(slash);
  // `http://app$request_uri` sends the URI as received: what proxy_pass without a URI part does.
  if (authority.endsWith('$request_uri')) {
    authority = authority.slice(0, -'$request_uri'.length);
    uri = undefined;
  }
  if (variablesIn(authority).length > 0 || (uri !== undefined && variablesIn(uri).length > 0)) {
    ctx.diag.warn(d, `proxy_pass "${d.args[0]}": Portico cannot choose the upstream or its path from variables; the route answers 502`);
    return UNAVAILABLE;
  }
  const tls = scheme === 'https' ? upstreamTls(scope, d, ctx) : undefined;
  const upstream = ctx.upstreams.get(authority.includes(':') ? authority.slice(0, authority.lastIndexOf(':')) : authority);
  if (upstream) {
    if (authority.includes(':')) {
      ctx.diag.error(d, `upstream "${upstream.name}" may not have port ${authority.slice(authority.lastIndexOf(':') + 1)}`);
      return undefined;
    }
    if (upstream.servers.length > 0 && upstream.servers.every((s) => s.down || s.backup)) {
      // nginx starts, and answers 502 ("no live upstreams"): Portico's pool needs a live server.
      ctx.diag.warn(d, `upstream "${upstream.name}" has no server that is not down (or backup): nginx answers 502 to every request, and so does this route`);
      return UNAVAILABLE;
    }
    const name = poolName(upstream.name);
    let pool = ctx.usedPools.get(name);
    if (!pool) {
      pool = located(poolOf(upstream, scheme, ctx.diag), upstream.d);
      if (tls) pool.tls = tls;
      ctx.usedPools.set(name, pool);
    }
    addRetry(pool, scope, ctx);
    return { to: name, proxyHost: upstream.name, uri, keepaliveTimeout: upstream.keepaliveTimeout };
  }
  const address = hostPort(authority, scheme === 'https' ? 443 : 80);
  if (!address) {
    ctx.diag.error(d, `invalid host in "${d.args[0]}"`);
    return undefined;
  }
  const server = scheme === 'https' ? `https://${address}` : address;
  return { to: tls ? { servers: [server], tls } : server, proxyHost: authority, uri, keepaliveTimeout: undefined };
}

/**
 * TLS to an https:// upstream (proxy_ssl_*). nginx does not verify the upstream's certificate
 * unless `proxy_ssl_verify on`; Portico does, against the system CAs: said once per location.
 */
function upstreamTls(scope: Scope, d: Directive, ctx: AdaptContext): Record<string, unknown> | undefined {
  const tls: Record<string, unknown> = {};
  const verify = effectiveOne(scope, 'proxy_ssl_verify');
  const trusted = effectiveOne(scope, 'proxy_ssl_trusted_certificate');
  const name = effectiveOne(scope, 'proxy_ssl_name');
  if (verify?.args[0]!.toLowerCase() === 'off') tls.insecure_skip_verify = true;
  else if (!verify) ctx.diag.warn(d, `proxy_pass ${d.args[0]}: nginx does not verify the upstream's certificate by default (proxy_ssl_verify off); Portico does`);
  if (trusted && verify?.args[0]!.toLowerCase() === 'on') tls.ca = isAbsolute(trusted.args[0]!) ? trusted.args[0] : join(ctx.confDir, trusted.args[0]!);
  if (name && !name.args[0]!.includes('$')) tls.server_name = name.args[0];
  return Object.keys(tls).length > 0 ? tls : undefined;
}

const NEXT_UPSTREAM: Record<string, string | undefined> = {
  error: 'error',
  timeout: 'timeout',
  invalid_header: 'error',
  http_500: 'http_500',
  http_502: 'http_502',
  http_503: 'http_503',
  http_504: 'http_504',
  http_429: 'http_429',
  non_idempotent: 'non_idempotent',
};

/**
 * proxy_next_upstream, _tries, _timeout (location-level in nginx) -> the pool's `retry`. A pool
 * named by several locations keeps the first location's settings.
 */
function addRetry(pool: Record<string, unknown>, scope: Scope, ctx: AdaptContext): void {
  const on = effectiveOne(scope, 'proxy_next_upstream');
  const tries = effectiveOne(scope, 'proxy_next_upstream_tries');
  const timeout = effectiveOne(scope, 'proxy_next_upstream_timeout');
  if (!on && !tries && !timeout) return;
  const retry: Record<string, unknown> = {};
  if (on) {
    const list: string[] = [];
    for (const v of on.args) {
      if (v === 'off') continue;
      const mapped = NEXT_UPSTREAM[v];
      if (mapped === undefined) ctx.diag.warn(on, `proxy_next_upstream ${v} is not carried over: Portico retries on error, timeout and 5xx/429 statuses (idempotent requests only)`);
      else if (!list.includes(mapped)) list.push(mapped);
    }
    retry.on = on.args.includes('off') ? [] : list;
  }
  if (tries && tries.args[0] !== '0') retry.tries = Number(tries.args[0]);
  if (timeout) {
    const ms = parseTime(timeout.args[0]!);
    if (ms === undefined) ctx.diag.error(timeout, `"proxy_next_upstream_timeout" directive invalid value`);
    // nginx only bounds its tries by it, never waits for a server to come back (try_interval 0).
    else if (ms > 0) Object.assign(retry, { try_duration: duration(ms), try_interval: '0s' });
  }
  if (pool.retry === undefined) pool.retry = retry;
  else if (JSON.stringify(pool.retry) !== JSON.stringify(retry)) ctx.diag.warn(on ?? tries ?? timeout!, `proxy_next_upstream here differs from another location using the same upstream: Portico keeps one per pool (the first)`);
}

function requestHeaders(scope: Scope, proxyHost: string, ctx: AdaptContext, vs: ValueScope): ProxyOutput['requestHeaders'] {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  let hasHost = false;
  for (const h of effective(scope, 'proxy_set_header')) {
    const [name, value] = h.args as [string, string];
    const lower = name.toLowerCase();
    if (lower === 'host') hasHost = true;
    if (HOP_BY_HOP.has(lower)) continue; // Portico manages these (keep-alive, WebSocket upgrades)
    if (PORTICO_DOES[lower]?.includes(value)) continue;
    if (value === '') {
      remove.push(name);
      continue;
    }
    if (value.includes('$proxy_add_x_forwarded_for')) {
      ctx.diag.warn(h, `proxy_set_header ${name}: $proxy_add_x_forwarded_for is only carried over as X-Forwarded-For (Portico's own); left out`);
      continue;
    }
    const t = template(ctx, vs, h, value, `proxy_set_header ${name}`);
    if (t !== undefined) set[name] = t;
  }
  // nginx's default when no level sets Host: the name written in proxy_pass.
  if (!hasHost && proxyHost !== '') set.Host = proxyHost;
  if (Object.keys(set).length === 0 && remove.length === 0) return undefined;
  return { ...(Object.keys(set).length > 0 ? { set } : {}), ...(remove.length > 0 ? { remove } : {}) };
}
