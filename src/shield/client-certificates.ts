/**
 * Client certificates (mutual TLS), as nginx's ssl_verify_client does them
 * (https://nginx.org/en/docs/http/ngx_http_ssl_module.html#ssl_verify_client), the per-request
 * side (the CA files and TLS contexts are compile/client-auth.ts's):
 *  - each request is checked against the server its Host names, before the server's rewrite
 *    steps and routes (nginx checks in ngx_http_process_request, before any phase): "on" answers
 *    400 "No required SSL certificate was sent" without one, "on" and "optional" answer 400
 *    "The SSL certificate error" for one that does not verify; "optional_no_ca" lets through
 *    what only lacks a trusted issuer (ngx_ssl_verify_error_optional);
 *  - `depth` bounds the intermediates (OpenSSL's verify depth: a chain may hold depth + 2
 *    certificates, the leaf and the trust anchor not counting);
 *  - the verdict is kept on the exchange for $ssl_client_verify (NONE, SUCCESS or
 *    FAILED:reason, OpenSSL's wording) and the other $ssl_client_*.
 */
import type { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { Exchange } from '../http/exchange.js';
import { NO_CERTIFICATE, type ClientVerdict } from '../http/client-verdict.js';
import { send } from '../http/send.js';

/** A server's `client_certificates`, with its files read (compile/client-auth.ts). */
export interface ClientAuth {
  verify: 'on' | 'optional' | 'optional_no_ca';
  /** The CAs asked for and trusted, then those only trusted; each once. */
  ca: readonly string[];
  crl: string | undefined;
  depth: number;
}

const MISSING: ClientVerdict = { ...NO_CERTIFICATE, refuse: 'No required SSL certificate was sent' };

/**
 * The request's verdict for a server with `auth`, kept on the exchange; a refused request is
 * answered here (nginx's 400 pages, the connection closed after it) and true is returned.
 * The caller wraps the writer in the filters of the route the request would reach first
 * (nginx adds the server's `add_header ... always` to these pages too).
 */
export function refusedClientCertificate(ex: Exchange, auth: ClientAuth): boolean {
  const socket = ex.req.socket as TLSSocket | null;
  const verdict = socket?.encrypted === true ? verdictOf(socket, auth) : auth.verify === 'on' ? MISSING : NO_CERTIFICATE;
  ex.tlsClient = verdict;
  return verdict.refuse !== undefined;
}

/** Answers a request refusedClientCertificate() refused. */
export function refuseClientCertificate(ex: Exchange): void {
  const body = `400 Bad Request\n${ex.tlsClient?.refuse ?? ''}\n`;
  ex.writer.closeConnection(); // nginx closes after its 400 pages
  send(ex, 400, ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)], body);
}

/** OpenSSL's X509_verify_cert_error_string for node's codes (what nginx prints after FAILED:). */
const REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_CRL: 'unable to get certificate CRL',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: "unable to decrypt certificate's signature",
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CRL_SIGNATURE_FAILURE: 'CRL signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CRL_NOT_YET_VALID: 'CRL is not yet valid',
  CRL_HAS_EXPIRED: 'CRL has expired',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
};

/** Errors that only say the issuer is not trusted: "optional_no_ca" lets them through (ngx_ssl_verify_error_optional). */
const NO_CA = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

/** Verdicts per connection and server: a certificate is read and its chain walked once per connection, not per request. */
const verdicts = new WeakMap<object, Map<ClientAuth, ClientVerdict>>();

/** The verification of a connection's client certificate for a server with `auth`. */
function verdictOf(socket: TLSSocket, auth: ClientAuth): ClientVerdict {
  let seen = verdicts.get(socket);
  const known = seen?.get(auth);
  if (known !== undefined) return known;
  const verdict = verify(socket, auth);
  if (seen === undefined) verdicts.set(socket, (seen = new Map()));
  seen.set(auth, verdict);
  return verdict;
}

function verify(socket: TLSSocket, auth: ClientAuth): ClientVerdict {
  let cert: X509Certificate | null = null;
  try {
    cert = socket.getPeerX509Certificate?.() ?? null;
  } catch {
    cert = null;
  }
  if (cert === null) return auth.verify === 'on' ? MISSING : NO_CERTIFICATE;
  let code: string | undefined;
  if (!socket.authorized) {
    const e = socket.authorizationError as unknown;
    code = e instanceof Error ? ((e as { code?: string }).code ?? e.message) : String(e ?? 'CERT_REJECTED');
  } else if (chainLength(socket) > auth.depth + 2) code = 'UNABLE_TO_GET_ISSUER_CERT'; // what OpenSSL 3 reports when the depth cuts the chain
  if (code === undefined) return { verify: 'SUCCESS', cert, refuse: undefined };
  const verify = `FAILED:${REASONS[code] ?? code}`;
  const allowed = auth.verify === 'optional_no_ca' && NO_CA.has(code);
  return { verify, cert, refuse: allowed ? undefined : 'The SSL certificate error' };
}

/** Certificates from the client's up to its trust anchor (node completes the chain from the context's store). */
function chainLength(socket: TLSSocket): number {
  let n = 0;
  let c: DetailedPeerCertificate | undefined;
  try {
    c = socket.getPeerCertificate(true);
  } catch {
    return 0;
  }
  const seen = new Set<string>();
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    n++;
    c = c.issuerCertificate;
  }
  return n;
}
