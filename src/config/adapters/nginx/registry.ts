/**
 * Every nginx directive the adapter knows, in ONE table: where nginx allows it and how many
 * arguments it takes (what `nginx -t` checks: ngx_command_t in the module sources), how it is
 * inherited by inner blocks, and what Portico does with it:
 *   map       carried over by the emitter of its family (see ./emit/)
 *   ignore    nothing to carry over (tuning that Portico decides itself); no warning
 *   warn      the feature is not in Portico (yet): a warning names the directive and file:line
 *   refuse    the feature restricts who gets in or how fast (auth_request, client certificates,
 *             secure links, bandwidth limits): leaving it out would let through what nginx
 *             refuses, so the config is refused at its file:line - unless it is written with
 *             the value that turns it off (`auth_request off`, `limit_rate 0`)
 * When a feature lands in Portico, its directives move from `warn` to `map` here, and the
 * family's emitter learns to read them.
 * A directive missing from this table is an error, as it is for nginx ("unknown directive").
 */

/** nginx contexts; `sif`/`lif` are `if` in server/location, `lmt` is `limit_except`. */
export type Context = 'main' | 'events' | 'http' | 'server' | 'location' | 'upstream' | 'sif' | 'lif' | 'lmt';

/**
 * How a value reaches inner blocks (ngx_http_*_merge_loc_conf):
 *   scalar  the innermost level that sets it wins
 *   array   the innermost level that sets ANY of it wins and the outer ones are dropped
 *           (proxy_set_header, add_header, error_page, access_log, allow/deny...)
 *   none    applies to its own block only (proxy_pass, return, rewrite, alias, location...)
 */
export type Inherit = 'scalar' | 'array' | 'none';

export type Support = { kind: 'map' } | { kind: 'ignore' } | { kind: 'warn'; why: string } | { kind: 'refuse'; why: string; off?: string };

export interface DirectiveSpec {
  ctx: readonly Context[];
  /** Allowed argument counts, or 'flag' (exactly one: on | off). */
  args: readonly number[] | 'flag';
  /** Takes a `{ }` block (whose contents are not directives for map/types/geo/split_clients). */
  block?: 'directives' | 'data';
  inherit: Inherit;
  support: Support;
  /** nginx refuses a second one in the same block ("... directive is duplicate"). */
  unique?: boolean;
  /** A different support in some context (keepalive_timeout maps inside upstream, not outside). */
  supportIn?: Partial<Record<Context, Support>>;
}

const MANY = 64;
const range = (min: number, max: number) => Array.from({ length: max - min + 1 }, (_, i) => min + i);
const ARGS: Record<string, readonly number[] | 'flag'> = {
  '0': [0],
  '012': [0, 1, 2],
  '1': [1],
  '2': [2],
  '3': [3],
  '12': [1, 2],
  '13': [1, 3],
  '23': [2, 3],
  '34': [3, 4],
  '123': [1, 2, 3],
  '1234': [1, 2, 3, 4],
  '1+': range(1, MANY),
  '2+': range(2, MANY),
  '0+': range(0, MANY),
  flag: 'flag',
};

const MAP: Support = { kind: 'map' };
const IGNORE: Support = { kind: 'ignore' };
const warn = (why: string): Support => ({ kind: 'warn', why });
const refuse = (why: string, off?: string): Support => ({ kind: 'refuse', why, ...(off !== undefined ? { off } : {}) });

// Why a directive is not carried over, shared by families.
const NO_TLS = 'Portico does not ask clients for certificates';
const NO_RATE = 'Portico does not slow responses down to a rate';
const REFUSED_RATE = `${NO_RATE}, and running without this limit would send faster than nginx does`;
const NO_GUNZIP = 'Portico does not decompress responses for clients that do not take gzip';
const NO_CACHE = 'Portico does not mirror responses as files (proxy_store); its response cache is proxy_cache';
const OTHER_UPSTREAM = 'Portico proxies HTTP only (no FastCGI, uwsgi, SCGI, gRPC or memcached)';

const C = {
  main: ['main'],
  events: ['events'],
  http: ['http'],
  srv: ['server'],
  loc: ['location'],
  ups: ['upstream'],
  hs: ['http', 'server'],
  sl: ['server', 'location'],
  hsl: ['http', 'server', 'location'],
  hslLif: ['http', 'server', 'location', 'lif'],
  hslLmt: ['http', 'server', 'location', 'lmt'],
  rw: ['server', 'sif', 'location', 'lif'],
  locIf: ['location', 'lif', 'lmt'],
} as const satisfies Record<string, readonly Context[]>;

function spec(ctx: readonly Context[], args: string, inherit: Inherit, support: Support, extra: Partial<DirectiveSpec> = {}): DirectiveSpec {
  return { ctx, args: ARGS[args]!, inherit, support, ...extra };
}

/** Shorthands for the common shapes. */
const tuning = (ctx: readonly Context[], args = '1') => spec(ctx, args, 'scalar', IGNORE);
const unsupported = (ctx: readonly Context[], args: string, why: string, inherit: Inherit = 'scalar') => spec(ctx, args, inherit, warn(why));

/**
 * The other upstream modules' many tuning directives (fastcgi_*, uwsgi_*, scgi_*, grpc_*,
 * memcached_*) are accepted wherever http directives go, with any arguments: Portico uses none of
 * them, and their `*_pass` directives are what get warned about.
 */
export function familySpec(name: string): DirectiveSpec | undefined {
  if (/^(fastcgi|uwsgi|scgi|grpc|memcached)_/.test(name)) return spec(C.hslLif, '1+', 'scalar', IGNORE);
  return undefined;
}

export const DIRECTIVES: Readonly<Record<string, DirectiveSpec>> = {
  // --- main and events (ngx_core_module, ngx_events_module): the process model is Portico's own
  user: spec(C.main, '12', 'none', MAP, { unique: true }),
  worker_processes: spec(C.main, '1', 'none', MAP, { unique: true }),
  worker_rlimit_nofile: tuning(C.main),
  worker_rlimit_core: tuning(C.main),
  worker_priority: tuning(C.main),
  worker_cpu_affinity: tuning(C.main, '1+'),
  worker_shutdown_timeout: spec(C.main, '1', 'none', MAP, { unique: true }),
  daemon: tuning(C.main, 'flag'),
  master_process: tuning(C.main, 'flag'),
  pid: spec(C.main, '1', 'none', MAP, { unique: true }),
  lock_file: tuning(C.main),
  timer_resolution: tuning(C.main),
  working_directory: tuning(C.main),
  pcre_jit: tuning(C.main, 'flag'),
  thread_pool: tuning(C.main, '23'),
  env: tuning(C.main),
  load_module: spec(C.main, '1', 'none', warn('Portico loads no nginx modules')),
  ssl_engine: tuning(C.main),
  events: spec(C.main, '0', 'none', MAP, { block: 'directives', unique: true }),
  worker_connections: tuning(C.events),
  use: tuning(C.events),
  multi_accept: tuning(C.events, 'flag'),
  accept_mutex: tuning(C.events, 'flag'),
  accept_mutex_delay: tuning(C.events),
  worker_aio_requests: tuning(C.events),
  debug_connection: tuning(C.events),
  http: spec(C.main, '0', 'none', MAP, { block: 'directives', unique: true }),
  stream: spec(C.main, '0', 'none', warn('Portico proxies HTTP only; the stream block is ignored'), { block: 'data' }),
  mail: spec(C.main, '0', 'none', warn('Portico proxies HTTP only; the mail block is ignored'), { block: 'data' }),
  include: spec(['main', 'events', 'http', 'server', 'location', 'upstream', 'sif', 'lif', 'lmt'], '1', 'none', MAP),
  error_log: spec(['main', 'http', 'server', 'location'], '1+', 'scalar', MAP),

  // --- http core: structure (ngx_http_core_module)
  server: spec(['http', 'upstream'], '0+', 'none', MAP),
  location: spec(C.sl, '12', 'none', MAP, { block: 'directives' }),
  listen: spec(C.srv, '1+', 'none', MAP),
  server_name: spec(C.srv, '1+', 'none', MAP),
  types: spec(C.hsl, '0', 'scalar', MAP, { block: 'data' }),
  default_type: tuning(C.hsl),
  internal: spec(C.loc, '0', 'none', MAP),
  limit_except: spec(C.loc, '1+', 'none', MAP, { block: 'directives', unique: true }),
  // Only an `if` whose block Portico can drop without letting anything through is warned about;
  // one holding return, rewrite, a *_pass, root or a limit is refused (./check.ts).
  if: spec(C.sl, '1+', 'none', warn('"if" is not supported; its block is ignored'), { block: 'directives' }),

  // --- http core: files
  root: spec(C.hslLif, '1', 'scalar', MAP, { unique: true }),
  alias: spec(C.loc, '1', 'none', MAP, { unique: true }),
  index: spec(C.hsl, '1+', 'array', MAP),
  try_files: spec(C.sl, '2+', 'none', MAP, { unique: true }),
  autoindex: spec(C.hsl, 'flag', 'scalar', MAP),
  autoindex_exact_size: tuning(C.hsl, 'flag'),
  autoindex_format: spec(C.hsl, '1', 'scalar', MAP),
  autoindex_localtime: tuning(C.hsl, 'flag'),
  expires: spec(C.hslLif, '12', 'scalar', MAP),
  etag: spec(C.hsl, 'flag', 'scalar', MAP),
  if_modified_since: tuning(C.hsl),
  max_ranges: tuning(C.hsl),
  disable_symlinks: spec(C.hsl, '12', 'scalar', refuse('Portico refuses symlinks that lead out of the directory but serves those inside it, which nginx refuses here', 'off')),
  open_file_cache: tuning(C.hsl, '12'),
  open_file_cache_valid: tuning(C.hsl),
  open_file_cache_min_uses: tuning(C.hsl),
  open_file_cache_errors: tuning(C.hsl, 'flag'),
  open_file_cache_events: tuning(C.hsl, 'flag'),
  log_not_found: tuning(C.hsl, 'flag'),
  gzip_static: spec(C.hsl, '1', 'scalar', MAP),
  random_index: unsupported(C.loc, 'flag', 'random index files are not supported'),
  sendfile: tuning(C.hslLif, 'flag'),
  sendfile_max_chunk: tuning(C.hsl),
  aio: tuning(C.hsl),
  aio_write: tuning(C.hsl, 'flag'),
  directio: tuning(C.hsl),
  directio_alignment: tuning(C.hsl),
  read_ahead: tuning(C.hsl),
  output_buffers: tuning(C.hsl, '2'),
  postpone_output: tuning(C.hsl),
  tcp_nopush: tuning(C.hsl, 'flag'),
  tcp_nodelay: tuning(C.hsl, 'flag'),
  charset: unsupported(C.hslLif, '1', 'charset conversion is not supported'),
  charset_types: tuning(C.hsl, '1+'),
  source_charset: tuning(C.hslLif),
  override_charset: tuning(C.hslLif, 'flag'),

  // --- http core: client side limits and timeouts
  client_max_body_size: spec(C.hsl, '1', 'scalar', MAP, { unique: true }),
  client_body_buffer_size: tuning(C.hsl),
  client_body_timeout: spec(C.hsl, '1', 'scalar', MAP),
  client_body_temp_path: tuning(C.hsl, '1234'),
  client_body_in_file_only: tuning(C.hsl),
  client_body_in_single_buffer: tuning(C.hsl, 'flag'),
  client_header_timeout: spec(C.hs, '1', 'scalar', MAP),
  client_header_buffer_size: tuning(C.hs),
  large_client_header_buffers: tuning(C.hs, '2'),
  keepalive_timeout: spec(['http', 'server', 'location', 'upstream'], '12', 'scalar', MAP),
  keepalive_requests: tuning(['http', 'server', 'location', 'upstream']),
  keepalive_time: tuning(['http', 'server', 'location', 'upstream']),
  keepalive_disable: tuning(C.hsl, '12'),
  send_timeout: spec(C.hsl, '1', 'scalar', MAP),
  send_lowat: tuning(C.hsl),
  lingering_close: tuning(C.hsl),
  lingering_time: tuning(C.hsl),
  lingering_timeout: tuning(C.hsl),
  reset_timedout_connection: tuning(C.hsl, 'flag'),
  limit_rate: spec(C.hslLif, '1', 'scalar', refuse(REFUSED_RATE, '0')),
  limit_rate_after: unsupported(C.hslLif, '1', NO_RATE),
  satisfy: spec(C.hsl, '1', 'scalar', MAP),
  auth_delay: tuning(C.hsl),
  connection_pool_size: tuning(C.hs),
  request_pool_size: tuning(C.hs),
  ignore_invalid_headers: spec(C.hs, 'flag', 'scalar', MAP),
  underscores_in_headers: spec(C.hs, 'flag', 'scalar', MAP),
  merge_slashes: spec(C.hs, 'flag', 'scalar', MAP),
  chunked_transfer_encoding: tuning(C.hsl, 'flag'),
  subrequest_output_buffer_size: tuning(C.hsl),
  types_hash_max_size: tuning(C.hsl),
  types_hash_bucket_size: tuning(C.hsl),
  server_names_hash_max_size: tuning(C.http),
  server_names_hash_bucket_size: tuning(C.http),
  variables_hash_max_size: tuning(C.http),
  variables_hash_bucket_size: tuning(C.http),
  map_hash_max_size: tuning(C.http),
  map_hash_bucket_size: tuning(C.http),
  proxy_headers_hash_max_size: tuning(C.hsl),
  proxy_headers_hash_bucket_size: tuning(C.hsl),
  resolver: tuning(C.hsl, '1+'),
  resolver_timeout: tuning(C.hsl),

  // --- responses and redirects
  server_tokens: tuning(C.hsl),
  absolute_redirect: tuning(C.hsl, 'flag'),
  server_name_in_redirect: tuning(C.hsl, 'flag'),
  port_in_redirect: tuning(C.hsl, 'flag'),
  msie_padding: tuning(C.hsl, 'flag'),
  msie_refresh: tuning(C.hsl, 'flag'),
  recursive_error_pages: tuning(C.hsl, 'flag'),
  error_page: spec(C.hslLif, '2+', 'array', warn('custom error pages are not supported; Portico sends its own')),
  add_header: spec(C.hslLif, '23', 'array', MAP),
  add_trailer: unsupported(C.hslLif, '23', 'response trailers are not supported', 'array'),

  // --- rewrite module (run in order in the server and location rewrite phases)
  rewrite: spec(C.rw, '23', 'none', MAP),
  return: spec(C.rw, '12', 'none', MAP),
  break: spec(C.rw, '0', 'none', MAP),
  set: spec(C.rw, '2', 'none', warn('"set" is not supported; the variable stays unset')),
  rewrite_log: tuning(['http', 'server', 'sif', 'location', 'lif'], 'flag'),
  uninitialized_variable_warn: tuning(['http', 'server', 'sif', 'location', 'lif'], 'flag'),
  map: spec(C.http, '2', 'none', MAP, { block: 'data' }),
  geo: unsupported(C.http, '12', 'geo maps are not supported', 'none'),
  split_clients: unsupported(C.http, '2', 'split_clients is not supported', 'none'),

  // --- proxy module
  proxy_pass: spec(C.locIf, '1', 'none', MAP, { unique: true }),
  proxy_set_header: spec(C.hsl, '2', 'array', MAP),
  proxy_http_version: spec(C.hsl, '1', 'scalar', MAP, { unique: true }),
  proxy_connect_timeout: spec(C.hsl, '1', 'scalar', MAP, { unique: true }),
  proxy_read_timeout: spec(C.hsl, '1', 'scalar', MAP, { unique: true }),
  proxy_send_timeout: spec(C.hsl, '1', 'scalar', warn('there is no separate send timeout; the read timeout covers the exchange'), { unique: true }),
  proxy_redirect: spec(C.hsl, '12', 'array', MAP),
  proxy_buffering: spec(C.hsl, 'flag', 'scalar', MAP, { unique: true }),
  proxy_request_buffering: spec(C.hsl, 'flag', 'scalar', MAP, { unique: true }),
  proxy_buffer_size: tuning(C.hsl),
  proxy_buffers: tuning(C.hsl, '2'),
  proxy_busy_buffers_size: tuning(C.hsl),
  proxy_max_temp_file_size: spec(C.hsl, '1', 'scalar', MAP),
  proxy_temp_file_write_size: tuning(C.hsl),
  proxy_temp_path: tuning(C.hsl, '1234'),
  proxy_send_lowat: tuning(C.hsl),
  proxy_socket_keepalive: tuning(C.hsl, 'flag'),
  proxy_ignore_client_abort: unsupported(C.hsl, 'flag', 'an upstream request always ends when its client goes away'),
  proxy_intercept_errors: unsupported(C.hsl, 'flag', 'custom error pages are not supported'),
  proxy_next_upstream: spec(C.hsl, '1+', 'scalar', MAP),
  proxy_next_upstream_tries: spec(C.hsl, '1', 'scalar', MAP),
  proxy_next_upstream_timeout: spec(C.hsl, '1', 'scalar', MAP),
  proxy_hide_header: spec(C.hsl, '1', 'array', MAP),
  proxy_pass_header: unsupported(C.hsl, '1', 'Portico passes Server, Date and X-Accel-* from the upstream as they are', 'array'),
  proxy_ignore_headers: spec(C.hsl, '1+', 'scalar', MAP),
  proxy_pass_request_headers: unsupported(C.hsl, 'flag', 'the client headers are always passed'),
  proxy_pass_request_body: unsupported(C.hsl, 'flag', 'the request body is always passed'),
  proxy_set_body: unsupported(C.hsl, '1', 'the request body cannot be replaced'),
  proxy_method: unsupported(C.hsl, '1', 'the request method cannot be replaced'),
  proxy_cookie_domain: unsupported(C.hsl, '12', 'Set-Cookie is not rewritten', 'array'),
  proxy_cookie_path: unsupported(C.hsl, '12', 'Set-Cookie is not rewritten', 'array'),
  proxy_cookie_flags: unsupported(C.hsl, '1+', 'Set-Cookie is not rewritten', 'array'),
  proxy_bind: unsupported(C.hsl, '12', 'the upstream source address cannot be chosen'),
  proxy_limit_rate: spec(C.hsl, '1', 'scalar', refuse(REFUSED_RATE, '0')),
  proxy_force_ranges: tuning(C.hsl, 'flag'),
  proxy_store: unsupported(C.hsl, '1', NO_CACHE),
  proxy_cache: spec(C.hsl, '1', 'scalar', MAP),
  proxy_cache_path: spec(C.http, '2+', 'none', MAP),
  proxy_cache_key: spec(C.hsl, '1', 'scalar', MAP),
  proxy_cache_valid: spec(C.hsl, '1+', 'array', MAP),
  proxy_cache_bypass: spec(C.hsl, '1+', 'array', MAP),
  proxy_no_cache: spec(C.hsl, '1+', 'array', MAP),
  proxy_cache_min_uses: spec(C.hsl, '1', 'scalar', MAP),
  proxy_cache_use_stale: spec(C.hsl, '1+', 'scalar', MAP),
  proxy_cache_methods: spec(C.hsl, '1+', 'scalar', MAP),
  proxy_cache_lock: spec(C.hsl, 'flag', 'scalar', MAP),
  proxy_cache_lock_timeout: spec(C.hsl, '1', 'scalar', MAP),
  proxy_cache_lock_age: spec(C.hsl, '1', 'scalar', MAP),
  proxy_cache_revalidate: spec(C.hsl, 'flag', 'scalar', MAP),
  proxy_cache_background_update: spec(C.hsl, 'flag', 'scalar', MAP),
  proxy_cache_convert_head: spec(C.hsl, 'flag', 'scalar', MAP),
  proxy_ssl_server_name: tuning(C.hsl, 'flag'),
  proxy_ssl_name: spec(C.hsl, '1', 'scalar', MAP),
  proxy_ssl_verify: spec(C.hsl, 'flag', 'scalar', MAP),
  proxy_ssl_trusted_certificate: spec(C.hsl, '1', 'scalar', MAP),
  proxy_ssl_protocols: unsupported(C.hsl, '1+', "Portico's TLS to upstreams uses node's defaults (TLS 1.2 and 1.3)"),
  proxy_ssl_session_reuse: tuning(C.hsl, 'flag'),

  // --- other upstream protocols
  fastcgi_pass: spec(['location', 'lif'], '1', 'none', warn(OTHER_UPSTREAM)),
  fastcgi_param: tuning(C.hsl, '23'),
  fastcgi_temp_path: tuning(C.hsl, '1234'),
  uwsgi_temp_path: tuning(C.hsl, '1234'),
  scgi_temp_path: tuning(C.hsl, '1234'),
  fastcgi_index: tuning(C.hsl),
  fastcgi_split_path_info: tuning(C.loc),
  fastcgi_read_timeout: tuning(C.hsl),
  fastcgi_buffers: tuning(C.hsl, '2'),
  fastcgi_buffer_size: tuning(C.hsl),
  fastcgi_intercept_errors: tuning(C.hsl, 'flag'),
  uwsgi_pass: spec(['location', 'lif'], '1', 'none', warn(OTHER_UPSTREAM)),
  uwsgi_param: tuning(C.hsl, '23'),
  uwsgi_read_timeout: tuning(C.hsl),
  scgi_pass: spec(['location', 'lif'], '1', 'none', warn(OTHER_UPSTREAM)),
  scgi_param: tuning(C.hsl, '23'),
  grpc_pass: spec(['location', 'lif'], '1', 'none', warn(OTHER_UPSTREAM)),
  grpc_set_header: tuning(C.hsl, '2'),
  memcached_pass: spec(['location', 'lif'], '1', 'none', warn(OTHER_UPSTREAM)),
  stub_status: spec(C.sl, '0+', 'none', MAP), // route `stub_status: true` (emit/route.ts)
  mirror: unsupported(C.hsl, '1', 'request mirroring is not supported', 'array'),
  sub_filter: unsupported(C.hsl, '2', 'response bodies are not rewritten', 'array'),
  sub_filter_once: tuning(C.hsl, 'flag'),
  sub_filter_types: tuning(C.hsl, '1+'),
  sub_filter_last_modified: tuning(C.hsl, 'flag'),
  ssi: unsupported(C.hslLif, 'flag', 'server side includes are not supported'),
  auth_request: spec(C.hsl, '1', 'scalar', refuse('subrequest authentication is not supported, and without it every request would pass', 'off')),
  auth_request_set: unsupported(C.hsl, '2', 'subrequest authentication is not supported', 'array'),
  secure_link: spec(C.hsl, '12', 'scalar', refuse('secure links are not supported: $secure_link would be empty for every request')),
  secure_link_md5: tuning(C.hsl),
  valid_referers: unsupported(C.sl, '1+', 'Portico does not compute $invalid_referer (an "if" or a limit that reads it is refused)'),
  secure_link_secret: tuning(C.loc),

  // --- upstream blocks (ngx_http_upstream_module)
  upstream: spec(C.http, '1', 'none', MAP, { block: 'directives' }),
  keepalive: spec(C.ups, '1', 'none', MAP, { unique: true }),
  least_conn: spec(C.ups, '0', 'none', MAP),
  ip_hash: spec(C.ups, '0', 'none', MAP),
  hash: spec(C.ups, '12', 'none', MAP),
  random: spec(C.ups, '012', 'none', MAP),
  zone: tuning(C.ups, '12'),
  ntlm: spec(C.ups, '0', 'none', warn('NTLM connection pinning is not supported')),

  // --- access control, limits (ngx_http_access_module, auth_basic, limit_req, limit_conn)
  allow: spec(C.hslLmt, '1', 'array', MAP),
  deny: spec(C.hslLmt, '1', 'array', MAP),
  auth_basic: spec(C.hslLmt, '1', 'scalar', MAP),
  auth_basic_user_file: spec(C.hslLmt, '1', 'scalar', MAP),
  limit_req_zone: spec(C.http, '34', 'none', MAP),
  limit_req: spec(C.hsl, '123', 'array', MAP),
  limit_req_status: spec(C.hsl, '1', 'scalar', MAP),
  limit_req_log_level: tuning(C.hsl),
  limit_req_dry_run: spec(C.hsl, 'flag', 'scalar', MAP),
  limit_conn_zone: spec(C.http, '2', 'none', MAP),
  limit_conn: spec(C.hsl, '2', 'array', MAP),
  limit_conn_status: spec(C.hsl, '1', 'scalar', MAP),
  limit_conn_log_level: tuning(C.hsl),
  limit_conn_dry_run: spec(C.hsl, 'flag', 'scalar', MAP),
  set_real_ip_from: spec(C.hsl, '1', 'array', MAP),
  real_ip_header: spec(C.hsl, '1', 'scalar', MAP),
  real_ip_recursive: spec(C.hsl, 'flag', 'scalar', MAP),

  // --- logs (ngx_http_log_module)
  access_log: spec(['http', 'server', 'location', 'lif', 'lmt'], '1+', 'array', MAP),
  log_format: spec(C.http, '2+', 'none', MAP),
  open_log_file_cache: tuning(C.hsl, '1234'),
  log_subrequest: tuning(C.hsl, 'flag'),

  // --- gzip (./emit/compress.ts)
  gzip: spec(C.hslLif, 'flag', 'scalar', MAP),
  gzip_types: spec(C.hsl, '1+', 'array', MAP),
  gzip_comp_level: spec(C.hsl, '1', 'scalar', MAP),
  gzip_min_length: spec(C.hsl, '1', 'scalar', MAP),
  gzip_proxied: spec(C.hsl, '1+', 'array', MAP),
  gzip_vary: spec(C.hsl, 'flag', 'scalar', MAP),
  gzip_disable: spec(C.hsl, '1+', 'array', MAP),
  gzip_buffers: tuning(C.hsl, '2'),
  gzip_http_version: spec(C.hsl, '1', 'scalar', MAP),
  gunzip: unsupported(C.hsl, 'flag', NO_GUNZIP),

  // --- TLS and HTTP/2 (ngx_http_ssl_module, ngx_http_v2_module)
  ssl: spec(C.hs, 'flag', 'scalar', MAP),
  ssl_certificate: spec(C.hs, '1', 'array', MAP),
  ssl_certificate_key: spec(C.hs, '1', 'array', MAP),
  ssl_protocols: spec(C.hs, '1+', 'scalar', MAP),
  ssl_ciphers: unsupported(C.hs, '1', "Portico's TLS ciphers are Mozilla's intermediate set"),
  ssl_prefer_server_ciphers: tuning(C.hs, 'flag'),
  ssl_session_cache: tuning(C.hs, '12'),
  ssl_session_timeout: tuning(C.hs),
  ssl_session_tickets: tuning(C.hs, 'flag'),
  ssl_session_ticket_key: tuning(C.hs),
  ssl_dhparam: tuning(C.hs),
  ssl_ecdh_curve: tuning(C.hs),
  ssl_password_file: tuning(C.hs),
  ssl_buffer_size: tuning(C.hs),
  ssl_stapling: tuning(C.hs, 'flag'),
  ssl_stapling_verify: tuning(C.hs, 'flag'),
  ssl_stapling_file: tuning(C.hs),
  ssl_stapling_responder: tuning(C.hs),
  ssl_trusted_certificate: tuning(C.hs),
  ssl_client_certificate: unsupported(C.hs, '1', NO_TLS),
  ssl_verify_client: spec(C.hs, '1', 'scalar', refuse(`${NO_TLS}: clients without a certificate would be served`, 'off')),
  ssl_verify_depth: tuning(C.hs),
  ssl_crl: tuning(C.hs),
  ssl_early_data: tuning(C.hs, 'flag'),
  ssl_conf_command: tuning(C.hs, '2'),
  ssl_reject_handshake: unsupported(C.hs, 'flag', 'Portico answers TLS handshakes for every server name it has a certificate for'),
  http2: spec(C.hs, 'flag', 'scalar', IGNORE),
  http2_max_concurrent_streams: tuning(C.hs),
  http2_recv_buffer_size: tuning(C.http),
  http2_chunk_size: tuning(C.hsl),
  http2_push: tuning(C.hsl),
  http2_push_preload: tuning(C.hsl, 'flag'),
  http2_idle_timeout: tuning(C.hs),
  http2_max_field_size: tuning(C.hs),
  http2_max_header_size: tuning(C.hs),
  http2_max_requests: tuning(C.hs),
  http2_body_preread_size: tuning(C.hs),
};
