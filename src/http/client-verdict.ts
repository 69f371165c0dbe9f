/**
 * What the verification of a client certificate decided for one request's server (mutual TLS:
 * src/shield/client-certificates.ts decides it, the exchange keeps it for $ssl_client_verify and
 * the other {ssl.client_*} placeholders, src/http/ssl-variables.ts).
 */
import type { X509Certificate } from 'node:crypto';

export interface ClientVerdict {
  /** $ssl_client_verify: NONE, SUCCESS or FAILED:reason (OpenSSL's wording). */
  readonly verify: string;
  /** The client's certificate, null without one (or on a server that does not ask). */
  readonly cert: X509Certificate | null;
  /** Why the request is refused (nginx's 496 and 495, answered as 400), or undefined. */
  readonly refuse: 'No required SSL certificate was sent' | 'The SSL certificate error' | undefined;
}

export const NO_CERTIFICATE: ClientVerdict = { verify: 'NONE', cert: null, refuse: undefined };
