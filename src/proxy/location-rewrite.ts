/**
 * nginx's proxy_redirect (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_redirect):
 * an upstream's `Location`, and the URL of a `Refresh` ("5; url=..."), that start with a rule's
 * `from` get its `to` instead; the first rule that matches wins. The rules are made once per
 * upstream server when the route compiles: the route's `proxy.redirect` list, then the default
 * rule (`proxy.redirect_default`, on unless turned off, as nginx's implicit `proxy_redirect
 * default`), which maps the server's own address and the path prefix sent to it back to the
 * route's: behind `strip_prefix: /app`, 127.0.0.1:8000 answering `Location:
 * http://127.0.0.1:8000/next/` sends the client `/app/next/`, not an address it cannot (and
 * should not) reach. The result is a relative reference (RFC 9110 §10.2.2), resolved by the
 * client against the URL it asked for; nginx writes it out absolute (absolute_redirect).
 */
import type { Transport } from '../upstream/transport.js';

export interface RedirectRule {
  readonly from: string;
  readonly to: string;
}

/** How the path sent upstream relates to the client's (handlers/proxy.ts upstreamPath). */
export interface PathMapping {
  /** strip_prefix: removed from the client's path. */
  readonly strip: string | undefined;
  /** path_prefix: the route's prefix `from` replaced by `to`. */
  readonly replace: { readonly from: string; readonly to: string } | undefined;
}

/**
 * The rules for one upstream server: the explicit ones, then (with `useDefault`) the server's
 * own origin, as http://host:port and without a default port, followed by the upstream side of
 * the path mapping. A unix socket has no origin an application would put in a URL: none.
 */
export function redirectRules(explicit: readonly RedirectRule[], useDefault: boolean, transport: Transport, paths: PathMapping): RedirectRule[] {
  const rules = [...explicit];
  if (!useDefault || transport.address.startsWith('unix:')) return rules;
  let upstreamPrefix = '/';
  let clientPrefix = '/';
  if (paths.replace !== undefined) {
    upstreamPrefix = paths.replace.to;
    clientPrefix = paths.replace.from;
  } else if (paths.strip !== undefined) {
    clientPrefix = paths.strip.endsWith('/') ? paths.strip : `${paths.strip}/`;
  }
  for (const origin of originsOf(transport)) rules.push({ from: origin + upstreamPrefix, to: clientPrefix });
  return rules;
}

/** "http://127.0.0.1:8000" and, on port 80 (443 for https), "http://127.0.0.1" too. */
function originsOf(transport: Transport): string[] {
  const tls = transport.ready === 'secureConnect';
  const scheme = tls ? 'https://' : 'http://';
  const defaultPort = tls ? ':443' : ':80';
  const authority = transport.authority; // https: without :443 already
  const out = [scheme + authority];
  if (authority.endsWith(defaultPort)) out.push(scheme + authority.slice(0, -defaultPort.length));
  else if (tls && !/:\d+$/.test(authority)) out.push(scheme + authority + defaultPort);
  return out;
}

/** `value` with the first matching rule's prefix replaced (unchanged when none matches). */
export function rewriteLocation(value: string, rules: readonly RedirectRule[]): string {
  for (const r of rules) if (value.startsWith(r.from)) return r.to + value.slice(r.from.length);
  return value;
}

/** A Refresh value's URL (after "url=", any case, as nginx finds it) rewritten like a Location. */
export function rewriteRefresh(value: string, rules: readonly RedirectRule[]): string {
  const at = value.toLowerCase().indexOf('url=');
  if (at < 0) return value;
  const start = at + 4;
  const url = value.slice(start);
  const rewritten = rewriteLocation(url, rules);
  return rewritten === url ? value : value.slice(0, start) + rewritten;
}
