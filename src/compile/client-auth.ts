/**
 * Client certificates (mutual TLS), as nginx's ssl_verify_client does them
 * (https://nginx.org/en/docs/http/ngx_http_ssl_module.html#ssl_verify_client), the compile-time
 * side: the server's CA and CRL files read once, and the options of its TLS contexts. The
 * handshake asks for a certificate (node's requestCert) and never fails because of it
 * (rejectUnauthorized: false); the server's CAs (`ca` and `trusted`) verify it, `ca` is the list
 * sent to clients, `crl` revokes (every certificate of the chain, as nginx sets
 * X509_V_FLAG_CRL_CHECK_ALL). Each request is then checked by src/shield/client-certificates.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import type { ClientAuth } from '../shield/client-certificates.js';

export type { ClientAuth };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

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
    const certs = text.match(PEM_CERT) ?? [];
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
