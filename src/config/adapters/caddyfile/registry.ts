/**
 * Every Caddyfile HTTP directive the adapter knows, in ONE table: its place in Caddy's fixed
 * directive order (https://caddyserver.com/docs/caddyfile/directives#directive-order), what it
 * is to the adapter, and whether Portico carries it over:
 *   terminal    writes the response: one Portico route per matching path (respond, redir,
 *               reverse_proxy, file_server)
 *   middleware  changes the request or response on its way (header, uri, rewrite, root...)
 *   group       a block of directives (handle, handle_path, route)
 *   site        a property of the site (tls, log, bind)
 * `warn` directives are reported with file:line and left out; when Portico gains the feature,
 * the entry turns to `map` and its directive file learns it. `refuse` directives guard requests
 * (forward_auth): leaving one out would let everything through, so the config is refused. An unknown directive is an error,
 * as it is for Caddy ("unrecognized directive").
 */

export type Kind = 'terminal' | 'middleware' | 'group' | 'site';
export type Support = { kind: 'map' } | { kind: 'warn'; why: string } | { kind: 'refuse'; why: string };

export interface CaddyDirectiveSpec {
  kind: Kind;
  support: Support;
  /** The directive's real name when this is an alias (basicauth -> basic_auth). */
  alias?: string;
}

/** Caddy's order for handler directives; sorting uses the index (site directives are not ordered). */
export const ORDER = (
  'tracing map vars fs root log_append log_skip log_name header copy_response_headers request_body redir method rewrite uri ' +
  'try_files basic_auth forward_auth request_header encode push intercept templates invoke handle handle_path route ' +
  'abort error copy_response respond metrics reverse_proxy php_fastcgi file_server acme_server'
).split(' ');

const MAP: Support = { kind: 'map' };
const warn = (why: string): Support => ({ kind: 'warn', why });
const refuse = (why: string): Support => ({ kind: 'refuse', why });

const d = (kind: Kind, support: Support = MAP, alias?: string): CaddyDirectiveSpec => ({ kind, support, ...(alias ? { alias } : {}) });

export const CADDY_DIRECTIVES: Readonly<Record<string, CaddyDirectiveSpec>> = {
  // terminals
  respond: d('terminal'),
  redir: d('terminal'),
  reverse_proxy: d('terminal'),
  file_server: d('terminal'),
  error: d('terminal'),
  abort: d('terminal'),
  php_fastcgi: d('terminal', warn('Portico proxies HTTP only (no FastCGI)')),
  acme_server: d('terminal', warn('Portico is not an ACME server')),
  metrics: d('terminal', warn('there is no metrics endpoint')),
  copy_response: d('terminal', warn('handle_response is not supported')),
  // middleware
  root: d('middleware'),
  header: d('middleware'),
  request_header: d('middleware'),
  uri: d('middleware'),
  rewrite: d('middleware'),
  try_files: d('middleware'),
  request_body: d('middleware'),
  basic_auth: d('middleware'),
  basicauth: d('middleware', MAP, 'basic_auth'),
  forward_auth: d('middleware', refuse('subrequest authentication is not supported, and without it every request would pass')),
  encode: d('middleware'),
  templates: d('middleware', warn('templates are not supported')),
  push: d('middleware', warn('HTTP/2 server push is not supported')),
  intercept: d('middleware', warn('intercepting responses is not supported')),
  vars: d('middleware', warn('variables are not supported')),
  map: d('middleware', warn('map is not supported')),
  method: d('middleware', warn('the request method cannot be changed')),
  fs: d('middleware', warn('virtual file systems are not supported')),
  tracing: d('middleware', warn('tracing is not supported')),
  copy_response_headers: d('middleware', warn('handle_response is not supported')),
  log_append: d('middleware', warn('log fields are not configurable')),
  log_skip: d('middleware', warn('per-request log skipping is not carried over')),
  skip_log: d('middleware', warn('per-request log skipping is not carried over'), 'log_skip'),
  log_name: d('middleware', warn('log names are not configurable')),
  invoke: d('middleware', warn('named routes are not supported')),
  // groups
  handle: d('group'),
  handle_path: d('group'),
  route: d('group'),
  handle_errors: d('site'), // ./errors.ts
  // site
  tls: d('site'),
  log: d('site'),
  bind: d('site'),
};

/**
 * The name a directive sorts as: its alias's, and `handle_path` sorts with `handle` (they share
 * one mutually exclusive group in Caddy's httpcaddyfile).
 */
export function sortName(name: string): string {
  if (name === 'handle_path') return 'handle';
  return CADDY_DIRECTIVES[name]?.alias ?? name;
}

export function orderOf(name: string): number {
  const i = ORDER.indexOf(sortName(name));
  return i < 0 ? ORDER.length : i;
}
