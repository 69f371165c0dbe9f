/**
 * Leaf certificates from the local CA for one server (`tls: internal`): one certificate for
 * the server's exact names, issued at start (localhost, 127.0.0.1 and ::1 when it has no
 * hosts), and one per name minted at handshake time for names its host patterns accept
 * ("*.localhost" -> "app.localhost"). Leaves live 12 hours and are replaced at two thirds of
 * that; they are never written to disk, since a new one costs a few milliseconds.
 */
import { CertificateSlot } from './slot.js';
import { renewalTime, type LoadedCertificate } from './certificate.js';
import type { InternalCa } from './internal-ca.js';
import type { OnDemand } from './sni-table.js';
import type { ErrorLog } from '../log/error-log.js';

/** Bounds memory when clients invent names under an accepted wildcard. */
const MAX_ON_DEMAND = 1000;

export interface InternalSite {
  /** "servers[0]", for logs. */
  where: string;
  /** Names in the server's main certificate. */
  names: readonly string[];
  /** Whether a name asked for at handshake time may get its own certificate. */
  accepts(name: string): boolean;
}

export class InternalCertificates {
  readonly slot: CertificateSlot;
  readonly #onDemand = new Map<string, Promise<LoadedCertificate>>();

  constructor(
    readonly ca: InternalCa,
    readonly site: InternalSite,
    readonly now: () => number,
    readonly log: ErrorLog,
  ) {
    this.slot = new CertificateSlot(`${site.where} internal`);
  }

  async start(): Promise<void> {
    if (this.site.names.length > 0) await this.#issueMain('issued');
  }

  /** Replaces the main certificate when due (or when `force`: a new intermediate). */
  async renewIfDue(now: number, force = false): Promise<void> {
    if (force) this.#onDemand.clear();
    const current = this.slot.current;
    if (current && (force || renewalTime(current) <= now)) await this.#issueMain('renewed');
  }

  async #issueMain(what: string): Promise<void> {
    const cert = await this.ca.issue(this.site.names, this.now());
    this.slot.set(cert);
    this.log.info(`tls: local certificate ${what}`, { server: this.site.where, names: cert.names, not_after: cert.notAfter.toISOString() });
  }

  readonly onDemand: OnDemand = (name) => {
    if (this.site.names.includes(name) || !this.site.accepts(name)) return undefined;
    const cached = this.#onDemand.get(name);
    if (cached) return cached.then((c) => (renewalTime(c) > this.now() ? c : this.#mint(name)));
    return this.#mint(name);
  };

  #mint(name: string): Promise<LoadedCertificate> {
    if (this.#onDemand.size >= MAX_ON_DEMAND) this.#onDemand.delete(this.#onDemand.keys().next().value!);
    const pending = this.ca.issue([name], this.now());
    this.#onDemand.set(name, pending);
    pending.then(
      (cert) => this.log.info('tls: local certificate issued on demand', { server: this.site.where, names: cert.names, not_after: cert.notAfter.toISOString() }),
      (err: Error) => {
        this.#onDemand.delete(name);
        this.log.error('tls: local certificate could not be issued', { server: this.site.where, name, err: err.message });
      },
    );
    return pending;
  }
}
