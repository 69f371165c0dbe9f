/**
 * The answers to ACME challenges while an order is pending (RFC 8555 §8): HTTP-01 tokens
 * served on plain HTTP listeners at /.well-known/acme-challenge/<token> (§8.3), and TLS-ALPN-01
 * certificates presented to handshakes that offer only "acme-tls/1" (RFC 8737 §3).
 */
import type { Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import { peekClientHello } from '../client-hello.js';
import { TLS_SETTINGS } from '../settings.js';
import { HTTP01_PREFIX } from '../../compile/tls-plan.js';

export const ACME_TLS_ALPN = 'acme-tls/1';
/** A validation client sends its ClientHello at once; anyone slower is not one. */
const PEEK_TIMEOUT = 10_000;

/** A pending HTTP-01 token's key authorization for a request target, or undefined (plain HTTP listeners ask before routing). */
export type Http01Answers = (url: string | undefined) => string | undefined;

export class AcmeChallenges {
  readonly #http = new Map<string, string>();
  readonly #alpn = new Map<string, SecureContext>();

  setHttp01(token: string, keyAuthorization: string): void {
    this.#http.set(token, keyAuthorization);
  }

  deleteHttp01(token: string): void {
    this.#http.delete(token);
  }

  setTlsAlpn01(name: string, certPem: string, keyPem: string): void {
    this.#alpn.set(name, createSecureContext({ ...TLS_SETTINGS, cert: certPem, key: keyPem }));
  }

  deleteTlsAlpn01(name: string): void {
    this.#alpn.delete(name);
  }

  /** The answer to a pending HTTP-01 token at `url`; undefined: routing takes the request. */
  readonly http01: Http01Answers = (url) => {
    if (url === undefined || !url.startsWith(HTTP01_PREFIX)) return undefined;
    return this.#http.get(url.slice(HTTP01_PREFIX.length));
  };

  /** Handles TLS-ALPN-01 validation handshakes itself and passes every other connection on. */
  readonly peek = (socket: Socket, pass: (socket: Socket) => void): void => {
    if (this.#alpn.size === 0) return pass(socket);
    peekClientHello(socket, PEEK_TIMEOUT, (hello) => {
      const ctx = hello?.servername !== undefined && hello.alpn.length === 1 && hello.alpn[0] === ACME_TLS_ALPN ? this.#alpn.get(hello.servername) : undefined;
      if (!ctx) return pass(socket);
      const tls = new TLSSocket(socket, { isServer: true, secureContext: ctx, ALPNProtocols: [ACME_TLS_ALPN] });
      tls.on('error', () => tls.destroy());
      tls.once('secure', () => tls.end());
      tls.setTimeout(PEEK_TIMEOUT, () => tls.destroy());
    });
  };
}
