/**
 * What HTTPS means for each server, decided once from the config: where its certificates come
 * from, which names they cover, and where its HTTP->HTTPS redirect listens.
 *
 * `tls` defaults to 'auto' for a server listening on port 443 (and to plain HTTP otherwise, so
 * existing `:8080` configs keep working). 'auto' means Caddy's rule: a server whose names are
 * all local (localhost, *.localhost, .local, .internal, .home.arpa, IP addresses, or no hosts
 * at all) gets certificates from the local CA; any other server gets them over ACME.
 */
import type { AcmeOptionsConfig, CertificateFilesConfig, PorticoConfig, ServerConfig } from '../config/schema.js';
import { parseListen, type ListenAddress } from '../config/address.js';
import { isLocalName, DEFAULT_LOCAL_NAMES } from './local-names.js';
import { readClientAuth, type ClientAuth } from './client-auth.js';

/** Where ACME HTTP-01 tokens are served (RFC 8555 §8.3): answered before routing, never redirected to HTTPS. */
export const HTTP01_PREFIX = '/.well-known/acme-challenge/';

export type TlsSource =
  /** `list`: written as a list (`tls: [{ cert, key }]`), so each pair's key path has its index. */
  | { kind: 'files'; files: readonly CertificateFilesConfig[]; list: boolean }
  | { kind: 'internal' }
  | { kind: 'acme'; email: string | undefined; directory: string; challenges: readonly ('http-01' | 'tls-alpn-01')[]; caRoot: string | undefined };

export interface TlsSite {
  /** "servers[0]". */
  where: string;
  source: TlsSource;
  /** Exact names (no wildcards or regexes): what a certificate is issued for. */
  names: readonly string[];
  /** The server's hosts as written (empty: any host). */
  hosts: readonly string[];
  /** The port its HTTPS listener has, for redirects (set after binding when it was 0). */
  httpsPort: { port: number };
  /** Plain-HTTP addresses redirecting here. */
  redirectFrom: readonly ListenAddress[];
  /** `client_certificates`: clients are asked for a certificate (mutual TLS). */
  clientAuth?: ClientAuth | undefined;
}

/** undefined: the server is plain HTTP. Problems are pushed as messages. */
export function planTls(server: ServerConfig, where: string, config: PorticoConfig, problems: string[], baseDir = '.'): TlsSite | undefined {
  const listens = (Array.isArray(server.listen) ? server.listen : [server.listen]).map((l) => parseListen(l)!);
  const setting = server.tls ?? (listens.some((l) => l.port === 443) ? 'auto' : 'off');
  if (setting === 'off') {
    if (server.http_redirect !== undefined && server.http_redirect !== false)
      problems.push(`${where}.http_redirect: the server has no tls; http_redirect only applies to HTTPS servers`);
    // Client certificates are an access restriction: without TLS it could not be applied.
    if (server.client_certificates !== undefined) problems.push(`${where}.client_certificates: the server has no tls; clients can only show certificates over HTTPS`);
    return undefined;
  }
  const hosts = server.hosts ?? [];
  const exact = hosts.filter((h) => !h.includes('*') && !h.startsWith('~') && !h.startsWith('.'));
  const local = hosts.length === 0 || hosts.every((h) => !h.startsWith('~') && isLocalName(h));
  let source: TlsSource;
  if (setting === 'internal' || (setting === 'auto' && local)) source = { kind: 'internal' };
  else if (setting === 'acme' || setting === 'auto' || (typeof setting === 'object' && 'acme' in setting)) {
    const own: AcmeOptionsConfig = typeof setting === 'object' && 'acme' in setting ? setting.acme : {};
    source = {
      kind: 'acme',
      email: own.email ?? config.acme.email,
      directory: own.directory ?? config.acme.directory,
      challenges: own.challenges ?? ['http-01', 'tls-alpn-01'],
      caRoot: config.acme.ca_root,
    };
    if (hosts.length === 0) problems.push(`${where}.tls: ACME needs the names to certify; give the server 'hosts'`);
    const inexact = hosts.filter((h) => !exact.includes(h));
    if (inexact.length > 0)
      problems.push(
        `${where}.tls: ACME HTTP-01 and TLS-ALPN-01 cannot certify '${inexact[0]}' (wildcards and regexes need DNS-01); ` +
          'use tls: { cert, key } for it or list exact names',
      );
  } else source = { kind: 'files', files: Array.isArray(setting) ? setting : [setting as CertificateFilesConfig], list: Array.isArray(setting) };

  const names = source.kind === 'internal' && hosts.length === 0 ? DEFAULT_LOCAL_NAMES : exact.map((h) => h.toLowerCase());
  const clientAuth = server.client_certificates === undefined ? undefined : readClientAuth(server.client_certificates, baseDir, `${where}.client_certificates`, problems);
  return {
    where,
    source,
    names,
    hosts,
    httpsPort: { port: listens[0]!.port },
    redirectFrom: redirectAddresses(server, listens),
    clientAuth,
  };
}

function redirectAddresses(server: ServerConfig, listens: ListenAddress[]): ListenAddress[] {
  const setting = server.http_redirect;
  if (setting === false) return [];
  if (setting !== undefined) return (Array.isArray(setting) ? setting : [setting]).map((l) => parseListen(l)!);
  // Caddy redirects from its http_port (80); Portico only when the site is on the standard
  // HTTPS port, since binding :80 for a site on :8443 would surprise more than help.
  return listens.filter((l) => l.port === 443).map((l) => ({ host: l.host, port: 80 }));
}

/** `Strict-Transport-Security` value, or undefined when off. */
export function hstsValue(server: ServerConfig): string | undefined {
  const h = server.hsts;
  if (h === false) return undefined;
  const o = h === true ? { max_age: 31_536_000, include_subdomains: false, preload: false } : h;
  return `max-age=${o.max_age}${o.include_subdomains ? '; includeSubDomains' : ''}${o.preload ? '; preload' : ''}`;
}
