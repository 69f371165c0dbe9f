/**
 * The variables a log format may use: the nginx names (https://nginx.org/en/docs/varindex.html)
 * Portico computes (src/log/log-format.ts computes them). They are listed here, in config/, so
 * the schema and the nginx adapter can refuse an unknown one when the config is loaded without
 * importing the log; log-format.ts keys its table by LogVariable, so the compiler keeps the
 * two lists the same.
 */

/** `$name` or `${name}`. */
export const VAR = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;

export const LOG_VARIABLES = [
  'remote_addr',
  'binary_remote_addr',
  'realip_remote_addr',
  'remote_port',
  'remote_user',
  'time_local',
  'time_iso8601',
  'msec',
  'request',
  'request_method',
  'request_uri',
  'uri',
  'document_uri',
  'args',
  'query_string',
  'is_args',
  'server_protocol',
  'scheme',
  'https',
  'host',
  'server_name',
  'server_addr',
  'server_port',
  'status',
  'body_bytes_sent',
  'bytes_sent',
  'request_length',
  'content_length',
  'content_type',
  'request_time',
  'request_completion',
  'request_id',
  'upstream_addr',
  'upstream_cache_status',
  'upstream_status',
  'upstream_header_time',
  'upstream_response_time',
  'pid',
  'hostname',
  'nginx_version',
  'pipe',
  'portico_route',
] as const;

export type LogVariable = (typeof LOG_VARIABLES)[number];

const NAMES: ReadonlySet<string> = new Set(LOG_VARIABLES);

export function isLogVariable(name: string): name is LogVariable {
  return NAMES.has(name);
}

/** Whether `name` is a variable a log line can write: a fixed name, a `maps` entry, $http_*, $arg_*, $cookie_*. */
function known(name: string, maps: ReadonlyMap<string, unknown>): boolean {
  if (NAMES.has(name) || maps.has(name)) return true;
  return (name.startsWith('http_') && name.length > 5) || (name.startsWith('arg_') && name.length > 4) || (name.startsWith('cookie_') && name.length > 7);
}

/** The variable names of a template Portico does not know (empty: it compiles). */
export function unknownVariables(template: string, maps: ReadonlyMap<string, unknown>): string[] {
  return [...template.matchAll(VAR)].map((m) => m[1] ?? m[2]!).filter((n) => !known(n, maps));
}
