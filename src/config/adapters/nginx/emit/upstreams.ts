/**
 * `upstream NAME { server ADDRESS [params]; ... }` (https://nginx.org/en/docs/http/ngx_http_upstream_module.html).
 * Portico's `proxy.to` takes a list of addresses and goes round robin over them; nginx's
 * balancing options (weights, backup, passive health, other methods) are warned about until
 * Portico's load balancing lands. `down` servers are left out, as nginx never uses them.
 */
import type { Directive } from '../parser.js';
import type { Diagnostics } from '../../diagnostics.js';
import { parseTime } from './values.js';

export interface UpstreamServer {
  /** "host:port" as Portico writes it. */
  address: string | undefined;
  d: Directive;
  backup: boolean;
  down: boolean;
}

export interface UpstreamDef {
  name: string;
  d: Directive;
  servers: UpstreamServer[];
  /** `keepalive_timeout` inside the block, in ms. */
  keepaliveTimeout: number | undefined;
}

export function collectUpstreams(http: readonly Directive[], diag: Diagnostics): Map<string, UpstreamDef> {
  const out = new Map<string, UpstreamDef>();
  for (const d of http) {
    if (d.name !== 'upstream' || !d.block) continue;
    const name = d.args[0]!;
    if (out.has(name)) {
      diag.error(d, `duplicate upstream "${name}"`);
      continue;
    }
    const def: UpstreamDef = { name, d, servers: [], keepaliveTimeout: undefined };
    let bad = false;
    for (const s of d.block) {
      if (s.name === 'server') {
        const server = parseServer(s, diag);
        if (server) def.servers.push(server);
        else bad = true;
      } else if (s.name === 'keepalive_timeout') {
        def.keepaliveTimeout = parseTime(s.args[0]!);
        if (def.keepaliveTimeout === undefined) diag.error(s, `"keepalive_timeout" directive invalid value`);
      }
    }
    if (def.servers.length === 0 && !bad) diag.error(d, `no servers are inside upstream`);
    out.set(name, def);
  }
  return out;
}

/** ngx_http_upstream_server: the address, then weight= max_fails= fail_timeout= max_conns= backup down. */
function parseServer(d: Directive, diag: Diagnostics): UpstreamServer | undefined {
  const [address, ...params] = d.args as [string, ...string[]];
  const server: UpstreamServer = { address: undefined, d, backup: false, down: false };
  for (const p of params) {
    const [key, value] = p.includes('=') ? [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] : [p, undefined];
    switch (key) {
      case 'weight':
      case 'max_fails':
      case 'max_conns':
        if (value === undefined || !/^\d+$/.test(value) || (key === 'weight' && Number(value) === 0)) return invalid(d, p, diag);
        if (!(key === 'weight' && value === '1')) diag.warn(d, `upstream server "${p}" is not carried over: Portico has no load-balancing options yet`);
        break;
      case 'fail_timeout':
        if (value === undefined || parseTime(value) === undefined) return invalid(d, p, diag);
        diag.warn(d, `upstream server "${p}" is not carried over: Portico has no passive health checks yet`);
        break;
      case 'backup':
        if (value !== undefined) return invalid(d, p, diag);
        server.backup = true;
        diag.warn(d, `upstream server "${address}" is a backup: Portico has no backup servers yet; left out`);
        break;
      case 'down':
        if (value !== undefined) return invalid(d, p, diag);
        server.down = true;
        break;
      case 'resolve':
        diag.warn(d, `upstream server "resolve" is not carried over: Portico resolves names when it connects`);
        break;
      default:
        return invalid(d, p, diag);
    }
  }
  if (address.startsWith('unix:')) {
    diag.warn(d, `upstream server "${address}": Portico cannot proxy to unix sockets yet; left out`);
    return server;
  }
  const parsed = hostPort(address, 80);
  if (!parsed) {
    diag.error(d, `invalid host in upstream "${address}"`);
    return undefined;
  }
  server.address = parsed;
  return server;
}

function invalid(d: Directive, p: string, diag: Diagnostics): undefined {
  diag.error(d, `invalid parameter "${p}"`);
  return undefined;
}

/** "127.0.0.1" -> "127.0.0.1:80", "[::1]:8000" stays, "backend:8000" stays; undefined when malformed. */
export function hostPort(text: string, defaultPort: number): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return `${m[1]}:${port}`;
}
