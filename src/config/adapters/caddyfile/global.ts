/**
 * The global options block (https://caddyserver.com/docs/caddyfile/options). Carried over:
 * `debug` (log_level), `grace_period` (shutdown_timeout), `http_port`/`https_port`,
 * `auto_https`, and `servers { trusted_proxies static ... }`. Certificate, ACME, admin and
 * storage options have no Portico counterpart (yet) and are warned about.
 */
import type { Directive } from './parser.js';
import type { CaddyContext } from './context.js';
import { isDuration } from '../../duration.js';

export interface GlobalOptions {
  logLevel: string | undefined;
  shutdownTimeout: string | undefined;
  httpPort: number;
  httpsPort: number;
  /** auto_https off: no site is HTTPS. */
  autoHttpsOff: boolean;
  trustedProxies: string[];
}

const IGNORED = new Set(['admin', 'persist_config', 'storage', 'storage_clean_interval', 'renew_interval', 'ocsp_interval', 'ocsp_stapling', 'skip_install_trust', 'order']);
const TLS_OPTIONS = new Set(['email', 'acme_ca', 'acme_ca_root', 'acme_eab', 'acme_dns', 'local_certs', 'key_type', 'cert_issuer', 'on_demand_tls', 'default_sni', 'fallback_sni', 'cert_lifetime', 'pki', 'preferred_chains']);

export function globalOptions(dirs: readonly Directive[] | undefined, ctx: CaddyContext): GlobalOptions {
  const out: GlobalOptions = { logLevel: undefined, shutdownTimeout: undefined, httpPort: 80, httpsPort: 443, autoHttpsOff: false, trustedProxies: [] };
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
        break;
      case 'servers':
        for (const sub of d.block ?? []) {
          if (sub.name === 'trusted_proxies') out.trustedProxies.push(...sub.args.map((t) => t.text).filter((a) => a !== 'static'));
          else ctx.diag.warn(sub, `servers ${sub.name} is not carried over`);
        }
        break;
      case 'log':
        ctx.diag.warn(d, 'the global log option is not carried over: Portico logs to stderr (use log in a site for the access log)');
        break;
      default:
        if (IGNORED.has(d.name)) break;
        if (TLS_OPTIONS.has(d.name)) ctx.diag.warn(d, `${d.name} is not carried over: Portico has no TLS yet`);
        else ctx.diag.warn(d, `global option ${d.name} is not carried over`);
    }
  }
  return out;
}
