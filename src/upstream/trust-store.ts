/**
 * The certificates an `https://` upstream is verified against. By default: the system's CA
 * store (what curl and Python trust on the same machine, so a company CA installed there
 * works) plus node's bundled Mozilla roots. Node 22.15+ reads the system store itself
 * (tls.getCACertificates('system')); on older nodes the usual bundle files are read.
 * A pool's `tls.ca` replaces all of this (nginx proxy_ssl_trusted_certificate).
 */
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';

/** Debian/Ubuntu, Fedora/RHEL, Alpine/macOS/BSD, openSUSE. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
  '/etc/ssl/ca-bundle.pem',
];

type GetCa = (type: 'default' | 'system') => string[];

let defaults: string[] | undefined;

export function systemTrust(): string[] {
  if (defaults) return defaults;
  const get = (tls as unknown as { getCACertificates?: GetCa }).getCACertificates;
  let system: string[] = [];
  if (typeof get === 'function') {
    system = get('system');
  } else {
    for (const file of SYSTEM_BUNDLES) {
      try {
        system = [readFileSync(file, 'latin1')];
        break;
      } catch {
        // not this distribution's path
      }
    }
  }
  defaults = [...tls.rootCertificates, ...system];
  return defaults;
}
