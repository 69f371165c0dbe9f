/**
 * A certificate that changes over time (a file reloaded, a leaf renewed, an ACME order
 * completed). The SNI tables of every listener that serves it subscribe to it, so a renewal
 * reaches new handshakes at once without restarting anything.
 */
import type { LoadedCertificate } from './certificate.js';

export class CertificateSlot {
  #current: LoadedCertificate | undefined;
  readonly #listeners = new Set<() => void>();

  /** @param label for logs: "servers[0] /etc/ssl/site.pem", "servers[1] internal". */
  constructor(readonly label: string) {}

  get current(): LoadedCertificate | undefined {
    return this.#current;
  }

  set(cert: LoadedCertificate): void {
    this.#current = cert;
    for (const fn of this.#listeners) fn();
  }

  onChange(fn: () => void): void {
    this.#listeners.add(fn);
  }
}
