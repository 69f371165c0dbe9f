/**
 * One ACME-managed certificate: the names of one server, ordered from the configured
 * directory (RFC 8555 §7.4) with HTTP-01 or TLS-ALPN-01, stored in
 * <data_dir>/certificates/<directory>/<first name>/ (key 0600), loaded from there at start,
 * and renewed at two thirds of its lifetime with backoff on failure. Every step and every
 * failure is one log line.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import acme from 'acme-client';
import { CertificateSlot } from '../slot.js';
import { loadCertificate, type LoadedCertificate } from '../certificate.js';
import { ensurePrivateDir, writePrivateFile } from '../data-dir.js';
import type { TlsSite, TlsSource } from '../../compile/tls-plan.js';
import type { ErrorLog } from '../../log/error-log.js';
import { acmeClient, directoryId } from './account.js';
import { RenewalSchedule } from './schedule.js';
import type { AcmeChallenges } from './challenges.js';

type AcmeSource = Extract<TlsSource, { kind: 'acme' }>;

export interface AcmeDeps {
  dataDir: string;
  log: ErrorLog;
  now: () => number;
  challenges: AcmeChallenges;
}

export class AcmeCertificates {
  readonly slot: CertificateSlot;
  readonly #schedule = new RenewalSchedule();
  readonly #dir: string;
  #pending: Promise<void> | undefined;
  #closed = false;

  constructor(
    readonly site: TlsSite,
    readonly source: AcmeSource,
    readonly deps: AcmeDeps,
  ) {
    this.slot = new CertificateSlot(`${site.where} acme`);
    this.#dir = join(deps.dataDir, 'certificates', directoryId(source.directory), site.names[0] ?? 'unnamed');
  }

  get #log(): ErrorLog {
    return this.deps.log;
  }

  /** Loads a stored certificate for the same names, if there is one. */
  async load(): Promise<void> {
    try {
      const [cert, key] = await Promise.all([readFile(join(this.#dir, 'certificate.pem'), 'utf8'), readFile(join(this.#dir, 'key.pem'), 'utf8')]);
      const loaded = loadCertificate(cert, key);
      const wanted = [...this.site.names].sort().join(',');
      if ([...loaded.names].sort().join(',') !== wanted) {
        this.#log.info('acme: stored certificate is for other names; ordering a new one', { server: this.site.where, stored: loaded.names, names: this.site.names });
        return;
      }
      this.slot.set(loaded);
      this.#log.info('acme: loaded stored certificate', { server: this.site.where, names: loaded.names, not_after: loaded.notAfter.toISOString() });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn('acme: stored certificate unusable; ordering a new one', { server: this.site.where, err: (err as Error).message });
    }
  }

  /** Starts the first order in the background when there is no certificate yet. */
  start(): void {
    void this.renewIfDue(this.deps.now());
  }

  /** Orders a certificate when none is held or the one held is due; resolves when that is done. */
  renewIfDue(now: number): Promise<void> {
    if (this.#pending) return this.#pending;
    if (this.#closed || !this.#schedule.due(this.slot.current, now)) return Promise.resolve();
    const renewing = this.slot.current !== undefined;
    this.#pending = this.#obtain(renewing)
      .then(
        () => this.#schedule.succeeded(),
        (err: Error) => {
          const delay = this.#schedule.failed(this.deps.now());
          this.#log.error(`acme: ${renewing ? 'renewal' : 'order'} failed; retrying in ${Math.round(delay / 1000)}s`, {
            server: this.site.where,
            names: this.site.names,
            directory: this.source.directory,
            err: err.message,
          });
        },
      )
      .finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #obtain(renewing: boolean): Promise<void> {
    const { log, challenges } = this.deps;
    const names = this.site.names;
    const server = this.site.where;
    log.info(`acme: ${renewing ? 'renewing' : 'obtaining'} certificate`, { server, names, directory: this.source.directory });
    const client = await acmeClient({ dataDir: this.deps.dataDir, directory: this.source.directory, email: this.source.email, caRoot: this.source.caRoot, log });
    const order = await client.createOrder({ identifiers: names.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value })) });
    log.info('acme: order created', { server, order: order.url, status: order.status });
    for (const authz of await client.getAuthorizations(order)) {
      const name = authz.identifier.value;
      if (authz.status === 'valid') {
        log.info('acme: authorization already valid', { server, name });
        continue;
      }
      const challenge = this.source.challenges.map((type) => authz.challenges.find((c) => c.type === type)).find((c) => c !== undefined);
      if (!challenge) throw new Error(`the CA offers no ${this.source.challenges.join(' or ')} challenge for ${name}`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      let cleanup: () => void;
      if (challenge.type === 'http-01') {
        challenges.setHttp01(challenge.token, keyAuthorization);
        cleanup = () => challenges.deleteHttp01(challenge.token);
      } else {
        const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
        challenges.setTlsAlpn01(name, cert.toString(), key.toString());
        cleanup = () => challenges.deleteTlsAlpn01(name);
      }
      try {
        log.info('acme: answering challenge', { server, name, type: challenge.type });
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
        log.info('acme: challenge valid', { server, name, type: challenge.type });
      } finally {
        cleanup();
      }
    }
    const [key, csr] = await acme.crypto.createCsr(
      { altNames: [...names], ...(names[0]!.length <= 64 ? { commonName: names[0] } : {}) },
      await acme.crypto.createPrivateEcdsaKey(),
    );
    log.info('acme: finalizing order', { server, names });
    const finalized = await client.finalizeOrder(order, csr);
    const pem = await client.getCertificate(finalized);
    const cert = loadCertificate(pem, key.toString());
    await this.#store(cert);
    this.slot.set(cert);
    log.info(`acme: certificate ${renewing ? 'renewed' : 'obtained'}`, { server, names: cert.names, serial: cert.serial, not_after: cert.notAfter.toISOString() });
  }

  async #store(cert: LoadedCertificate): Promise<void> {
    await ensurePrivateDir(this.#dir);
    await writePrivateFile(join(this.#dir, 'key.pem'), cert.keyPem);
    await writePrivateFile(join(this.#dir, 'certificate.pem'), cert.certPem);
  }

  close(): void {
    this.#closed = true;
  }
}
