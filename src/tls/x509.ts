/**
 * Certificate creation, which node's crypto cannot do (it only parses X.509). Done with
 * @peculiar/x509 over node's WebCrypto: it is TypeScript, maintained, has no native parts, and
 * is what acme-client itself builds CSRs with, so Portico carries one X.509 library, not two.
 * (node-forge, the other common choice, cannot sign with or for EC keys.)
 * All keys are ECDSA P-256, as Caddy's local CA uses: small, fast, accepted everywhere.
 */
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes, createPrivateKey, createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export async function generateKeyPair(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as KeyPair;
}

export async function keyToPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
}

export async function keyFromPem(pem: string): Promise<KeyPair> {
  const priv = createPrivateKey(pem);
  const pkcs8 = priv.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return {
    privateKey: await webcrypto.subtle.importKey('pkcs8', pkcs8, EC, true, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', spki, EC, true, ['verify']),
  };
}

/** A positive 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets, non-negative). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  return bytes.toString('hex');
}

export interface CaSpec {
  subject: string;
  keys: KeyPair;
  notBefore: Date;
  notAfter: Date;
  /** Issuer; absent for a self-signed root. */
  issuer?: { cert: x509.X509Certificate; keys: KeyPair };
  /** For an intermediate: 0 (it signs only leaves). */
  pathLength?: number;
}

export async function createCaCertificate(spec: CaSpec): Promise<string> {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, spec.pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(spec.keys.publicKey),
  ];
  if (spec.issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.cert));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: spec.subject,
    issuer: spec.issuer ? spec.issuer.cert.subject : spec.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    signingAlgorithm: EC,
    publicKey: spec.keys.publicKey,
    signingKey: (spec.issuer?.keys ?? spec.keys).privateKey,
    extensions,
  });
  return cert.toString('pem');
}

export interface LeafSpec {
  names: readonly string[];
  keys: KeyPair;
  notBefore: Date;
  notAfter: Date;
  issuer: { cert: x509.X509Certificate; keys: KeyPair };
}

/** A TLS server certificate for DNS names and IP addresses. */
export async function createLeafCertificate(spec: LeafSpec): Promise<string> {
  const san = spec.names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    // Browsers read only the SAN; the CN is for people reading the certificate.
    subject: '',
    issuer: spec.issuer.cert.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    signingAlgorithm: EC,
    publicKey: spec.keys.publicKey,
    signingKey: spec.issuer.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      // Critical because the subject is empty (RFC 5280 §4.2.1.6).
      new x509.SubjectAlternativeNameExtension(san, true),
      await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.cert),
      await x509.SubjectKeyIdentifierExtension.create(spec.keys.publicKey),
    ],
  });
  return cert.toString('pem');
}

export function parseCertificate(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}
