/**
 * A certificate from PEM files (`tls: { cert, key }`), reloaded when the files change on disk:
 * certbot renewals (a symlink in live/ pointing at a new file), editors' atomic renames and
 * Kubernetes secret updates (a "..data" symlink swap) all show up as events in the files'
 * directories, so the directories are watched, not the files. A reload that fails (the key
 * written before the certificate, a half-written file) keeps the certificate in use and logs
 * why; the next change tries again.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadCertificate, type LoadedCertificate } from './certificate.js';
import { CertificateSlot } from './slot.js';
import type { ErrorLog } from '../log/error-log.js';
import { StartError } from '../errors.js';
import { fileProblem } from './file-problem.js';

/** Several events arrive for one save; wait for them to settle before reading. */
const SETTLE_MS = 100;

export class FileCertificate {
  readonly slot: CertificateSlot;
  readonly #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastText = '';
  #lastProblem: string | undefined;

  constructor(
    readonly certPath: string,
    readonly keyPath: string,
    readonly where: string,
    readonly log: ErrorLog,
  ) {
    this.slot = new CertificateSlot(`${where} ${certPath}`);
  }

  /** First load: a problem here stops the start, naming the config key and the file. */
  async load(): Promise<LoadedCertificate> {
    const cert = await this.#read();
    if (typeof cert !== 'object') {
      // The key of the file that could not be read; the pair's for one that does not fit.
      const file = cert?.startsWith(`cannot read ${this.certPath}:`) ? '.cert' : cert?.startsWith(`cannot read ${this.keyPath}:`) ? '.key' : '';
      throw new StartError(`${this.where}${file}`, cert ?? 'unreadable');
    }
    this.slot.set(cert);
    return cert;
  }

  watch(): void {
    for (const dir of new Set([dirname(this.certPath), dirname(this.keyPath)])) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#changed());
        w.on('error', () => {});
        this.#watchers.push(w);
      } catch (err) {
        this.log.warn('tls: cannot watch certificate directory; changes need a restart', { dir, err: (err as Error).message });
      }
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
  }

  #changed(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload(), SETTLE_MS);
    this.#timer.unref();
  }

  /** Reads the files again; swaps the certificate when they changed and are valid. */
  async reload(): Promise<void> {
    const cert = await this.#read();
    if (cert === undefined) return; // unchanged
    if (typeof cert === 'string') {
      // Said once until it changes: any file written next to the certificate (a log in the
      // same directory) wakes the watcher, and the same failure would be logged on every write.
      if (cert === this.#lastProblem) return;
      this.#lastProblem = cert;
      this.log.error('tls: certificate files changed but cannot be used; still serving the previous certificate', {
        server: this.where,
        cert: this.certPath,
        key: this.keyPath,
        err: cert,
      });
      return;
    }
    this.#lastProblem = undefined;
    this.slot.set(cert);
    this.log.info('tls: certificate reloaded', { server: this.where, cert: this.certPath, names: cert.names, not_after: cert.notAfter.toISOString(), serial: cert.serial });
  }

  /** The certificate, undefined when the files are as last read, or what is wrong. */
  async #read(): Promise<LoadedCertificate | string | undefined> {
    let certText: string;
    let keyText: string;
    // One at a time: node's error does not always name the file (EISDIR has no path).
    let reading = this.certPath;
    try {
      certText = await readFile(reading, 'utf8');
      reading = this.keyPath;
      keyText = await readFile(reading, 'utf8');
    } catch (err) {
      return `cannot read ${reading}: ${fileProblem(err as NodeJS.ErrnoException)}`;
    }
    const text = certText + '\0' + keyText;
    if (text === this.#lastText) return undefined;
    try {
      const cert = loadCertificate(certText, keyText);
      this.#lastText = text;
      return cert;
    } catch (err) {
      return `${this.certPath} / ${this.keyPath}: ${(err as Error).message}`;
    }
  }
}
