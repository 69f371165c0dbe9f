/**
 * Site blocks -> Portico servers (https://caddyserver.com/docs/caddyfile/concepts#addresses).
 * An address gives the listen port and the host names: `:8080` (any host), `localhost:8080`,
 * `example.com` (Caddy: HTTPS on 443 plus a redirect on 80), `http://example.com` (port 80),
 * `*.example.com`. Sites Caddy would serve over HTTPS are warned about and served over plain
 * HTTP until Portico has TLS. A request no route matches gets Caddy's empty 200.
 */
import { isIP } from 'node:net';
import type { ServerBlock } from './parser.js';
import type { CaddyContext } from './context.js';
import type { GlobalOptions } from './global.js';
import { routesOf, routePath, type Candidate } from './routes.js';
import { covers, patternRegex } from './matchers.js';
import { headerConfig } from './directives/headers.js';
import { applyErrorBlocks, errorBlocks } from './errors.js';
import { nonCapturing } from '../nginx/locations.js';
import { located } from '../diagnostics.js';

export interface SiteOutput {
  /** One server, or two when a site has both plain-HTTP and HTTPS addresses. */
  servers: Record<string, unknown>[];
  accessLog: { format: 'json'; output: string } | false | undefined;
}

interface Address {
  host: string | undefined;
  port: number;
  tls: boolean;
  /** http or https when written. */
  explicitScheme: string | undefined;
}

export function emitSite(site: ServerBlock, g: GlobalOptions, ctx: CaddyContext): SiteOutput | undefined {
  const addresses = site.keys.map((k) => parseAddress(k.text, g)).filter((a): a is Address => a !== undefined);
  for (const k of site.keys) {
    if (/\/./.test(k.text.replace(/^(https?|wss?):\/\//i, ''))) ctx.diag.warn(site, `site address ${k.text}: a path in a site address is not carried over; the whole site answers every path`);
  }
  if (addresses.length === 0) {
    ctx.diag.error(site, 'a site needs an address (such as :8080 or example.com)');
    return undefined;
  }
  let bindHosts: string[] = g.defaultBind;
  let accessLog: SiteOutput['accessLog'];
  let tlsDirective: ServerBlock['directives'][number] | undefined;
  for (const d of site.directives) {
    if (d.name === 'bind') bindHosts = bindAddresses(d, ctx);
    if (d.name === 'log') accessLog = logOption(d, ctx);
    if (d.name === 'tls') tlsDirective = d;
  }
  const block = routesOf(site.directives, ctx, { siteLevel: true, ordered: false });
  const body: Record<string, unknown> = {};
  const trusted = [...g.trustedProxies, ...block.trustedProxies];
  if (trusted.length > 0) body.trusted_proxies = [...new Set(trusted)];
  if (block.serverRewrites.length > 0) body.rewrite = block.serverRewrites;
  body.routes = routes(applyErrorBlocks(block.candidates, errorBlocks(site.directives, ctx), ctx), ctx);
  const servers: Record<string, unknown>[] = [];
  // Portico's TLS is per server: plain-HTTP and HTTPS addresses of one site become two servers.
  // A `tls` directive makes every address HTTPS unless it says http://.
  const isSecure = (a: Address) => a.tls || (tlsDirective !== undefined && a.explicitScheme !== 'http');
  for (const secure of [false, true]) {
    const chosen = addresses.filter((a) => isSecure(a) === secure);
    if (chosen.length === 0) continue;
    const ports = [...new Set(chosen.map((a) => a.port))];
    const listen = bindHosts.length > 0 ? [...new Set(ports.flatMap((p) => bindHosts.map((h) => (h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`))))] : ports.map((p) => `:${p}`);
    const hosts = chosen.some((a) => a.host === undefined) ? [] : [...new Set(chosen.map((a) => a.host!))];
    const server: Record<string, unknown> = { listen };
    if (hosts.length > 0) server.hosts = hosts;
    if (secure) Object.assign(server, siteTls(tlsDirective, chosen, g, ctx, site));
    else if (ports.includes(443)) server.tls = 'off';
    servers.push(located({ ...server, ...body }, site));
  }
  return { servers, accessLog };
}

/**
 * The TLS of an HTTPS site (https://caddyserver.com/docs/automatic-https, .../directives/tls):
 * `tls internal`, `tls <cert> <key>`, `tls <email>`, or Caddy's automatic choice, which is
 * Portico's `auto` (the local CA for local names, ACME otherwise). Caddy redirects HTTP to HTTPS
 * on its HTTP port; Portico does the same for sites on 443 (`http_redirect` ':80' by default).
 */
function siteTls(d: ServerBlock['directives'][number] | undefined, addresses: Address[], g: GlobalOptions, ctx: CaddyContext, site: ServerBlock): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (g.disableRedirects) out.http_redirect = false;
  const args = d?.args.map((t) => t.text) ?? [];
  for (const sub of d?.block ?? []) {
    // Client certificates decide who may connect at all: without them every client would be served.
    if (sub.name === 'client_auth') ctx.diag.error(sub, 'tls client_auth cannot be carried over: Portico does not ask clients for certificates, and every client would be served');
    else ctx.diag.warn(sub, `tls ${sub.name} is not carried over: Portico's TLS settings are fixed (TLS 1.2 and 1.3, Mozilla intermediate ciphers)`);
  }
  if (args[0] === 'internal' || (args.length === 0 && g.localCerts)) out.tls = 'internal';
  else if (args.length === 2) out.tls = { cert: args[0], key: args[1] };
  else if (args.length === 1 && args[0]!.includes('@')) out.tls = { acme: { email: args[0] } };
  else if (args.length > 0) ctx.diag.error(d!, `tls: unrecognized arguments ${args.join(' ')}`);
  else out.tls = 'auto';
  if (out.tls === 'acme' || (typeof out.tls === 'object' && out.tls !== null && 'acme' in out.tls) || out.tls === 'auto') {
    // Caddy gets a wildcard certificate by the ACME DNS challenge, or one per name on demand;
    // Portico has neither, and a site without a certificate cannot be served.
    const wildcard = addresses.find((a) => a.host?.includes('*'));
    const local = wildcard?.host !== undefined && /\.(localhost|local|internal|home\.arpa)$|^\*\.localhost$/.test(wildcard.host);
    if (wildcard && !(out.tls === 'auto' && local)) {
      ctx.diag.error(
        d ?? site,
        `site ${wildcard.host}: Portico cannot get a certificate for a wildcard name (its ACME has no DNS challenge and it has no on-demand TLS); give the certificate with "tls <cert> <key>", use "tls internal", or list the exact names`,
      );
    }
  }
  return out;
}

/**
 * `bind` addresses (https://caddyserver.com/docs/caddyfile/directives/bind): hosts, with
 * Caddy's network prefixes `tcp/`, `tcp4/`, `tcp6/` (Portico listens on TCP; the family follows
 * the address) and IPv6 in brackets. `unix/`, `fd/`, `fdgram/` and `udp` networks cannot be
 * listened on by Portico: refused, since serving on another address is not what was asked.
 */
export function bindAddresses(d: { args: { text: string }[]; block?: ServerBlock['directives']; file: string; line: number }, ctx: CaddyContext): string[] {
  const out: string[] = [];
  for (const a of d.args) {
    const m = /^(?:([a-z0-9+]+)\/)?(.*)$/i.exec(a.text)!;
    const network = m[1]?.toLowerCase();
    if (network !== undefined && !['tcp', 'tcp4', 'tcp6'].includes(network)) {
      ctx.diag.error(d, `bind ${a.text}: Portico listens on TCP addresses only (not ${network})`);
      continue;
    }
    const host = m[2]!.replace(/^\[(.*)\]$/, '$1');
    if (!isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) {
      ctx.diag.error(d, `bind ${a.text}: expected a host or IP address`);
      continue;
    }
    out.push(host);
  }
  for (const sub of d.block ?? []) ctx.diag.warn(sub, `bind ${sub.name} is not carried over: Portico speaks HTTP/1.1 and HTTP/2 on TLS, HTTP/1.1 on plain TCP`);
  return out;
}

function parseAddress(text: string, g: GlobalOptions): Address | undefined {
  const m = /^(?:(https?|wss?):\/\/)?(\[[^\]]+\]|[^:/]*)(?::(\d+))?(\/.*)?$/i.exec(text);
  if (!m) return undefined;
  // Caddy reads ws:// as http:// and wss:// as https:// (caddyconfig/httpcaddyfile/addresses.go).
  const scheme = ({ ws: 'http', wss: 'https' } as Record<string, string>)[m[1]?.toLowerCase() ?? ''] ?? m[1]?.toLowerCase();
  const host = m[2] === '' ? undefined : m[2]!.toLowerCase();
  const port = m[3] !== undefined ? Number(m[3]) : scheme === 'http' ? g.httpPort : scheme === 'https' ? g.httpsPort : host === undefined ? g.httpPort : g.httpsPort;
  // Caddy's automatic HTTPS: a host name (or https://, or the HTTPS port), unless http:// or the HTTP port.
  const tls = scheme === 'https' || (!g.autoHttpsOff && scheme !== 'http' && port !== g.httpPort && (host !== undefined || port === g.httpsPort));
  return { host, port, tls, explicitScheme: scheme };
}

/** `log { output stdout|stderr|discard|file PATH; format ... }` -> Portico's access log (JSON, as Caddy's). */
function logOption(d: ServerBlock['directives'][number], ctx: CaddyContext): SiteOutput['accessLog'] {
  let output = 'stderr';
  for (const sub of d.block ?? []) {
    const args = sub.args.map((t) => t.text);
    if (sub.name === 'output') {
      if (args[0] === 'discard') return false;
      if (args[0] === 'file' && args[1]) output = args[1];
      else if (args[0] === 'stdout' || args[0] === 'stderr') output = args[0];
      else ctx.diag.warn(sub, `log output ${args.join(' ')} is not carried over; logging to stderr`);
    } else if (sub.name === 'format') {
      if (args[0] !== 'json' && args[0] !== 'console') ctx.diag.warn(sub, `log format ${args[0] ?? ''} is not carried over: Portico writes JSON lines`);
    } else if (sub.name !== 'level') ctx.diag.warn(sub, `log ${sub.name} is not carried over`);
  }
  return { format: 'json', output };
}

/** Candidates in Caddy's order -> Portico routes; shadowed ones are dropped, and an empty 200 catches the rest. */
function routes(candidates: Candidate[], ctx: CaddyContext): Record<string, unknown>[] {
  const kept: Candidate[] = [];
  for (const c of candidates) {
    const by = kept.find((k) => k.state.match === undefined && covers(k.pattern, c.pattern));
    if (by) {
      ctx.diag.warn(c.d, `this ${c.d.name} is never reached: the one at line ${by.d.line} answers first for these paths; left out`);
      continue;
    }
    kept.push(c);
  }
  const rendered = kept.map(toRoute);
  // A route split off for a middleware that turned out to change nothing there (root before a
  // proxy) is the same as the route after it: drop it.
  const out = rendered.filter((r, i) => {
    const next = rendered.slice(i + 1).findIndex((o, j) => kept[i + 1 + j]!.d === kept[i]!.d && covers(kept[i + 1 + j]!.pattern, kept[i]!.pattern));
    return next < 0 || JSON.stringify({ ...r, path: '' }) !== JSON.stringify({ ...rendered[i + 1 + next]!, path: '' });
  });
  if (!kept.some((c) => c.pattern.kind === 'all' && c.state.match === undefined)) out.push({ path: '/', respond: { status: 200 } });
  return out;
}

function toRoute(c: Candidate): Record<string, unknown> {
  // A catch-all with conditions is a regex route, so that it is tried in Caddy's order among the
  // others (a "/" prefix would only be tried after every regex route).
  const path = c.pattern.kind === 'all' && c.state.match ? '~ ^/' : routePath(c.pattern);
  const route: Record<string, unknown> = located({ path }, c.d);
  const handler = structuredClone(c.handler);
  const files = handler.files as Record<string, unknown> | undefined;
  if (c.state.strip !== undefined) {
    if (files?.alias !== undefined) {
      // Files under a stripped prefix: the rest of the path is appended to the directory.
      const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const strip = c.state.strip;
      const dir = String(files.alias).replace(/\/$/, '');
      if (c.pattern.kind === 'prefix' && c.pattern.path.startsWith(strip) && c.pattern.path.slice(strip.length).startsWith('/')) {
        route.path = `~* ^${esc(strip)}(${esc(c.pattern.path.slice(strip.length))}.*)$`;
        files.alias = `${dir}{re.1}`;
      } else {
        const guard = c.pattern.kind === 'all' ? '' : `(?=${nonCapturing(patternRegex(c.pattern).replace(/^\(\?i\)/, '')) ?? ''})`;
        route.path = `~* ^${guard}${esc(strip)}(.*)$`;
        files.alias = `${dir}/{re.1}`;
      }
    } else route.strip_prefix = c.state.strip;
  }
  if (c.state.match) route.match = c.state.match;
  if (c.state.maxBodySize !== undefined) route.max_body_size = c.state.maxBodySize;
  if (c.state.basicAuth) route.basic_auth = c.state.basicAuth;
  if (c.state.rewrite.length > 0) route.rewrite = c.state.rewrite;
  Object.assign(route, handler);
  const req = headerConfig(c.state.requestHeaders);
  if (req) route.request_headers = req;
  const res = headerConfig(c.state.responseHeaders);
  if (res) route.response_headers = res;
  if (c.state.compress) route.compress = c.state.compress;
  return route;
}
