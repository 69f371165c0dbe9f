/**
 * TLS parameters every Portico TLS context shares. Mozilla's "intermediate" profile
 * (https://wiki.mozilla.org/Security/Server_Side_TLS): TLS 1.2 and 1.3 only, AEAD ciphers
 * with forward secrecy for 1.2 (TLS 1.3 suites are all fine and stay OpenSSL's default),
 * client preference honoured (every offered suite is strong, and clients without AES
 * hardware pick ChaCha20). nginx's default `ssl_protocols` is also TLSv1.2 TLSv1.3.
 *
 * These go on every SecureContext, not only on the server: OpenSSL keeps the version and
 * cipher limits of the context a connection started with, but a context handed over by the
 * SNI callback must not be weaker if that ever changes.
 */
import type { SecureContextOptions } from 'node:tls';

export const TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_SETTINGS: SecureContextOptions = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: TLS_CIPHERS,
  ecdhCurve: 'X25519:prime256v1:secp384r1',
  honorCipherOrder: false,
};

/**
 * ALPN offered on TLS listeners: HTTP/2 first, HTTP/1.1 as fallback (RFC 7301, RFC 9113 §3.2).
 * WebSockets over HTTP/2 (RFC 8441) are not offered: the HTTP/2 side never sends
 * SETTINGS_ENABLE_CONNECT_PROTOCOL, so browsers open their WebSockets over HTTP/1.1 on the
 * same port, where Portico tunnels them as on plain HTTP.
 */
export const ALPN_PROTOCOLS = ['h2', 'http/1.1'];
