/**
 * nginx's $ssl_* variables (https://nginx.org/en/docs/http/ngx_http_ssl_module.html#variables)
 * read from a request's TLS socket, for the {ssl.NAME} placeholders. On a plain connection
 * every one is empty, as in nginx. The client certificate is parsed once per connection.
 *   protocol cipher server_name session_reused alpn_protocol
 *   client_verify ("NONE", "SUCCESS", "FAILED:reason") client_s_dn client_i_dn (RFC 2253, as
 *   nginx prints them) client_s_dn_legacy client_i_dn_legacy client_serial client_fingerprint
 *   client_raw_cert client_cert client_escaped_cert client_v_start client_v_end client_v_remain
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

type Getter = (socket: unknown) => string;

function tls(socket: unknown): TLSSocket | undefined {
  return socket !== null && typeof socket === 'object' && (socket as { encrypted?: boolean }).encrypted === true ? (socket as TLSSocket) : undefined;
}

const peers = new WeakMap<object, X509Certificate | null>();

/** The client's certificate, or null without one. */
export function peerCertificate(socket: TLSSocket): X509Certificate | null {
  let cert = peers.get(socket);
  if (cert !== undefined) return cert;
  cert = null;
  try {
    const raw = socket.getPeerX509Certificate?.();
    if (raw !== undefined) cert = raw;
  } catch {
    cert = null;
  }
  peers.set(socket, cert);
  return cert;
}

/** nginx's $ssl_client_verify: NONE without a certificate, SUCCESS, or FAILED:reason (ngx_ssl_get_client_verify). */
export function clientVerify(socket: TLSSocket): string {
  if (peerCertificate(socket) === null) return 'NONE';
  if (socket.authorized) return 'SUCCESS';
  const reason = socket.authorizationError;
  return `FAILED:${reason instanceof Error ? reason.message : String(reason ?? 'unknown')}`;
}

/** node prints a name one attribute a line, in certificate order; RFC 2253 reverses it, comma-separated. */
function rfc2253(name: string): string {
  return name.split('\n').filter((l) => l !== '').reverse().join(',');
}

function legacy(name: string): string {
  return name.split('\n').filter((l) => l !== '').map((l) => `/${l}`).join('');
}

function pem(cert: X509Certificate): string {
  return cert.toString().trimEnd();
}

function daysLeft(cert: X509Certificate): string {
  const end = Date.parse(cert.validTo);
  if (Number.isNaN(end)) return '';
  return String(Math.max(0, Math.floor((end - Date.now()) / 86_400_000)));
}

const withCert = (f: (cert: X509Certificate) => string): Getter => (socket) => {
  const s = tls(socket);
  const cert = s === undefined ? null : peerCertificate(s);
  return cert === null ? '' : f(cert);
};

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
  client_verify: (socket) => {
    const s = tls(socket);
    return s === undefined ? '' : clientVerify(s);
  },
  client_s_dn: withCert((c) => rfc2253(c.subject)),
  client_i_dn: withCert((c) => rfc2253(c.issuer)),
  client_s_dn_legacy: withCert((c) => legacy(c.subject)),
  client_i_dn_legacy: withCert((c) => legacy(c.issuer)),
  client_serial: withCert((c) => c.serialNumber.toUpperCase()),
  client_fingerprint: withCert((c) => c.fingerprint.replaceAll(':', '').toLowerCase()),
  client_raw_cert: withCert(pem),
  // Deprecated in nginx: every line but the first starts with a tab (a folded header value).
  client_cert: withCert((c) => pem(c).replaceAll('\n', '\n\t')),
  client_escaped_cert: withCert((c) => encodeURIComponent(pem(c) + '\n')),
  client_v_start: withCert((c) => c.validFrom),
  client_v_end: withCert((c) => c.validTo),
  client_v_remain: withCert(daysLeft),
};

export function sslVariable(name: string): Getter | undefined {
  return GETTERS[name];
}

export const SSL_VARIABLES: readonly string[] = Object.keys(GETTERS);
