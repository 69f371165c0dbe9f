/**
 * nginx variables in a directive value -> Portico placeholders
 * (https://nginx.org/en/docs/varindex.html): the one table from nginx's names to Portico's
 * (what each placeholder reads is src/http/placeholders.ts). `$host` becomes `{host}`,
 * `$http_x_real_ip` `{header.X-Real-Ip}`, `$arg_page` `{arg.page}`, `$cookie_sid`
 * `{cookie.sid}`, `$1` `{re.1}`, a `set` variable `{var.NAME}`, a map `{map.NAME}`, `$ssl_*`
 * `{ssl.*}`. `$remote_addr` (and `$binary_remote_addr`, the same address as 4 or 16 bytes, used
 * as a limit key) is the client address after realip (set_real_ip_from, Portico's
 * trusted_proxies): `{client_ip}`; `$realip_remote_addr` is the TCP peer, `{remote_ip}`.
 * Values known when the config is adapted ($server_name, $document_root, $proxy_host...) are
 * written in as text. Literal text is kept literal (a "{" that would read as a placeholder is
 * escaped, template.ts).
 * A variable nginx does not know is an error, as in `nginx -t` ("unknown variable"); one nginx
 * knows but Portico cannot compute makes the value unsupported: the caller warns, or refuses
 * where leaving the value out would loosen a limit (a limit zone's key).
 */
import { literalTemplate } from '../../../http/template.js';
import { SSL_VARIABLES } from '../../../http/ssl-variables.js';

export type Converted = { ok: true; template: string } | { ok: false; unknown?: string; unsupported?: string };

export interface VariableEnv {
  /** Variables defined by `map` / `geo` / `set` (name without `$`). */
  defined: ReadonlySet<string>;
  /** Variables `set` defines ({var.NAME}); they shadow nginx's own of the same name ($http_foo). */
  sets?: ReadonlySet<string>;
  /** `map` variables Portico computes ({map.NAME}); each one read is added to `used`. */
  maps?: ReadonlySet<string>;
  used?: Set<string>;
  /** Named captures of the enclosing regex location or server_name. */
  captures: ReadonlySet<string>;
  /** Values known when the config is adapted ($server_name, $proxy_host...). */
  constants: ReadonlyMap<string, string>;
  /** Variables that are a Portico template in this place ($request_filename). */
  templates?: ReadonlyMap<string, string>;
}

/** Variables with a direct Portico placeholder. */
const PLACEHOLDER: Record<string, string> = {
  host: '{host}',
  http_host: '{hostport}',
  remote_addr: '{client_ip}',
  binary_remote_addr: '{client_ip}',
  realip_remote_addr: '{remote_ip}',
  remote_port: '{remote_port}',
  realip_remote_port: '{remote_port}',
  scheme: '{scheme}',
  https: '{https}',
  request_uri: '{uri}',
  uri: '{path}',
  document_uri: '{path}',
  args: '{query}',
  query_string: '{query}',
  is_args: '{is_args}',
  request_method: '{method}',
  request: '{request_line}',
  server_protocol: '{server_protocol}',
  server_addr: '{server_addr}',
  server_port: '{server_port}',
  content_type: '{header.Content-Type}',
  content_length: '{header.Content-Length}',
  connection: '{connection}',
  msec: '{msec}',
  time_iso8601: '{time_iso8601}',
  time_local: '{time_local}',
  request_time: '{request_time}',
  pid: '{pid}',
  hostname: '{hostname}',
  nginx_version: '{version}',
  proxy_add_x_forwarded_for: '{forwarded_for}',
  upstream_addr: '{upstream_addr}',
  upstream_status: '{upstream_status}',
  limit_rate: '{limit_rate}',
  ...Object.fromEntries(SSL_VARIABLES.map((n) => [`ssl_${n}`, `{ssl.${n}}`])),
};

/** Variables nginx has that Portico does not compute (names, and prefixes ending in "_"). */
const KNOWN = new Set(
  (
    'body_bytes_sent bytes_sent connection_requests connection_time ' +
    'document_root pipe proxy_protocol_addr ' +
    'proxy_protocol_port proxy_protocol_server_addr proxy_protocol_server_port realpath_root remote_user request_body ' +
    'request_body_file request_completion request_filename request_id request_length ' +
    'server_name status proxy_host proxy_port ' +
    'gzip_ratio limit_req_status limit_conn_status invalid_referer secure_link secure_link_expires ' +
    'upstream_response_time upstream_connect_time upstream_header_time ' +
    'upstream_response_length upstream_bytes_received upstream_bytes_sent upstream_cache_status ' +
    'ssl_session_id ssl_early_data ssl_ciphers ssl_curves http2 ' +
    'tcpinfo_rtt tcpinfo_rttvar tcpinfo_snd_cwnd tcpinfo_rcv_space date_local date_gmt'
  ).split(' '),
);
const KNOWN_PREFIXES = ['arg_', 'cookie_', 'sent_http_', 'sent_trailer_', 'upstream_http_', 'upstream_cookie_', 'upstream_trailer_', 'ssl_'];

/** `$name` and `${name}` occurrences, nginx's variable name syntax (letters, digits, `_`). */
const VAR = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;

export function variablesIn(value: string): string[] {
  return [...value.matchAll(VAR)].map((m) => m[1] ?? m[2]!);
}

/** One of nginx's own variables by its whole name ($host, $uri...; not a prefixed one such as $http_x). */
export function isBuiltin(name: string): boolean {
  return name in PLACEHOLDER || KNOWN.has(name);
}

/** Whether nginx knows `name` (builtin, prefixed, defined or a capture). */
export function isKnown(name: string, env: VariableEnv): boolean {
  return (
    /^\d$/.test(name) ||
    name in PLACEHOLDER ||
    KNOWN.has(name) ||
    name.startsWith('http_') ||
    KNOWN_PREFIXES.some((p) => name.startsWith(p)) ||
    env.defined.has(name) ||
    env.captures.has(name) ||
    env.sets?.has(name) === true
  );
}

/**
 * `value` as a template. With `skipped`, a variable Portico cannot compute is left out (empty)
 * and its name added there, instead of failing the whole value.
 */
export function convert(value: string, env: VariableEnv, skipped?: string[]): Converted {
  let out = '';
  let last = 0;
  for (const m of value.matchAll(VAR)) {
    const name = m[1] ?? m[2]!;
    out += literalTemplate(value.slice(last, m.index));
    last = m.index + m[0].length;
    const one = convertVariable(name, env);
    if (!one.ok && one.unsupported !== undefined && skipped !== undefined) {
      skipped.push(one.unsupported);
      continue;
    }
    if (!one.ok) return one;
    out += one.template;
  }
  return { ok: true, template: out + literalTemplate(value.slice(last)) };
}

function convertVariable(name: string, env: VariableEnv): Converted {
  if (!isKnown(name, env)) return { ok: false, unknown: name };
  if (env.sets?.has(name)) return { ok: true, template: `{var.${name}}` };
  const constant = env.constants.get(name);
  if (constant !== undefined) return { ok: true, template: literalTemplate(constant) };
  const own = env.templates?.get(name);
  if (own !== undefined) return { ok: true, template: own };
  if (/^\d$/.test(name)) return { ok: true, template: `{re.${name}}` };
  if (env.captures.has(name)) return { ok: true, template: `{re.${name}}` };
  if (env.maps?.has(name)) {
    env.used?.add(name);
    return { ok: true, template: `{map.${name}}` };
  }
  const direct = PLACEHOLDER[name];
  if (direct) return { ok: true, template: direct };
  if (name.startsWith('http_')) return { ok: true, template: `{header.${headerName(name.slice(5))}}` };
  if (name.startsWith('arg_') && name.length > 4) return { ok: true, template: `{arg.${name.slice(4)}}` };
  if (name.startsWith('cookie_') && name.length > 7) return { ok: true, template: `{cookie.${name.slice(7)}}` };
  if (name.startsWith('upstream_http_') && name.length > 14) return { ok: true, template: `{upstream_http.${headerName(name.slice(14))}}` };
  return { ok: false, unsupported: name };
}

/** `x_real_ip` -> `X-Real-Ip` (nginx lower-cases and maps `-` to `_`; header names are case-insensitive). */
export function headerName(suffix: string): string {
  return suffix
    .split('_')
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join('-');
}
