/**
 * `reverse_proxy [matcher] [upstreams...] { ... }` (https://caddyserver.com/docs/caddyfile/directives/reverse_proxy)
 * -> a Portico `proxy`. Caddy and Portico agree on the defaults: Host passes unchanged,
 * X-Forwarded-For/-Proto/-Host are set, and a client's own X-Forwarded-* are ignored unless it
 * is a trusted proxy. Mapped: upstreams (`host:port`, `http://`, `https://`, `unix//path`,
 * `:port`, port ranges), `header_up` / `header_down`, `trusted_proxies`, the load-balancing and
 * health options onto an inline pool, and `transport http` timeouts and TLS. Where Caddy's
 * defaults differ from a Portico pool's they are written out: `random` selection, no retries,
 * no passive health (Caddy turns those on only when asked).
 */
import type { Directive } from '../parser.js';
import type { Token } from '../lexer.js';
import type { CaddyContext, RouteState } from '../context.js';
import { headerOps } from './headers.js';
import { duration } from '../../nginx/emit/values.js';
import { parseDuration, isDuration } from '../../../duration.js';
import { isCidrList } from '../../../../http/cidr.js';

const STREAMING = new Set(['flush_interval', 'request_buffers', 'response_buffers', 'stream_timeout', 'stream_close_delay', 'buffer_requests', 'buffer_responses', 'max_buffer_size']);

export interface ProxyResult {
  handler: Record<string, unknown>;
  trustedProxies: string[];
}

interface Pool {
  /** transport http { tls }: every upstream is TLS. */
  tlsOn?: boolean;
  policy?: unknown;
  weights?: number[];
  retry: Record<string, unknown>;
  health: Record<string, unknown>;
  tls: Record<string, unknown>;
  passive: Record<string, unknown>;
}

export function reverseProxy(ctx: CaddyContext, d: Directive, args: Token[], state: RouteState): ProxyResult | undefined {
  const to: string[] = [];
  const trustedProxies: string[] = [];
  const proxy: Record<string, unknown> = {};
  const pool: Pool = { retry: {}, health: {}, tls: {}, passive: {} };
  for (const a of args) upstream(ctx, d, a.text, to);
  const deferredHeaders: Directive[] = [];
  for (const sub of d.block ?? []) {
    const subArgs = sub.args.map((t) => t.text);
    if (sub.name === 'to') for (const a of subArgs) upstream(ctx, sub, a, to);
    else if (sub.name === 'header_up' || sub.name === 'header_down') deferredHeaders.push(sub);
    else if (sub.name === 'trusted_proxies') trustedProxies.push(...cidrs(ctx, sub, subArgs.filter((a) => a !== 'static')));
    else if (sub.name === 'transport') transport(ctx, sub, proxy, pool);
    else if (balancing(ctx, sub, subArgs, pool)) continue;
    else if (STREAMING.has(sub.name)) ctx.diag.warn(sub, `reverse_proxy ${sub.name} is not carried over: Portico streams responses as they come`);
    else if (sub.name === 'handle_response' || sub.name === 'replace_status' || sub.name.startsWith('@')) ctx.diag.warn(sub, `reverse_proxy ${sub.name} is not carried over: handling upstream responses is not supported`);
    else if (sub.name === 'method' || sub.name === 'rewrite') ctx.diag.warn(sub, `reverse_proxy ${sub.name} is not carried over: the request is sent as it came`);
    else ctx.diag.error(sub, `reverse_proxy: unrecognized subdirective ${sub.name}`);
  }
  if (to.length === 0) {
    ctx.diag.warn(d, 'reverse_proxy: no upstream Portico can use; the route answers 502');
    return { handler: { respond: { status: 502 } }, trustedProxies };
  }
  const constants = new Map<string, string>();
  if (to.length === 1) {
    constants.set('upstream_hostport', to[0]!.replace(/^https:\/\//, ''));
    constants.set('http.reverse_proxy.upstream.hostport', to[0]!.replace(/^https:\/\//, ''));
  }
  for (const sub of deferredHeaders) {
    const up = sub.name === 'header_up';
    headerOps(ctx, sub, sub.args.map((t) => t.text), up ? state.requestHeaders : state.responseHeaders, constants, up);
  }
  return { handler: { proxy: { to: target(to, pool), ...proxy } }, trustedProxies };
}

/** Addresses and CIDRs as Portico reads them; each other one is an error at its line. */
export function cidrs(ctx: CaddyContext, d: Directive, list: string[]): string[] {
  return list.filter((a) => {
    const bad = isCidrList([a]) !== undefined;
    if (bad) ctx.diag.error(d, `${d.name}: expected a CIDR, an IP address or private_ranges, got "${a}"`);
    return !bad;
  });
}

/** A plain address, or an inline pool with Caddy's behaviour written out. */
function target(list: string[], pool: Pool): unknown {
  const to = pool.tlsOn ? list.map((a) => (a.startsWith('https://') || a.startsWith('unix:') ? a : `https://${a.replace(/:80$/, ':443')}`)) : list;
  const servers = to.map((address, i) => (pool.weights?.[i] !== undefined && pool.weights[i] !== 1 ? { address, weight: pool.weights[i] } : address));
  const out: Record<string, unknown> = { servers };
  if (to.length > 1) {
    out.policy = pool.policy ?? 'random'; // Caddy's default
    // Caddy retries only when asked (lb_try_interval alone asks nothing).
    if (pool.retry.tries === undefined && pool.retry.try_duration === undefined) out.retry = { tries: 1, ...pool.retry };
    if (Object.keys(pool.passive).length === 0) out.max_fails = 0; // and counts failures only with fail_duration
  } else if (pool.policy !== undefined) out.policy = pool.policy;
  if (Object.keys(pool.retry).length > 0) out.retry = pool.retry;
  Object.assign(out, pool.passive);
  if (Object.keys(pool.health).length > 0) out.health_check = { interval: '30s', timeout: '5s', status: '2xx', ...pool.health };
  if (Object.keys(pool.tls).length > 0) out.tls = pool.tls;
  const keys = Object.keys(out);
  return keys.length === 1 && to.length === 1 && typeof servers[0] === 'string' ? to[0] : out;
}

/** lb_*, health_*, fail_duration and friends; false when `sub` is none of them. */
function balancing(ctx: CaddyContext, sub: Directive, args: string[], pool: Pool): boolean {
  const time = () => {
    const v = args[0] ?? '';
    if (!isDuration(v)) ctx.diag.error(sub, `${sub.name}: invalid duration "${v}"`);
    return duration(parseDuration(v));
  };
  const int = (min = 0): number | undefined => {
    const n = Number(args[0]);
    if (args.length === 1 && /^\d+$/.test(args[0]!) && n >= min) return n;
    ctx.diag.error(sub, `${sub.name}: expected a whole number${min > 0 ? ` of at least ${min}` : ''}, got "${args.join(' ')}"`);
    return undefined;
  };
  switch (sub.name) {
    case 'lb_policy':
      pool.policy = policy(ctx, sub, args, pool);
      return true;
    case 'lb_retries':
      pool.retry.tries = (int() ?? 0) + 1; // Caddy counts retries, Portico tries
      return true;
    case 'lb_try_duration':
      pool.retry.try_duration = time();
      return true;
    case 'lb_try_interval':
      pool.retry.try_interval = time();
      return true;
    case 'health_uri':
    case 'health_path':
      pool.health.path = args[0];
      return true;
    case 'health_port':
      pool.health.port = int(1);
      return true;
    case 'health_interval':
      pool.health.interval = time();
      return true;
    case 'health_timeout':
      pool.health.timeout = time();
      return true;
    case 'health_status':
      pool.health.status = args[0];
      return true;
    case 'health_body':
      pool.health.body = args[0];
      if (/[\\^$.*+?()[\]{}|]/.test(args[0] ?? '')) ctx.diag.warn(sub, 'health_body: Portico looks for the text as written, not as a regular expression');
      return true;
    case 'health_passes':
      pool.health.passes = int(1);
      return true;
    case 'health_fails':
      pool.health.fails = int(1);
      return true;
    case 'health_headers': {
      const headers: Record<string, string> = {};
      for (const h of sub.block ?? []) headers[h.name] = h.args.map((t) => t.text).join(' ');
      pool.health.headers = headers;
      return true;
    }
    case 'fail_duration':
      pool.passive.fail_timeout = time();
      pool.passive.max_fails ??= 1;
      return true;
    case 'max_fails':
      pool.passive.max_fails = int();
      return true;
    case 'unhealthy_status':
      pool.passive.fail_on = ['error', 'timeout', ...args.map((a) => (/^5\d\d$|^429$/.test(a) ? `http_${a}` : a === '5xx' ? 'http_5xx' : undefined)).filter((a): a is string => a !== undefined)];
      return true;
    case 'lb_retry_match':
    case 'health_method':
    case 'health_follow_redirects':
    case 'unhealthy_latency':
    case 'unhealthy_request_count':
    case 'dynamic':
      ctx.diag.warn(sub, `reverse_proxy ${sub.name} is not carried over`);
      return true;
  }
  return false;
}

/** lb_policy -> Portico's policy (https://caddyserver.com/docs/caddyfile/directives/reverse_proxy#lb_policy). */
function policy(ctx: CaddyContext, sub: Directive, args: string[], pool: Pool): unknown {
  const [name, ...rest] = args;
  switch (name) {
    case 'random':
    case 'round_robin':
    case 'least_conn':
    case 'first':
    case 'ip_hash':
      return name;
    case 'client_ip_hash':
      return 'ip_hash';
    case 'random_choose':
      if (rest[0] !== undefined && rest[0] !== '2') ctx.diag.warn(sub, `lb_policy random_choose ${rest[0]}: Portico chooses the better of two`);
      return 'random_two';
    case 'weighted_round_robin':
      pool.weights = rest.map(Number);
      return 'round_robin';
    case 'uri_hash':
      return { name: 'hash', key: 'uri' };
    case 'header':
      return { name: 'hash', key: `header:${rest[0]}` };
    case 'cookie': {
      const p: Record<string, unknown> = { name: 'cookie' };
      if (rest[0]) p.cookie = rest[0];
      if (rest[1]) p.secret = rest[1];
      return p;
    }
  }
  ctx.diag.warn(sub, `lb_policy ${args.join(' ')} is not carried over: round robin`);
  return undefined;
}

/** `host:port`, `http://`, `https://host[:port]`, `unix//path`, `:port`, `host:8001-8003`; h2c:// and h3:// are warned about. */
function upstream(ctx: CaddyContext, d: Directive, text: string, out: string[]): void {
  if (text.includes('{')) {
    ctx.diag.warn(d, `reverse_proxy upstream "${text}": Portico cannot choose upstreams from placeholders; left out`);
    return;
  }
  if (text.startsWith('unix//')) {
    out.push(`unix:${text.slice(5)}`);
    return;
  }
  if (/^(h2c|h3):\/\//i.test(text) || text.startsWith('unix+')) {
    ctx.diag.warn(d, `reverse_proxy upstream "${text}": Portico speaks HTTP/1.1 to upstreams (TCP, TLS or unix sockets); left out`);
    return;
  }
  const https = /^https:\/\//i.test(text);
  const bare = text.replace(/^https?:\/\//i, '').replace(/\/$/, '');
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]*)(?::(\d+)(?:-(\d+))?)?$/.exec(bare);
  if (!m) {
    ctx.diag.error(d, `reverse_proxy: invalid upstream address "${text}"`);
    return;
  }
  const host = m[1] === '' ? 'localhost' : m[1]!;
  const first = m[2] === undefined ? (https ? 443 : 80) : Number(m[2]);
  const last = m[3] === undefined ? first : Number(m[3]);
  if (first < 1 || last > 65535 || last < first) {
    ctx.diag.error(d, `reverse_proxy: invalid port in "${text}"`);
    return;
  }
  for (let p = first; p <= last; p++) out.push(`${https ? 'https://' : ''}${host}:${p}`);
}

/** `transport http { dial_timeout, response_header_timeout, read_timeout, keepalive, tls... }` */
function transport(ctx: CaddyContext, d: Directive, proxy: Record<string, unknown>, pool: Pool): void {
  if (d.args[0]?.text !== 'http') {
    ctx.diag.warn(d, `transport ${d.args[0]?.text ?? ''} is not carried over: Portico speaks HTTP to upstreams`);
    return;
  }
  const time = (sub: Directive) => {
    const v = sub.args[0]?.text ?? '';
    if (!isDuration(v)) ctx.diag.error(sub, `${sub.name}: invalid duration "${v}"`);
    return duration(parseDuration(v));
  };
  for (const sub of d.block ?? []) {
    switch (sub.name) {
      case 'dial_timeout':
        proxy.connect_timeout = time(sub);
        break;
      case 'response_header_timeout':
      case 'read_timeout':
        proxy.read_timeout = time(sub);
        break;
      case 'keepalive':
        if (sub.args[0]?.text === 'off') ctx.diag.warn(sub, 'keepalive off is not carried over: Portico always reuses upstream connections');
        else proxy.keepalive_timeout = time(sub);
        break;
      case 'keepalive_idle_conns_per_host':
      case 'max_conns_per_host':
        proxy.keepalive_connections = Number(sub.args[0]?.text);
        break;
      case 'versions':
        if (sub.args.some((a) => a.text !== '1.1')) ctx.diag.warn(sub, 'versions: Portico speaks HTTP/1.1 to upstreams');
        break;
      case 'tls':
        pool.tlsOn = true;
        break;
      case 'tls_insecure_skip_verify':
        pool.tls.insecure_skip_verify = true;
        break;
      case 'tls_server_name':
        pool.tls.server_name = sub.args[0]?.text;
        break;
      case 'tls_trusted_ca_certs':
        pool.tls.ca = sub.args[0]?.text;
        if (sub.args.length > 1) ctx.diag.warn(sub, 'tls_trusted_ca_certs: Portico takes one PEM file (it may hold several certificates); the first is used');
        break;
      default:
        ctx.diag.warn(sub, `transport http ${sub.name} is not carried over`);
    }
  }
}
