/**
 * What each placeholder of a template (template.ts) reads from a request: the one table from a
 * placeholder name to a getter, and the kind of text it inserts, which decides how it is escaped
 * where it lands. Adapters map their own variable names onto these (nginx's table is
 * src/config/adapters/nginx/variables.ts, Caddy's placeholders.ts), and anything that formats
 * request facts (headers, bodies, maps, limit keys, log lines) compiles through template.ts.
 *
 *   request   {host} {hostport} {scheme} {method} {uri} {path} {query} {is_args}
 *             {request_line} {server_protocol} {https} {header.NAME} {arg.NAME} {cookie.NAME}
 *   client    {remote_ip} {client_ip} {remote_port} {forwarded_for}
 *   server    {server_addr} {server_port} {hostname} {pid} {version} {request_id} (X-Request-ID,
 *             request-id.ts)
 *   time      {msec} {time_iso8601} {time_local} {request_time}
 *   state     {re.N} {re.NAME} (captures), {map.NAME}, {var.NAME} (nginx `set`),
 *             {connection} (a serial number per connection), {upstream_addr}, {upstream_status},
 *             {upstream_http.NAME} (a header of the upstream's response), {limit_rate}
 *             (the rate a `set` step gave, in bytes per second; 0 without: nginx $limit_rate
 *             in a response head)
 *   TLS       {ssl.NAME}: nginx's $ssl_NAME (ssl-variables.ts)
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { Exchange } from './exchange.js';
import { hostWithoutPort } from './host.js';
import { argValue, cookieHeaders, cookieValue } from './request-vars.js';
import { normalizeIp } from './cidr.js';
import { msec, timeIso8601, timeLocal } from './time-values.js';
import { sslVariable } from './ssl-variables.js';
import { requestIdOf } from './request-id.js';

/**
 * What a placeholder inserts: `safe` text Portico made or validated (an address, a port, the
 * scheme), decoded `text` (the path and its captures), or `bytes` as the client sent them.
 */
export type Kind = 'safe' | 'text' | 'bytes';

export type Getter = (ex: Exchange) => string;

export interface Part {
  kind: Kind;
  get: Getter;
}

const HOSTNAME = osHostname();
const PID = String(process.pid);
/** Portico's version, as nginx's $nginx_version is nginx's (read once, from package.json). */
let version: string | undefined;
function portico(): string {
  try {
    version ??= (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    version = '';
  }
  return version;
}

/** A serial number per connection (nginx $connection), given on first use. */
const connections = new WeakMap<object, number>();
let nextConnection = 1;

function connectionId(ex: Exchange): string {
  const socket = ex.req.socket as object | null;
  if (socket === null || socket === undefined) return '';
  let id = connections.get(socket);
  if (id === undefined) connections.set(socket, (id = nextConnection++));
  return String(id);
}

const SIMPLE: Record<string, Part> = {
  host: { kind: 'bytes', get: (ex) => hostWithoutPort(ex.hostHeader) },
  hostport: { kind: 'bytes', get: (ex) => ex.hostHeader },
  scheme: { kind: 'safe', get: (ex) => ex.scheme },
  https: { kind: 'safe', get: (ex) => (ex.scheme === 'https' ? 'on' : '') },
  method: { kind: 'bytes', get: (ex) => ex.req.method ?? '' },
  uri: { kind: 'bytes', get: (ex) => ex.req.url ?? '' },
  path: { kind: 'text', get: (ex) => ex.path },
  query: { kind: 'bytes', get: (ex) => ex.query.slice(1) },
  is_args: { kind: 'safe', get: (ex) => (ex.query.length > 1 ? '?' : '') },
  request_line: { kind: 'bytes', get: (ex) => `${ex.req.method} ${ex.req.url} HTTP/${ex.req.httpVersion}` },
  server_protocol: { kind: 'safe', get: (ex) => `HTTP/${ex.req.httpVersionMajor === 2 ? '2.0' : ex.req.httpVersion}` },
  remote_ip: { kind: 'safe', get: (ex) => ex.peerIp },
  client_ip: { kind: 'safe', get: (ex) => ex.clientIp }, // an address isIP() accepted (client-ip.ts)
  // nginx's $proxy_add_x_forwarded_for: the client's X-Forwarded-For with the client address appended.
  forwarded_for: {
    kind: 'bytes',
    get: (ex) => {
      const v = ex.req.headers['x-forwarded-for'];
      const sent = Array.isArray(v) ? v.join(', ') : v;
      return sent ? `${sent}, ${ex.clientIp}` : ex.clientIp;
    },
  },
  remote_port: { kind: 'safe', get: (ex) => String(ex.req.socket?.remotePort ?? '') },
  server_addr: { kind: 'safe', get: (ex) => normalizeIp(ex.req.socket?.localAddress ?? '') },
  server_port: { kind: 'safe', get: (ex) => String(ex.req.socket?.localPort ?? '') },
  hostname: { kind: 'safe', get: () => HOSTNAME },
  pid: { kind: 'safe', get: () => PID },
  version: { kind: 'safe', get: portico },
  msec: { kind: 'safe', get: () => msec() },
  time_iso8601: { kind: 'safe', get: () => timeIso8601() },
  time_local: { kind: 'safe', get: () => timeLocal() },
  request_time: { kind: 'safe', get: (ex) => ((performance.now() - ex.startedAt) / 1000).toFixed(3) },
  connection: { kind: 'safe', get: connectionId },
  upstream_addr: { kind: 'safe', get: (ex) => (ex.upstream === '-' ? '' : ex.upstream) },
  upstream_status: { kind: 'safe', get: (ex) => (ex.upstreamStatus === 0 ? '' : String(ex.upstreamStatus)) },
  limit_rate: { kind: 'safe', get: (ex) => String(Math.max(ex.limitRate, 0)) },
  request_id: { kind: 'safe', get: requestIdOf }, // made here, or a proxy's checked by request-id.ts
};

/** The part for a placeholder name (what is between the braces), or undefined when unknown. */
export function placeholder(name: string): Part | undefined {
  const simple = SIMPLE[name];
  if (simple !== undefined) return simple;
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const arg = name.slice(dot + 1);
  switch (name.slice(0, dot)) {
    case 'header': {
      const header = arg.toLowerCase();
      return {
        kind: 'bytes',
        get: (ex) => {
          const v = ex.req.headers[header];
          return Array.isArray(v) ? v.join(', ') : (v ?? '');
        },
      };
    }
    case 'upstream_http': {
      const want = arg.toLowerCase();
      return {
        kind: 'bytes',
        get: (ex) => {
          const raw = ex.upstreamHeaders;
          if (raw === null) return '';
          for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === want.length && raw[i]!.toLowerCase() === want) return raw[i + 1]!;
          return '';
        },
      };
    }
    case 'arg':
      return { kind: 'bytes', get: (ex) => argValue(ex.query.slice(1), arg) };
    case 'cookie':
      return { kind: 'bytes', get: (ex) => cookieValue(cookieHeaders(ex.req.rawHeaders), arg) };
    case 'map':
      // A map's value may be any placeholder: escaped as bytes, which keeps it within its place.
      return { kind: 'bytes', get: (ex) => ex.maps.get(arg)?.(ex) ?? '' };
    case 'var':
      // A value `set` computed (compile/rewrite.ts), of any origin: escaped as bytes.
      return { kind: 'bytes', get: (ex) => ex.vars?.get(arg) ?? '' };
    case 're': {
      const index = /^\d+$/.test(arg) ? Number(arg) : undefined;
      return { kind: 'text', get: (ex) => (index !== undefined ? ex.captures?.[index] : ex.captures?.groups?.[arg]) ?? '' };
    }
    case 'ssl': {
      const get = sslVariable(arg);
      // Certificate subjects and PEM text come from the client's certificate: bytes.
      return get === undefined ? undefined : { kind: 'bytes', get: (ex) => get(ex.req.socket, ex.tlsClient) };
    }
  }
  return undefined;
}
