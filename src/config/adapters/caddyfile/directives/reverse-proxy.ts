/**
 * `reverse_proxy [matcher] [upstreams...] { ... }` (https://caddyserver.com/docs/caddyfile/directives/reverse_proxy)
 * -> a Portico `proxy`. Caddy and Portico agree on the defaults: Host passes unchanged,
 * X-Forwarded-For/-Proto/-Host are set, and a client's own X-Forwarded-* are ignored unless it
 * is a trusted proxy. Mapped: upstreams (`host:port`, `http://`, `:port`, port ranges),
 * `header_up` / `header_down`, `trusted_proxies`, and `transport http` timeouts. Load balancing
 * and health options are warned about until Portico's load balancing lands.
 */
import type { Directive } from '../parser.js';
import type { Token } from '../lexer.js';
import type { CaddyContext, RouteState } from '../context.js';
import { headerOps } from './headers.js';
import { duration } from '../../nginx/emit/values.js';
import { parseDuration, isDuration } from '../../../duration.js';

const NO_LB = 'Portico has no load-balancing options yet';
const LB = new Set(['lb_policy', 'lb_retries', 'lb_try_duration', 'lb_try_interval', 'lb_retry_match', 'health_uri', 'health_path', 'health_port', 'health_interval', 'health_timeout', 'health_status', 'health_body', 'health_headers', 'health_passes', 'health_fails', 'health_method', 'health_follow_redirects', 'fail_duration', 'max_fails', 'unhealthy_status', 'unhealthy_latency', 'unhealthy_request_count', 'dynamic']);
const STREAMING = new Set(['flush_interval', 'request_buffers', 'response_buffers', 'stream_timeout', 'stream_close_delay', 'buffer_requests', 'buffer_responses', 'max_buffer_size']);

export interface ProxyResult {
  handler: Record<string, unknown>;
  trustedProxies: string[];
}

export function reverseProxy(ctx: CaddyContext, d: Directive, args: Token[], state: RouteState): ProxyResult | undefined {
  const to: string[] = [];
  const trustedProxies: string[] = [];
  const proxy: Record<string, unknown> = {};
  for (const a of args) upstream(ctx, d, a.text, to);
  const constants = new Map<string, string>();
  const deferredHeaders: Directive[] = [];
  for (const sub of d.block ?? []) {
    const subArgs = sub.args.map((t) => t.text);
    if (sub.name === 'to') for (const a of subArgs) upstream(ctx, sub, a, to);
    else if (sub.name === 'header_up' || sub.name === 'header_down') deferredHeaders.push(sub);
    else if (sub.name === 'trusted_proxies') trustedProxies.push(...subArgs.filter((a) => a !== 'static'));
    else if (sub.name === 'transport') transport(ctx, sub, proxy);
    else if (LB.has(sub.name)) ctx.diag.warn(sub, `reverse_proxy ${sub.name} is not carried over: ${NO_LB}`);
    else if (STREAMING.has(sub.name)) ctx.diag.warn(sub, `reverse_proxy ${sub.name} is not carried over: Portico streams responses as they come`);
    else if (sub.name === 'handle_response' || sub.name === 'replace_status' || sub.name.startsWith('@')) ctx.diag.warn(sub, `reverse_proxy ${sub.name} is not carried over: handling upstream responses is not supported`);
    else if (sub.name === 'method' || sub.name === 'rewrite') ctx.diag.warn(sub, `reverse_proxy ${sub.name} is not carried over: the request is sent as it came`);
    else ctx.diag.error(sub, `reverse_proxy: unrecognized subdirective ${sub.name}`);
  }
  if (to.length === 0) {
    ctx.diag.warn(d, 'reverse_proxy: no upstream Portico can use; the route answers 502');
    return { handler: { respond: { status: 502 } }, trustedProxies };
  }
  if (to.length === 1) {
    constants.set('upstream_hostport', to[0]!);
    constants.set('http.reverse_proxy.upstream.hostport', to[0]!);
  }
  for (const sub of deferredHeaders) {
    headerOps(ctx, sub, sub.args.map((t) => t.text), sub.name === 'header_up' ? state.requestHeaders : state.responseHeaders, constants);
  }
  return { handler: { proxy: { to: to.length === 1 ? to[0] : to, ...proxy } }, trustedProxies };
}

/** `host:port`, `http://host:port`, `:port`, `host:8001-8003`; https://, h2c:// and unix// are warned about. */
function upstream(ctx: CaddyContext, d: Directive, text: string, out: string[]): void {
  if (text.includes('{')) {
    ctx.diag.warn(d, `reverse_proxy upstream "${text}": Portico cannot choose upstreams from placeholders; left out`);
    return;
  }
  if (/^(https|h2c|h3):\/\//i.test(text) || text.startsWith('unix/') || text.startsWith('unix+')) {
    ctx.diag.warn(d, `reverse_proxy upstream "${text}": Portico proxies to plain HTTP over TCP only (for now); left out`);
    return;
  }
  const bare = text.replace(/^http:\/\//i, '').replace(/\/$/, '');
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]*)(?::(\d+)(?:-(\d+))?)?$/.exec(bare);
  if (!m) {
    ctx.diag.error(d, `reverse_proxy: invalid upstream address "${text}"`);
    return;
  }
  const host = m[1] === '' ? 'localhost' : m[1]!;
  const first = m[2] === undefined ? 80 : Number(m[2]);
  const last = m[3] === undefined ? first : Number(m[3]);
  if (first < 1 || last > 65535 || last < first) {
    ctx.diag.error(d, `reverse_proxy: invalid port in "${text}"`);
    return;
  }
  for (let p = first; p <= last; p++) out.push(`${host}:${p}`);
}

/** `transport http { dial_timeout, response_header_timeout, read_timeout, keepalive, ... }` */
function transport(ctx: CaddyContext, d: Directive, proxy: Record<string, unknown>): void {
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
      default:
        ctx.diag.warn(sub, `transport http ${sub.name} is not carried over`);
    }
  }
}
