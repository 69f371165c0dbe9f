/**
 * The global options block (https://caddyserver.com/docs/caddyfile/options). Carried over:
 * `debug` (log_level), `grace_period` (shutdown_timeout), `http_port`/`https_port`,
 * `auto_https`, and `servers { trusted_proxies static ... }`. Certificate, ACME, admin and
 * storage options have no Portico counterpart (yet) and are warned about.
 */
import type { Directive } from './parser.js';
import type { CaddyContext } from './context.js';
import { isDuration } from '../../duration.js';
import { caddySize } from './directives/limits.js';
import { bindAddresses } from './sites.js';
import { cidrs } from './directives/reverse-proxy.js';

export interface GlobalOptions {
  logLevel: string | undefined;
  shutdownTimeout: string | undefined;
  httpPort: number;
  httpsPort: number;
  /** auto_https off: no site is HTTPS. */
  autoHttpsOff: boolean;
  /** auto_https disable_redirects. */
  disableRedirects: boolean;
  /** local_certs: every site uses the local CA. */
  localCerts: boolean;
  trustedProxies: string[];
  /** Top-level Portico settings: acme { email, directory, ca_root }, data_dir. */
  top: Record<string, unknown>;
  /** Portico `client` settings from `servers { max_header_size, timeouts }`. */
  client: Record<string, unknown>;
  /** `default_bind`: listen hosts of sites without their own `bind`. */
  defaultBind: string[];
}

const IGNORED = new Set(['admin', 'persist_config', 'storage_clean_interval', 'renew_interval', 'ocsp_interval', 'ocsp_stapling', 'skip_install_trust', 'order']);
const TLS_OPTIONS = new Set(['acme_eab', 'acme_dns', 'key_type', 'cert_issuer', 'on_demand_tls', 'default_sni', 'fallback_sni', 'cert_lifetime', 'pki', 'preferred_chains']);

export function globalOptions(dirs: readonly Directive[] | undefined, ctx: CaddyContext): GlobalOptions {
  const out: GlobalOptions = { logLevel: undefined, shutdownTimeout: undefined, httpPort: 80, httpsPort: 443, autoHttpsOff: false, disableRedirects: false, localCerts: false, trustedProxies: [], top: {}, client: {}, defaultBind: [] };
  const acme: Record<string, unknown> = {};
  for (const d of dirs ?? []) {
    const args = d.args.map((t) => t.text);
    switch (d.name) {
      case 'debug':
        out.logLevel = 'debug';
        break;
      case 'grace_period':
        if (args[0] && isDuration(args[0])) out.shutdownTimeout = args[0];
        else ctx.diag.error(d, `grace_period: invalid duration "${args[0] ?? ''}"`);
        break;
      case 'http_port':
      case 'https_port': {
        const port = Number(args[0]);
        if (!Number.isInteger(port) || port < 1 || port > 65535) ctx.diag.error(d, `${d.name}: invalid port "${args[0] ?? ''}"`);
        else if (d.name === 'http_port') out.httpPort = port;
        else out.httpsPort = port;
        break;
      }
      case 'auto_https':
        if (args[0] === 'off') out.autoHttpsOff = true;
        else if (args[0] === 'disable_redirects') out.disableRedirects = true;
        else ctx.diag.warn(d, `auto_https ${args.join(' ')} is not carried over`);
        break;
      case 'default_bind':
        out.defaultBind = bindAddresses(d, ctx);
        break;
      case 'local_certs':
        out.localCerts = true;
        break;
      case 'email':
        acme.email = args[0];
        break;
      case 'acme_ca':
        acme.directory = args[0];
        break;
      case 'acme_ca_root':
        acme.ca_root = args[0];
        break;
      case 'storage':
        if (args[0] === 'file_system' && (args[1] ?? d.block?.find((b) => b.name === 'root')?.args[0]?.text)) out.top.data_dir = args[1] ?? d.block!.find((b) => b.name === 'root')!.args[0]!.text;
        else ctx.diag.warn(d, `storage ${args.join(' ')} is not carried over: Portico keeps its certificates in files (data_dir)`);
        break;
      case 'servers':
        for (const sub of d.block ?? []) {
          if (sub.name === 'trusted_proxies') out.trustedProxies.push(...cidrs(ctx, sub, sub.args.map((t) => t.text).filter((a) => a !== 'static')));
          else if (sub.name === 'max_header_size' || sub.name === 'timeouts') serverLimits(sub, out.client, ctx);
          else if (sub.name === 'strict_sni_host' && sub.args[0]?.text !== 'insecure_off') {
            ctx.diag.error(sub, 'servers strict_sni_host cannot be carried over: Portico does not compare the Host header with the TLS server name');
          } else ctx.diag.warn(sub, `servers ${sub.name} is not carried over`);
        }
        break;
      case 'log':
        ctx.diag.warn(d, 'the global log option is not carried over: Portico logs to stderr (use log in a site for the access log)');
        break;
      default:
        if (IGNORED.has(d.name)) break;
        if (d.name === 'acme_dns' && d.args.length === 0 && !d.block) ctx.diag.error(d, "acme_dns specified without DNS provider config, but no provider specified with 'dns' global option");
        else if (TLS_OPTIONS.has(d.name)) ctx.diag.warn(d, `${d.name} is not carried over: Portico's ACME uses HTTP-01 and TLS-ALPN-01 with its own key types`);
        else ctx.diag.warn(d, `global option ${d.name} is not carried over`);
    }
  }
  if (Object.keys(acme).length > 0) out.top.acme = acme;
  return out;
}

/**
 * `servers { max_header_size; timeouts { read_header idle read_body write } }`: limits, so
 * each is carried over or refused. read_header and idle are Portico's header_timeout and
 * keepalive_timeout; read_body and write bound a whole body or response in Go's http.Server,
 * which Portico's body_timeout and send_timeout (between two reads or writes) do not.
 */
function serverLimits(sub: Directive, client: Record<string, unknown>, ctx: CaddyContext): void {
  if (sub.name === 'max_header_size') {
    const bytes = caddySize(sub.args[0]?.text ?? '');
    if (bytes === undefined || bytes <= 0) ctx.diag.error(sub, `servers max_header_size: invalid size "${sub.args[0]?.text ?? ''}"`);
    else client.max_header_size = bytes;
    return;
  }
  const entries = sub.block ?? (sub.args.length > 0 ? [{ name: 'all', args: sub.args, file: sub.file, line: sub.line }] : []);
  for (const t of entries) {
    const value = t.args[0]?.text ?? '';
    if (!isDuration(value)) {
      ctx.diag.error(t, `timeouts ${t.name}: invalid duration "${value}"`);
      continue;
    }
    if (t.name === 'read_header') client.header_timeout = value;
    else if (t.name === 'idle') client.keepalive_timeout = value;
    else ctx.diag.error(t, `timeouts ${t.name} cannot be carried over: Portico times out between two reads or writes, not a whole ${t.name === 'write' ? 'response' : 'request'}; running without it would wait longer than Caddy does`);
  }
}
