/**
 * nginx's $ssl_* variables (https://nginx.org/en/docs/http/ngx_http_ssl_module.html#variables)
 * read from a request's TLS socket, for the {ssl.NAME} placeholders. On a plain connection
 * every one is empty, as in nginx. The client certificate's are those of the verification made
 * for the request's server (src/shield/client-certificates.ts, client-verdict.ts): a server that does not ask for
 * certificates has none (NONE), as in nginx.
 *   protocol cipher server_name session_reused alpn_protocol
 *   client_verify ("NONE", "SUCCESS", "FAILED:reason") client_s_dn client_i_dn (RFC 2253, as
 *   nginx prints them) client_s_dn_legacy client_i_dn_legacy client_serial client_fingerprint
 *   client_raw_cert client_cert client_escaped_cert client_v_start client_v_end client_v_remain
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ClientVerdict } from './client-verdict.js';

type Getter = (socket: unknown, client: ClientVerdict | null) => string;

function tls(socket: unknown): TLSSocket | undefined {
  return socket !== null && typeof socket === 'object' && (socket as { encrypted?: boolean }).encrypted === true ? (socket as TLSSocket) : undefined;
}
/** node prints a name one attribute a line, in certificate order; RFC 2253 reverses it, comma-separated. */
function rfc2253(name: string): string {
  return name.split('\n').filter((l) => l !== '').reverse().join(',');
}

function legacy(name: string): string {
  return name.split('\n').filter((l) => l !== '').map((l) => `/${l}`).join('');
}

/** PEM with its final line break, as nginx's $ssl_client_raw_cert (PEM_write_bio_X509). */
function pem(cert: X509Certificate): string {
  return cert.toString().trimEnd() + '\n';
}

function daysLeft(cert: X509Certificate): string {
  const end = Date.parse(cert.validTo);
  if (Number.isNaN(end)) return '';
  return String(Math.max(0, Math.floor((end - Date.now()) / 86_400_000)));
}

const withCert = (f: (cert: X509Certificate) => string): Getter => (_socket, client) => (client?.cert ? f(client.cert) : '');

const GETTERS: Record<string, Getter> = {
  protocol: (socket) => tls(socket)?.getProtocol() ?? '',
  cipher: (socket) => tls(socket)?.getCipher()?.name ?? '',
  server_name: (socket) => {
    const name = (tls(socket) as { servername?: string | false } | undefined)?.servername;
    return typeof name === 'string' ? name : '';
  },
  session_reused: (socket) => {
    const s = tls(socket);
    return s === undefined ? '' : s.isSessionReused() ? 'r' : '.';
  },
  alpn_protocol: (socket) => {
    const p = tls(socket)?.alpnProtocol;
    return typeof p === 'string' ? p : '';
  },
  client_verify: (socket, client) => (tls(socket) === undefined ? '' : (client?.verify ?? 'NONE')),
  client_s_dn: withCert((c) => rfc2253(c.subject)),
  client_i_dn: withCert((c) => rfc2253(c.issuer)),
  client_s_dn_legacy: withCert((c) => legacy(c.subject)),
  client_i_dn_legacy: withCert((c) => legacy(c.issuer)),
  client_serial: withCert((c) => c.serialNumber.toUpperCase()),
  client_fingerprint: withCert((c) => c.fingerprint.replaceAll(':', '').toLowerCase()),
  client_raw_cert: withCert(pem),
  // Deprecated in nginx: every line but the first starts with a tab (a folded header value).
  client_cert: withCert((c) => pem(c).trimEnd().replaceAll('\n', '\n\t')),
  client_escaped_cert: withCert((c) => encodeURIComponent(pem(c))),
  client_v_start: withCert((c) => c.validFrom),
  client_v_end: withCert((c) => c.validTo),
  client_v_remain: withCert(daysLeft),
};

export function sslVariable(name: string): Getter | undefined {
  return GETTERS[name];
}

export const SSL_VARIABLES: readonly string[] = Object.keys(GETTERS);
