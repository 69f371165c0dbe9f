/**
 * Everything HTTPS needs while Portico runs: a certificate provider per TLS server (files,
 * local CA or ACME), an SNI table per TLS listener fed by them, the ACME challenge answers,
 * and the renewal check. Built once at start from the compiled config.
 */
import type { CompiledConfig, ListenerPlan } from '../compile/compile.js';
import type { TlsSite } from '../compile/tls-plan.js';
import { HostTable } from '../compile/host-table.js';
import { SniTable, type OnDemand } from './sni-table.js';
import { CertificateSlot } from './slot.js';
import { withContextOptions } from './certificate.js';
import { contextOptions } from '../compile/client-auth.js';
import { FileCertificate } from './file-certificate.js';
import type { InternalCa } from './internal-ca.js';
import type { InternalCertificates } from './internal-certificates.js';
import { isLocalName } from '../compile/local-names.js';
import type { AcmeCertificates } from './acme/acme-certificates.js';
import { AcmeChallenges, type Http01Answers } from './acme/challenges.js';
import type { ErrorLog } from '../log/error-log.js';
import type { Socket } from 'node:net';

/** How often renewals are checked; leaves are due hours, ACME certificates weeks, ahead. */
const CHECK_EVERY = 10 * 60_000;

export interface TlsRuntimeDeps {
  log: ErrorLog;
  dataDir: string;
  now: () => number;
}

interface Provider {
  slots: CertificateSlot[];
  onDemand?: OnDemand;
}

export class TlsRuntime {
  readonly #providers = new Map<TlsSite, Provider>();
  readonly #files: FileCertificate[] = [];
  readonly #internal: InternalCertificates[] = [];
  readonly #acme: AcmeCertificates[] = [];
  readonly #challenges = new AcmeChallenges();
  #ca: InternalCa | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  private constructor(readonly deps: TlsRuntimeDeps) {}

  static async start(compiled: CompiledConfig, deps: TlsRuntimeDeps): Promise<TlsRuntime> {
    const rt = new TlsRuntime(deps);
    try {
      for (const site of compiled.tlsSites) rt.#providers.set(site, await rt.#provide(site));
    } catch (err) {
      rt.close();
      throw err;
    }
    for (const f of rt.#files) f.watch();
    if (compiled.tlsSites.length > 0) {
      rt.#timer = setInterval(() => void rt.checkRenewals(), CHECK_EVERY);
      rt.#timer.unref();
    }
    return rt;
  }

  /**
   * Places the first ACME orders (for servers with no certificate yet) once the listeners
   * serve: the HTTP-01 and TLS-ALPN-01 answers need them, and the files an order writes belong
   * to the user Portico serves as.
   */
  startOrders(): void {
    for (const a of this.#acme) a.start();
  }

  /** The local CA, when a server uses it. */
  get ca(): InternalCa | undefined {
    return this.#ca;
  }

  async #provide(site: TlsSite): Promise<Provider> {
    const provider = await this.#certificates(site);
    if (site.clientAuth === undefined) return provider;
    // Client certificates: the same certificates in contexts that hold the server's CAs.
    const options = contextOptions(site.clientAuth);
    const slots = provider.slots.map((base) => {
      const slot = new CertificateSlot(`${base.label} client_certificates`);
      const update = () => {
        if (base.current) slot.set(withContextOptions(base.current, options));
      };
      base.onChange(update);
      update();
      return slot;
    });
    return { slots };
  }

  async #certificates(site: TlsSite): Promise<Provider> {
    const { log, now, dataDir } = this.deps;
    const source = site.source;
    if (source.kind === 'files') {
      const slots: CertificateSlot[] = [];
      for (const [i, pair] of source.files.entries()) {
        const file = new FileCertificate(pair.cert, pair.key, `${site.where}.tls${source.list ? `[${i}]` : ''}`, log);
        const cert = await file.load();
        if (cert.notAfter.getTime() <= now()) log.warn('tls: certificate has expired', { server: site.where, cert: pair.cert, not_after: cert.notAfter.toISOString() });
        this.#files.push(file);
        slots.push(file.slot);
      }
      return { slots };
    }
    // The local CA and ACME are imported when a server uses them: @peculiar/x509 and
    // acme-client (with axios and node-forge) are 10 MiB of heap a process without them never
    // needs (docs/benchmarks.md, "Memory").
    if (source.kind === 'internal') {
      const [{ InternalCa }, { InternalCertificates }] = await Promise.all([import('./internal-ca.js'), import('./internal-certificates.js')]);
      this.#ca ??= await InternalCa.open(dataDir, now(), log);
      const accepts = acceptor(site);
      const certs = new InternalCertificates(this.#ca, { where: site.where, names: site.names, accepts }, now, log);
      await certs.start();
      this.#internal.push(certs);
      return { slots: [certs.slot], onDemand: certs.onDemand };
    }
    const { AcmeCertificates } = await import('./acme/acme-certificates.js');
    const acme = new AcmeCertificates(site, source, { dataDir, log, now, challenges: this.#challenges });
    await acme.load();
    this.#acme.push(acme);
    return { slots: [acme.slot] };
  }

  /** The certificates served now, by server (for /status and /metrics). */
  certificates(): { where: string; names: string[]; notAfter: number }[] {
    const out: { where: string; names: string[]; notAfter: number }[] = [];
    for (const [site, provider] of this.#providers)
      for (const slot of provider.slots) {
        const cert = slot.current;
        if (cert) out.push({ where: site.where, names: [...cert.names], notAfter: cert.notAfter.getTime() });
      }
    return out;
  }

  /** The SNI table of a TLS listener: its servers' certificates, the default server's first. */
  sniFor(plan: ListenerPlan): SniTable {
    const table = new SniTable();
    const sites = plan.tls ?? [];
    // With client certificates on the listener, a name picks its server first (as nginx's SNI
    // does), so each server's own CAs (or none) verify the certificate.
    const byServer = sites.some((s) => s.clientAuth !== undefined);
    for (const [i, site] of sites.entries()) {
      const provider = this.#providers.get(site)!;
      provider.slots.forEach((slot, j) => table.add(slot, i === 0 && j === 0));
      if (byServer && provider.slots[0]) table.addServer(site.hosts, provider.slots[0]);
      if (provider.onDemand) table.addOnDemand(provider.onDemand);
    }
    return table;
  }

  /** Answers ACME HTTP-01 requests on plain HTTP listeners, when a server uses ACME. */
  get http01(): Http01Answers | undefined {
    return this.#acme.length > 0 ? this.#challenges.http01 : undefined;
  }

  /** Intercepts TLS-ALPN-01 validation handshakes on a TLS listener serving an ACME server. */
  peekFor(plan: ListenerPlan): ((socket: Socket, pass: (socket: Socket) => void) => void) | undefined {
    const usesAlpn = (plan.tls ?? []).some((s) => s.source.kind === 'acme' && s.source.challenges.includes('tls-alpn-01'));
    return usesAlpn ? this.#challenges.peek : undefined;
  }

  /** Renews what is due: the local intermediate and leaves, ACME certificates. */
  checkRenewals(): Promise<void> {
    return (this.#checking ??= this.#check().finally(() => (this.#checking = undefined)));
  }

  async #check(): Promise<void> {
    const now = this.deps.now();
    try {
      const newIntermediate = (await this.#ca?.renewIfDue(now)) ?? false;
      for (const c of this.#internal) await c.renewIfDue(now, newIntermediate);
    } catch (err) {
      this.deps.log.error('tls: renewing local certificates failed', { err: (err as Error).message });
    }
    await Promise.all(this.#acme.map((a) => a.renewIfDue(now)));
  }

  close(): void {
    clearInterval(this.#timer);
    for (const f of this.#files) f.close();
    for (const a of this.#acme) a.close();
  }
}

/** Which names a local-CA server mints certificates for at handshake time. */
function acceptor(site: TlsSite): (name: string) => boolean {
  if (site.hosts.length === 0) return isLocalName;
  const table = new HostTable<true>();
  for (const h of site.hosts) table.add(h, true);
  return (name) => table.match(name) === true;
}
