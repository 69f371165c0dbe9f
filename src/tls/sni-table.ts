/**
 * Certificate selection for one TLS listener, by the name the client asked for (SNI):
 *  1. a certificate naming it exactly,
 *  2. a wildcard certificate for its parent ("*.example.com" covers "a.example.com" only,
 *     one label, as RFC 6125 §6.4.3 and browsers have it),
 *  3. a certificate minted on demand (the local CA for a name one of its servers accepts),
 *  4. the listener's default certificate (also what clients without SNI get: IP literals).
 * When two servers' certificates name the same host, the one listed first wins, as the first
 * server does for routing. On a listener whose servers ask for client certificates, the name
 * first picks the server by its hosts (nginx's SNI), whose context holds its own CAs.
 */
import type { SecureContext } from 'node:tls';
import type { CertificateSlot } from './slot.js';
import type { LoadedCertificate } from './certificate.js';
import { HostTable } from '../compile/host-table.js';

/** Returns a certificate for a name it is responsible for, or undefined to pass. */
export type OnDemand = (name: string) => Promise<LoadedCertificate> | undefined;

export class SniTable {
  readonly #slots: CertificateSlot[] = [];
  readonly #onDemand: OnDemand[] = [];
  #exact = new Map<string, CertificateSlot>();
  #wildcard = new Map<string, CertificateSlot>();
  #default: CertificateSlot | undefined;
  #servers: HostTable<CertificateSlot> | undefined;
  #defaultChanged: (() => void) | undefined;

  add(slot: CertificateSlot, isDefault: boolean): void {
    if (this.#slots.includes(slot)) return;
    this.#slots.push(slot);
    if (isDefault || this.#default === undefined) this.#default = slot;
    slot.onChange(() => {
      this.#rebuild();
      if (slot === this.#default) this.#defaultChanged?.();
    });
    this.#rebuild();
  }

  /** A server's certificate for the names it answers (`hosts`, as routing matches them). */
  addServer(hosts: readonly string[], slot: CertificateSlot): void {
    const table = (this.#servers ??= new HostTable<CertificateSlot>());
    for (const h of hosts) table.add(h, slot); // a name already taken stays with the first server
    if (!this.#slots.includes(slot)) this.add(slot, false);
  }

  addOnDemand(fn: OnDemand): void {
    this.#onDemand.push(fn);
  }

  /** Called when the default certificate changes (the server must then swap its own context). */
  onDefaultChange(fn: () => void): void {
    this.#defaultChanged = fn;
  }

  get defaultCertificate(): LoadedCertificate | undefined {
    return this.#default?.current ?? this.#slots.find((s) => s.current)?.current;
  }

  #rebuild(): void {
    const exact = new Map<string, CertificateSlot>();
    const wildcard = new Map<string, CertificateSlot>();
    for (const slot of this.#slots) {
      for (const name of slot.current?.names ?? []) {
        if (name.startsWith('*.')) {
          if (!wildcard.has(name.slice(2))) wildcard.set(name.slice(2), slot);
        } else if (!exact.has(name)) exact.set(name, slot);
      }
    }
    this.#exact = exact;
    this.#wildcard = wildcard;
  }

  /** The context for `servername`, a promise of one, or undefined for the default. */
  resolve(servername: string): SecureContext | Promise<SecureContext> | undefined {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const server = this.#servers?.match(name)?.current;
    if (server) return server.context;
    const exact = this.#exact.get(name)?.current;
    if (exact) return exact.context;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const wild = this.#wildcard.get(name.slice(dot + 1))?.current;
      if (wild) return wild.context;
    }
    for (const fn of this.#onDemand) {
      const pending = fn(name);
      if (pending) return pending.then((c) => c.context);
    }
    return undefined;
  }

  /** node's SNICallback. A failed on-demand issue falls back to the default certificate. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    const found = this.resolve(servername);
    if (found === undefined || !(found instanceof Promise)) return cb(null, found);
    found.then(
      (ctx) => cb(null, ctx),
      () => cb(null, undefined),
    );
  };
}
