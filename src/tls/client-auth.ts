/**
 * Client certificates (mutual TLS), as nginx's ssl_verify_client does them
 * (https://nginx.org/en/docs/http/ngx_http_ssl_module.html#ssl_verify_client):
 *  - the handshake asks for a certificate (node's requestCert) and never fails because of it
 *    (rejectUnauthorized: false); the server's CAs (`ca` and `trusted`) verify it, `ca` is the
 *    list sent to clients, `crl` revokes (every certificate of the chain, as nginx sets
 *    X509_V_FLAG_CRL_CHECK_ALL), `depth` bounds the intermediates (OpenSSL's verify depth: a
 *    chain may hold depth + 2 certificates, the leaf and the trust anchor not counting);
 *  - each request is then checked against the server its Host names (ngx_http_process_request):
 *    "on" answers 400 "No required SSL certificate was sent" without one, "on" and "optional"
 *    answer 400 "The SSL certificate error" for one that does not verify; "optional_no_ca"
 *    lets through what only lacks a trusted issuer (ngx_ssl_verify_error_optional);
 *  - $ssl_client_verify is NONE, SUCCESS or FAILED:reason (OpenSSL's wording).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, SecureContextOptions, TLSSocket } from 'node:tls';
import { splitPemChain } from './certificate.js';

export interface ClientAuth {
  verify: 'on' | 'optional' | 'optional_no_ca';
  /** The CAs asked for and trusted, then those only trusted; each once. */
  ca: readonly string[];
  crl: string | undefined;
  depth: number;
}

export interface ClientAuthConfig {
  verify: ClientAuth['verify'];
  ca?: string | undefined;
  trusted?: string | undefined;
  depth: number;
  crl?: string | undefined;
}

/** Reads the PEM files once, when the config is compiled; a file that cannot be read is a problem (the restriction could not be applied). */
export function readClientAuth(cfg: ClientAuthConfig, baseDir: string, where: string, problems: string[]): ClientAuth {
  const read = (file: string | undefined, key: string): string | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(resolve(baseDir, file), 'utf8');
    } catch (err) {
      problems.push(`${where}.${key}: cannot read ${file}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const ca: string[] = [];
  for (const [key, file] of [['ca', cfg.ca], ['trusted', cfg.trusted]] as const) {
    const text = read(file, key);
    if (text === undefined) continue;
    const certs = splitPemChain(text);
    if (certs.length === 0) problems.push(`${where}.${key}: no PEM certificate in ${file}`);
    for (const c of certs) if (!ca.includes(c)) ca.push(c);
  }
  const crl = read(cfg.crl, 'crl');
  if (crl !== undefined && !crl.includes('-----BEGIN X509 CRL-----')) problems.push(`${where}.crl: no PEM CRL in ${cfg.crl}`);
  return { verify: cfg.verify, ca, crl, depth: cfg.depth };
}

/** What the server's SecureContext needs for it. */
export function contextOptions(auth: ClientAuth): SecureContextOptions {
  const out: SecureContextOptions = {};
  if (auth.ca.length > 0) out.ca = [...auth.ca];
  // One PEM may hold several CRLs (a chain's); node reads one per entry.
  if (auth.crl !== undefined) out.crl = auth.crl.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? [];
  return out;
}

export interface Verdict {
  /** $ssl_client_verify. */
  verify: string;
  /** The client's certificate, null without one (or on a server that does not ask). */
  cert: X509Certificate | null;
  /** Why the request is refused (nginx's 496 and 495, answered as 400), or undefined. */
  refuse: 'No required SSL certificate was sent' | 'The SSL certificate error' | undefined;
}

export const NO_CERTIFICATE: Verdict = { verify: 'NONE', cert: null, refuse: undefined };

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
const verdicts = new WeakMap<object, Map<ClientAuth, Verdict>>();

/** The verification of a connection's client certificate for a server with `auth`. */
export function verdictOf(socket: TLSSocket, auth: ClientAuth): Verdict {
  let seen = verdicts.get(socket);
  const known = seen?.get(auth);
  if (known !== undefined) return known;
  const verdict = verify(socket, auth);
  if (seen === undefined) verdicts.set(socket, (seen = new Map()));
  seen.set(auth, verdict);
  return verdict;
}

function verify(socket: TLSSocket, auth: ClientAuth): Verdict {
  let cert: X509Certificate | null = null;
  try {
    cert = socket.getPeerX509Certificate?.() ?? null;
  } catch {
    cert = null;
  }
  if (cert === null) return auth.verify === 'on' ? { ...NO_CERTIFICATE, refuse: 'No required SSL certificate was sent' } : NO_CERTIFICATE;
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
