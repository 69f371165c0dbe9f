/**
 * nginx variables in a directive value -> Portico placeholders
 * (https://nginx.org/en/docs/varindex.html). `$host` becomes `{host}`, `$http_x_real_ip`
 * becomes `{header.X-Real-Ip}`, `$arg_page` `{arg.page}`, `$cookie_sid` `{cookie.sid}`, `$1`
 * becomes `{re.1}`. `$remote_addr` (and `$binary_remote_addr`, the same address as 4 or 16
 * bytes, used as a limit key) is the client address after realip (set_real_ip_from, Portico's
 * trusted_proxies): `{client_ip}`; `$realip_remote_addr` is the TCP peer, `{remote_ip}`.
 * A variable nginx does not know is an error, as in `nginx -t` ("unknown variable"); one nginx
 * knows but Portico cannot compute makes the value unsupported: the caller warns, or refuses
 * where leaving the value out would loosen a limit (a limit zone's key).
 */

export type Converted = { ok: true; template: string } | { ok: false; unknown?: string; unsupported?: string };

export interface VariableEnv {
  /** Variables defined by `map` / `set` (name without `$`). */
  defined: ReadonlySet<string>;
  /** `map` variables Portico computes ({map.NAME}); each one read is added to `used`. */
  maps?: ReadonlySet<string>;
  used?: Set<string>;
  /** Named captures of the enclosing regex location or server_name. */
  captures: ReadonlySet<string>;
  /** Values known when the config is adapted ($server_name, $proxy_host...). */
  constants: ReadonlyMap<string, string>;
}

/** Variables with a direct Portico placeholder. */
const PLACEHOLDER: Record<string, string> = {
  host: '{host}',
  http_host: '{hostport}',
  remote_addr: '{client_ip}',
  binary_remote_addr: '{client_ip}',
  realip_remote_addr: '{remote_ip}',
  scheme: '{scheme}',
  request_uri: '{uri}',
  uri: '{path}',
  document_uri: '{path}',
  args: '{query}',
  query_string: '{query}',
  is_args: '{is_args}',
  request_method: '{method}',
  server_port: '{server_port}',
};

/** Variables nginx has that Portico does not compute (names, and prefixes ending in "_"). */
const KNOWN = new Set(
  (
    'body_bytes_sent bytes_sent connection connection_requests connection_time content_length ' +
    'content_type document_root hostname https limit_rate msec nginx_version pid pipe proxy_protocol_addr ' +
    'proxy_protocol_port proxy_protocol_server_addr proxy_protocol_server_port realpath_root remote_port remote_user request request_body ' +
    'request_body_file request_completion request_filename request_id request_length request_time server_addr ' +
    'server_name server_protocol status time_iso8601 time_local proxy_host proxy_port proxy_add_x_forwarded_for ' +
    'realip_remote_port gzip_ratio limit_req_status limit_conn_status invalid_referer secure_link secure_link_expires ' +
    'upstream_addr upstream_status upstream_response_time upstream_connect_time upstream_header_time ' +
    'upstream_response_length upstream_bytes_received upstream_bytes_sent upstream_cache_status ' +
    'ssl_protocol ssl_cipher ssl_server_name ssl_session_id ssl_client_verify ssl_client_s_dn ssl_early_data http2 ' +
    'tcpinfo_rtt tcpinfo_rttvar tcpinfo_snd_cwnd tcpinfo_rcv_space date_local date_gmt'
  ).split(' '),
);
const KNOWN_PREFIXES = ['arg_', 'cookie_', 'sent_http_', 'sent_trailer_', 'upstream_http_', 'upstream_cookie_', 'upstream_trailer_', 'ssl_'];

/** `$name` and `${name}` occurrences, nginx's variable name syntax (letters, digits, `_`). */
const VAR = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;

export function variablesIn(value: string): string[] {
  return [...value.matchAll(VAR)].map((m) => m[1] ?? m[2]!);
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
    env.captures.has(name)
  );
}

export function convert(value: string, env: VariableEnv): Converted {
  let out = '';
  let last = 0;
  for (const m of value.matchAll(VAR)) {
    const name = m[1] ?? m[2]!;
    out += value.slice(last, m.index);
    last = m.index + m[0].length;
    const one = convertVariable(name, env);
    if (!one.ok) return one;
    out += one.template;
  }
  return { ok: true, template: out + value.slice(last) };
}

function convertVariable(name: string, env: VariableEnv): Converted {
  if (!isKnown(name, env)) return { ok: false, unknown: name };
  const constant = env.constants.get(name);
  if (constant !== undefined) return { ok: true, template: constant };
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
  return { ok: false, unsupported: name };
}

/** `x_real_ip` -> `X-Real-Ip` (nginx lower-cases and maps `-` to `_`; header names are case-insensitive). */
export function headerName(suffix: string): string {
  return suffix
    .split('_')
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join('-');
}
