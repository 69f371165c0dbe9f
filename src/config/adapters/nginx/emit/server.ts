/**
 * `listen` and `server_name` (https://nginx.org/en/docs/http/ngx_http_core_module.html#listen,
 * https://nginx.org/en/docs/http/server_names.html) -> a Portico server's `listen`, `hosts` and
 * `default`. nginx's own rules kept: no `listen` means port 80; the first server on an address
 * is its default unless one says `default_server`; a name already taken on an address is
 * ignored with a warning ("conflicting server name"), as nginx does.
 */
import type { Directive } from '../parser.js';
import type { Diagnostics } from '../../diagnostics.js';
import { own, type Scope } from '../scope.js';
import { hostNameProblem, hostNameWarning } from '../../../host-name.js';

export interface ListenInfo {
  /** Portico listen string: ":80", "127.0.0.1:8080", "[::1]:80". */
  address: string;
  /** Key for "same address" checks: "*:80", "127.0.0.1:8080". */
  key: string;
  port: number;
  defaultServer: boolean;
  ssl: boolean;
  d: Directive | undefined;
}

const LISTEN_FLAGS = new Set(['default_server', 'default', 'ssl', 'http2', 'proxy_protocol', 'deferred', 'bind', 'reuseport', 'quic']);
const LISTEN_KEYS = new Set(['backlog', 'rcvbuf', 'sndbuf', 'accept_filter', 'fastopen', 'ipv6only', 'so_keepalive', 'setfib']);

export function parseListens(server: Scope, diag: Diagnostics, sslOn = false): ListenInfo[] {
  const dirs = own(server, 'listen');
  if (dirs.length === 0) return [{ address: ':80', key: '*:80', port: 80, defaultServer: false, ssl: false, d: undefined }];
  const out: ListenInfo[] = [];
  for (const d of dirs) {
    const [addr, ...params] = d.args as [string, ...string[]];
    if (addr.startsWith('unix:')) {
      diag.warn(d, `listen "${addr}": Portico cannot listen on unix sockets; left out`);
      continue;
    }
    const parsed = parseAddress(addr);
    if (typeof parsed === 'string') {
      diag.error(d, `${parsed} in "${addr}" of the "listen" directive`);
      continue;
    }
    const info: ListenInfo = { ...parsed, defaultServer: false, ssl: false, d };
    for (const p of params) {
      const key = p.includes('=') ? p.slice(0, p.indexOf('=')) : p;
      if (!LISTEN_FLAGS.has(key) && !LISTEN_KEYS.has(key)) {
        diag.error(d, `invalid parameter "${p}"`);
        continue;
      }
      if (key === 'default_server' || key === 'default') info.defaultServer = true;
      else if (key === 'ssl') info.ssl = true;
      else if (key === 'quic') diag.warn(d, `listen "quic" is not carried over: Portico has no HTTP/3`);
      else if (key === 'proxy_protocol') diag.warn(d, `listen "proxy_protocol" is not carried over: Portico does not read the PROXY protocol`);
    }
    if (params.includes('http2') && !info.ssl && !sslOn) diag.warn(d, `listen "${addr} http2" without ssl (h2c) is not carried over: Portico offers HTTP/2 over TLS`);
    if (sslOn) info.ssl = true;
    if (out.some((o) => o.key === info.key)) {
      diag.error(d, `duplicate listen ${info.key}`);
      continue;
    }
    out.push(info);
  }
  return mergeDualStack(out);
}

/** "80", "*:80", "127.0.0.1", "127.0.0.1:8080", "[::]:80", "localhost:8080". */
function parseAddress(text: string): Omit<ListenInfo, 'defaultServer' | 'ssl' | 'd'> | string {
  let host: string | undefined;
  let portText: string | undefined;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(.*))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else if (/^\d+$/.test(text)) portText = text;
  else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (host === '*') host = undefined;
    else if (!/^[A-Za-z0-9._-]+$/.test(host)) return 'host not found';
  }
  const port = portText === undefined ? 80 : /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return 'invalid port';
  if (host === undefined || host === '0.0.0.0') return { address: `:${port}`, key: `*:${port}`, port };
  const shown = host.includes(':') ? `[${host}]` : host;
  return { address: `${shown}:${port}`, key: `${shown}:${port}`, port };
}

/** `listen 80; listen [::]:80;` is one dual-stack listener in Portico (node binds both). */
function mergeDualStack(list: ListenInfo[]): ListenInfo[] {
  return list.filter((l) => !(l.key.startsWith('[::]:') && list.some((o) => o.key === `*:${l.port}`)));
}

export interface ServerNames {
  /** Names as written, minus "" and "_" (which match no real Host). */
  names: { name: string; d: Directive }[];
  /** The first name ($server_name), "" when none. */
  primary: string;
  /** Named captures of regex names ("~^(?<sub>.+)\.example\.com$"). */
  captures: string[];
}

export function parseServerNames(server: Scope, diag: Diagnostics): ServerNames {
  const out: ServerNames = { names: [], primary: '', captures: [] };
  let first = true;
  for (const d of own(server, 'server_name')) {
    for (const name of d.args) {
      if (first) out.primary = name.startsWith('~') ? '' : name;
      first = false;
      if (name === '' || name === '_') continue;
      if (name.startsWith('~')) {
        try {
          const re = new RegExp(name.slice(1).replace(/\(\?P</g, '(?<'));
          out.captures.push(...Object.keys(re.exec('')?.groups ?? {}), ...[...name.matchAll(/\(\?P?<([A-Za-z_]\w*)>/g)].map((m) => m[1]!));
        } catch (err) {
          diag.error(d, `invalid server name regex "${name}": ${(err as Error).message}`);
          continue;
        }
        const problem = hostNameProblem(name);
        if (problem) {
          diag.error(d, `server name regex "${name}" cannot be used: ${problem}`);
          continue;
        }
        const warning = hostNameWarning(name);
        if (warning) diag.warn(d, `server name "${name}" ${warning}`);
      } else {
        const star = name.indexOf('*');
        if (star >= 0 && !(name.startsWith('*.') && star === 0 && name.lastIndexOf('*') === 0) && !(name.endsWith('.*') && star === name.length - 1)) {
          diag.error(d, `invalid server name or wildcard "${name}" on 0.0.0.0:80`);
          continue;
        }
      }
      out.names.push({ name: name.startsWith('~') ? name : name.toLowerCase(), d });
    }
  }
  return out;
}
