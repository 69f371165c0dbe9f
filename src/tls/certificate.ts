/**
 * A certificate chain and key as Portico serves them: a SecureContext for the handshake plus
 * what the SNI table and renewal need to know (names, validity, serial), read with node's own
 * X509Certificate.
 */
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { TLS_SETTINGS } from './settings.js';

export interface LoadedCertificate {
  readonly context: SecureContext;
  /** DNS names (lower case, "*.example.com" kept as written) and IP addresses from subjectAltName. */
  readonly names: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serial: string;
  /** The chain as PEM, leaf first. */
  readonly certPem: string;
  /** The key as PEM: a listener's default certificate is installed with setSecureContext(). */
  readonly keyPem: string;
  /** More options its context was made with (client certificate CAs), for a listener's default context. */
  readonly contextOptions?: SecureContextOptions;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into its certificates, leaf first. */
export function splitPemChain(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

/**
 * Builds a certificate from PEM text. Throws with a message fit for a log line when the chain
 * is empty, the key is unreadable or the key does not belong to the leaf.
 */
export function loadCertificate(certPem: string, keyPem: string): LoadedCertificate {
  const chain = splitPemChain(certPem);
  if (chain.length === 0) throw new Error('no PEM certificate found');
  const leaf = new X509Certificate(chain[0]!);
  const key = createPrivateKey(keyPem);
  if (!leaf.checkPrivateKey(key)) throw new Error('the private key does not match the certificate');
  const context = createSecureContext({ ...TLS_SETTINGS, cert: chain.join('\n'), key: keyPem });
  return {
    context,
    names: subjectAltNames(leaf),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    serial: leaf.serialNumber,
    certPem: chain.join('\n') + '\n',
    keyPem,
  };
}

/** "DNS:a.example, DNS:*.b.example, IP Address:127.0.0.1" -> ["a.example", "*.b.example", "127.0.0.1"]. */
export function subjectAltNames(cert: X509Certificate): string[] {
  const text = cert.subjectAltName;
  if (!text) {
    // Old certificates name their host only in the CN; browsers ignore it, OpenSSL clients may not.
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
    return cn ? [cn.toLowerCase()] : [];
  }
  const names: string[] = [];
  for (const part of text.split(', ')) {
    if (part.startsWith('DNS:')) names.push(part.slice(4).toLowerCase());
    else if (part.startsWith('IP Address:')) names.push(normalizeIpName(part.slice(11)));
  }
  return names;
}

/** node prints IPv6 SANs in full ("0:0:0:0:0:0:0:1"); SNI and config use the short form. */
function normalizeIpName(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

/** The point at which a certificate is due for renewal: two thirds into its lifetime (Let's Encrypt and Caddy's rule). */
export function renewalTime(cert: Pick<LoadedCertificate, 'notBefore' | 'notAfter'>): number {
  const start = cert.notBefore.getTime();
  return start + ((cert.notAfter.getTime() - start) * 2) / 3;
}

/** The same certificate with more context options (client certificate CAs and CRLs). */
export function withContextOptions(cert: LoadedCertificate, options: SecureContextOptions): LoadedCertificate {
  const context = createSecureContext({ ...TLS_SETTINGS, cert: cert.certPem, key: cert.keyPem, ...options });
  return { ...cert, context, contextOptions: options };
}
