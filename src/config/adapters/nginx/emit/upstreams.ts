/**
 * `upstream NAME { server ADDRESS [params]; ... }` (https://nginx.org/en/docs/http/ngx_http_upstream_module.html)
 * -> a pool under Portico's `upstreams`, named by proxy_pass: servers with `weight`,
 * `max_conns`, `backup`, `down`; `least_conn`, `ip_hash`, `hash`, `random [two]` as the policy;
 * `max_fails` / `fail_timeout` (per server in nginx, per pool in Portico). Unix sockets
 * (`server unix:/run/app.sock`) are servers too; `keepalive N` needs nothing (Portico always
 * keeps connections), `keepalive_timeout` goes to the routes' proxy.
 */
import type { Directive } from '../parser.js';
import type { Diagnostics } from '../../diagnostics.js';
import { duration, parseTime } from './values.js';
import { headerName } from '../variables.js';

export interface UpstreamServer {
  /** "host:port" or "unix:/path". */
  address: string | undefined;
  d: Directive;
  backup: boolean;
  down: boolean;
  weight: number | undefined;
  maxConns: number | undefined;
  maxFails: number | undefined;
  failTimeout: number | undefined;
}

export interface UpstreamDef {
  name: string;
  d: Directive;
  servers: UpstreamServer[];
  /** `keepalive_timeout` inside the block, in ms. */
  keepaliveTimeout: number | undefined;
  policy: unknown;
}

/** Portico pool names are letters, digits, "_" and "-"; nginx's may hold dots. */
export function poolName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(clean) ? clean : `u_${clean}`;
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
    const def: UpstreamDef = { name, d, servers: [], keepaliveTimeout: undefined, policy: undefined };
    let bad = false;
    for (const s of d.block) {
      if (s.name === 'server') {
        const server = parseServer(s, diag);
        if (server) def.servers.push(server);
        else bad = true;
      } else if (s.name === 'keepalive_timeout') {
        def.keepaliveTimeout = parseTime(s.args[0]!);
        if (def.keepaliveTimeout === undefined) diag.error(s, `"keepalive_timeout" directive invalid value`);
      } else {
        const policy = policyOf(s, diag);
        if (policy !== undefined) def.policy = policy;
      }
    }
    if (def.servers.length === 0 && !bad) diag.error(d, `no servers are inside upstream`);
    out.set(name, def);
  }
  return out;
}

/** The balancing method directives -> Portico's policy (undefined for anything else). */
function policyOf(d: Directive, diag: Diagnostics): unknown {
  switch (d.name) {
    case 'least_conn':
    case 'ip_hash':
      return d.name;
    case 'random':
      return d.args[0] === 'two' ? 'random_two' : 'random';
    case 'hash': {
      const key = d.args[0]!;
      if (key === '$request_uri' || key === '$uri') return { name: 'hash', key: 'uri' };
      if (key === '$remote_addr' || key === '$binary_remote_addr') return 'ip_hash';
      const header = /^\$http_(\w+)$/.exec(key);
      if (header) return { name: 'hash', key: `header:${headerName(header[1]!)}` };
      const cookie = /^\$cookie_(\w+)$/.exec(key);
      if (cookie) return { name: 'hash', key: `cookie:${cookie[1]}` };
      diag.warn(d, `hash ${key}: Portico hashes the URI, a header, a cookie or the client address; round robin instead`);
      return undefined;
    }
  }
  return undefined;
}

/** ngx_http_upstream_server: the address, then weight= max_fails= fail_timeout= max_conns= backup down. */
function parseServer(d: Directive, diag: Diagnostics): UpstreamServer | undefined {
  const [address, ...params] = d.args as [string, ...string[]];
  const server: UpstreamServer = { address: undefined, d, backup: false, down: false, weight: undefined, maxConns: undefined, maxFails: undefined, failTimeout: undefined };
  for (const p of params) {
    const [key, value] = p.includes('=') ? [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] : [p, undefined];
    switch (key) {
      case 'weight':
      case 'max_fails':
      case 'max_conns': {
        if (value === undefined || !/^\d+$/.test(value) || (key === 'weight' && Number(value) === 0)) return invalid(d, p, diag);
        const n = Number(value);
        if (key === 'weight') server.weight = n;
        else if (key === 'max_conns') server.maxConns = n;
        else server.maxFails = n;
        break;
      }
      case 'fail_timeout':
        server.failTimeout = value === undefined ? undefined : parseTime(value);
        if (server.failTimeout === undefined) return invalid(d, p, diag);
        break;
      case 'backup':
      case 'down':
        if (value !== undefined) return invalid(d, p, diag);
        server[key] = true;
        break;
      case 'resolve':
        diag.warn(d, `upstream server "resolve" is not carried over: Portico resolves names when it connects`);
        break;
      default:
        return invalid(d, p, diag);
    }
  }
  if (address.startsWith('unix:')) {
    server.address = address;
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

/** The Portico pool for an upstream block, reached over `scheme` (https:// servers for proxy_pass https://). */
export function poolOf(def: UpstreamDef, scheme: 'http' | 'https', diag: Diagnostics): Record<string, unknown> {
  const servers = mergeRepeated(def.servers.filter((s) => s.address !== undefined), def, diag)
    .map((s) => {
      const address = scheme === 'https' && !s.address!.startsWith('unix:') ? `https://${s.address}` : s.address!;
      const extra: Record<string, unknown> = {};
      if (s.weight !== undefined && s.weight !== 1) extra.weight = s.weight;
      if (s.maxConns !== undefined && s.maxConns !== 0) extra.max_conns = s.maxConns;
      if (s.backup) extra.backup = true;
      if (s.down) extra.down = true;
      return Object.keys(extra).length === 0 ? address : { address, ...extra };
    });
  const pool: Record<string, unknown> = { servers };
  if (def.policy !== undefined) pool.policy = def.policy;
  // nginx counts failures per server; a Portico pool has one setting: the first written wins.
  const fails = def.servers.find((s) => s.maxFails !== undefined);
  const timeouts = def.servers.find((s) => s.failTimeout !== undefined);
  const active = def.servers.filter((s) => !s.down);
  if (fails && active.some((s) => (s.maxFails ?? 1) !== fails.maxFails))
    diag.warn(fails.d, `max_fails differs between the servers of upstream "${def.name}" (nginx's default is 1): Portico has one per pool, ${fails.maxFails}`);
  if (timeouts && active.some((s) => (s.failTimeout ?? 10_000) !== timeouts.failTimeout))
    diag.warn(timeouts.d, `fail_timeout differs between the servers of upstream "${def.name}" (nginx's default is 10s): Portico has one per pool`);
  if (fails && fails.maxFails !== 1) pool.max_fails = fails.maxFails;
  if (timeouts && timeouts.failTimeout !== 10_000) pool.fail_timeout = duration(timeouts.failTimeout!);
  return pool;
}

/**
 * A server listed twice is two peers to nginx, each with its weight (and max_conns): twice the
 * share of the requests. Portico's pool has one entry per address, so repeated entries become
 * one whose weight (and max_conns) is their sum; the weighted round robin then picks it as often
 * as nginx picks the two. A repeat that is `backup` or `down` where the first is not (or the
 * reverse) cannot be one entry: it is left out, with a warning.
 */
function mergeRepeated(servers: readonly UpstreamServer[], def: UpstreamDef, diag: Diagnostics): UpstreamServer[] {
  const out: UpstreamServer[] = [];
  const byAddress = new Map<string, UpstreamServer>();
  for (const s of servers) {
    const first = byAddress.get(s.address!);
    if (first === undefined) {
      const copy = { ...s };
      byAddress.set(s.address!, copy);
      out.push(copy);
      continue;
    }
    if (first.backup !== s.backup || first.down !== s.down) {
      diag.warn(s.d, `upstream "${def.name}" lists ${s.address} again as ${s.backup ? 'backup' : s.down ? 'down' : 'a primary server'}: Portico has one entry per address; this one is left out`);
      continue;
    }
    first.weight = (first.weight ?? 1) + (s.weight ?? 1);
    first.maxConns = first.maxConns === undefined || first.maxConns === 0 || s.maxConns === undefined || s.maxConns === 0 ? undefined : first.maxConns + s.maxConns;
  }
  return out;
}
