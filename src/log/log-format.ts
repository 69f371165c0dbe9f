/**
 * nginx's `log_format` (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format):
 * a template of `$variable`s compiled once into a function, so a request only concatenates
 * strings. Each variable's value is escaped as the format says:
 *   - default: '"', '\' and bytes below 0x20 or above 0x7e as \xHH (nginx's default);
 *   - json: as inside a JSON string (escape=json);
 *   - none: as it is.
 * The variables are nginx's names (https://nginx.org/en/docs/varindex.html) for what Portico
 * knows; a name Portico does not know is refused when the config is loaded (a typo would
 * otherwise log "-" for ever), and `maps` entries are read by their names as in nginx.
 * Response headers ($sent_http_NAME) are not among them: a proxied head goes to the socket
 * without being kept.
 */
import { hostname } from 'node:os';
import type { Exchange } from '../http/exchange.js';
import { requestIdOf } from '../http/request-id.js';
import { argValue, cookieHeaders, cookieValue } from '../http/request-vars.js';
import { hostWithoutPort } from '../http/host.js';
import { isLogVariable, VAR, type LogVariable } from '../config/log-variables.js';

export type LogEscape = 'default' | 'json' | 'none';

/** One line (without its "\n") for a finished request. */
export type LineFormat = (ex: Exchange, status: number) => string;

type Getter = (ex: Exchange, status: number) => string;

/** nginx's `combined` (predefined): the default line. */
export const COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';


function header(ex: Exchange, lower: string): string {
  const raw = ex.req.rawHeaders;
  let out = '';
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.length === lower.length && raw[i]!.toLowerCase() === lower) out = out === '' ? raw[i + 1]! : `${out}, ${raw[i + 1]!}`;
  return out;
}

// $time_local and $time_iso8601 are formatted once per second, not per request.
let cachedSecond = -1;
let cachedLocal = '';
let cachedIso = '';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function refreshTime(): void {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second === cachedSecond) return;
  const d = new Date(now);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const zone = `${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)}`;
  cachedLocal = `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${zone}`;
  cachedIso = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}${zone.slice(0, 3)}:${zone.slice(3)}`;
  cachedSecond = second;
}

/** Seconds with millisecond resolution, as nginx writes $request_time. */
function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

const HOSTNAME = hostname();

/** Variables with a fixed name. */
const NAMED: Record<LogVariable, Getter> = {
  remote_addr: (ex) => ex.clientIp,
  binary_remote_addr: (ex) => ex.clientIp,
  realip_remote_addr: (ex) => ex.peerIp,
  remote_port: (ex) => String(ex.req.socket.remotePort ?? ''),
  remote_user: (ex) => ex.remoteUser,
  time_local: () => (refreshTime(), cachedLocal),
  time_iso8601: () => (refreshTime(), cachedIso),
  msec: () => (Date.now() / 1000).toFixed(3),
  request: (ex) => `${ex.req.method} ${ex.req.url} HTTP/${ex.req.httpVersion}`,
  request_method: (ex) => ex.req.method ?? '',
  request_uri: (ex) => ex.req.url ?? '',
  uri: (ex) => ex.path,
  document_uri: (ex) => ex.path,
  args: (ex) => ex.query.slice(1),
  query_string: (ex) => ex.query.slice(1),
  is_args: (ex) => (ex.query.length > 1 ? '?' : ''),
  server_protocol: (ex) => `HTTP/${ex.req.httpVersion}`,
  scheme: (ex) => ex.scheme,
  https: (ex) => (ex.scheme === 'https' ? 'on' : ''),
  host: (ex) => hostWithoutPort(ex.hostHeader).toLowerCase(),
  server_name: (ex) => hostWithoutPort(ex.hostHeader).toLowerCase(),
  server_addr: (ex) => ex.req.socket.localAddress ?? '',
  server_port: (ex) => String(ex.req.socket.localPort ?? ''),
  status: (_ex, status) => String(status),
  // Portico counts body bytes; the head's bytes are not known here, so $bytes_sent is the body's too.
  body_bytes_sent: (ex) => String(ex.base.bytesSent),
  bytes_sent: (ex) => String(ex.base.bytesSent),
  request_length: (ex) => String(Math.max(0, ex.contentLength)),
  content_length: (ex) => (ex.contentLength >= 0 ? String(ex.contentLength) : ''),
  content_type: (ex) => header(ex, 'content-type'),
  request_time: (ex) => seconds(performance.now() - ex.startedAt),
  request_completion: (ex) => (ex.base.finished ? 'OK' : ''),
  request_id: (ex) => requestIdOf(ex),
  upstream_addr: (ex) => (ex.upstreamSentAt > 0 ? ex.upstream : ''),
  upstream_cache_status: (ex) => ex.cacheStatus,
  upstream_status: (ex, status) => (ex.upstreamHeaderAt >= ex.upstreamSentAt && ex.upstreamSentAt > 0 ? String(status) : ''),
  upstream_header_time: (ex) => (ex.upstreamSentAt > 0 && ex.upstreamHeaderAt >= ex.upstreamSentAt ? seconds(ex.upstreamHeaderAt - ex.upstreamSentAt) : ''),
  upstream_response_time: (ex) => (ex.upstreamSentAt > 0 ? seconds(performance.now() - ex.upstreamSentAt) : ''),
  pid: () => String(process.pid),
  hostname: () => HOSTNAME,
  nginx_version: () => 'portico',
  pipe: () => '.',
  /** Portico's own: the route that answered ("servers[0].routes[1] /api/"). */
  portico_route: (ex) => ex.routeName,
};

function getter(name: string, maps: ReadonlyMap<string, unknown>): Getter | undefined {
  if (isLogVariable(name)) return NAMED[name];
  if (maps.has(name)) return (ex) => ex.maps.get(name)?.(ex) ?? '';
  if (name.startsWith('http_') && name.length > 5) {
    const h = name.slice(5).replace(/_/g, '-');
    return (ex) => header(ex, h);
  }
  if (name.startsWith('arg_') && name.length > 4) {
    const arg = name.slice(4);
    return (ex) => argValue(ex.query.slice(1), arg);
  }
  if (name.startsWith('cookie_') && name.length > 7) {
    const c = name.slice(7);
    return (ex) => cookieValue(cookieHeaders(ex.req.rawHeaders), c);
  }
  return undefined;
}

/**
 * nginx's default log escaping: '"', '\' and bytes outside printable ASCII as \xHH. Request
 * text reaches Portico as latin1 (one char per byte), so a char up to 0xff is its byte; a
 * char above (a decoded $uri) is written as its UTF-8 bytes.
 */
export function escapeDefault(text: string): string {
  if (!/[\x00-\x1f"\\\x7f-\uffff]/.test(text)) return text;
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0)!;
    if (code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c) out += c;
    else if (code <= 0xff) out += hex(code);
    else for (const byte of Buffer.from(c, 'utf8')) out += hex(byte);
  }
  return out;
}

function hex(byte: number): string {
  return '\\x' + byte.toString(16).toUpperCase().padStart(2, '0');
}

/** escape=json: what may stand inside a JSON string (nginx escapes controls and '"', '\'). */
export function escapeJson(text: string): string {
  if (!/[\x00-\x1f"\\]/.test(text)) return text;
  return JSON.stringify(text).slice(1, -1);
}

const ESCAPES: Record<LogEscape, (s: string) => string> = { default: escapeDefault, json: escapeJson, none: (s) => s };

/**
 * A template as a line function. An empty value is written "-" (nginx's rule for a variable
 * that is not found; json leaves it empty as nginx does for escape=json).
 */
export function compileLogFormat(template: string, escape: LogEscape = 'default', maps: ReadonlyMap<string, unknown> = new Map()): LineFormat {
  const esc = ESCAPES[escape];
  const empty = escape === 'json' ? '' : '-';
  const parts: (string | Getter)[] = [];
  let last = 0;
  for (const m of template.matchAll(VAR)) {
    if (m.index > last) parts.push(template.slice(last, m.index));
    last = m.index + m[0].length;
    const name = m[1] ?? m[2]!;
    const get = getter(name, maps);
    if (get === undefined) throw new Error(`unknown log variable "$${name}"`);
    parts.push((ex, status) => {
      const v = get(ex, status);
      return v === '' ? empty : esc(v);
    });
  }
  if (last < template.length) parts.push(template.slice(last));
  return (ex, status) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(ex, status);
    return out;
  };
}

/** Portico's JSON line: one object per request (the access log's `json` format). */
export function jsonLine(ex: Exchange, status: number): string {
  const req = ex.req;
  return JSON.stringify({
    time: new Date().toISOString(),
    remote_addr: ex.clientIp,
    peer: ex.peerIp,
    remote_user: ex.remoteUser || undefined,
    method: req.method,
    uri: req.url,
    protocol: `HTTP/${req.httpVersion}`,
    host: ex.hostHeader,
    status,
    bytes_sent: ex.base.bytesSent,
    duration_ms: Math.round((performance.now() - ex.startedAt) * 1000) / 1000,
    route: ex.routeName,
    upstream: ex.upstream,
    upstream_cache_status: ex.cacheStatus || undefined, // nginx $upstream_cache_status
    upstream_header_ms: ex.upstreamSentAt > 0 && ex.upstreamHeaderAt >= ex.upstreamSentAt ? Math.round((ex.upstreamHeaderAt - ex.upstreamSentAt) * 1000) / 1000 : undefined,
    request_id: requestIdOf(ex),
    referer: header(ex, 'referer') || undefined,
    user_agent: header(ex, 'user-agent') || undefined,
  });
}
