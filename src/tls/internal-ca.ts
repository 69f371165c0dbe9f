/**
 * Portico's local certificate authority, as Caddy's `tls internal` has it: a root valid for
 * 10 years (the thing a user trusts once, with `portico trust`) and an intermediate valid for
 * 7 days that signs the short-lived leaves and is replaced on its own when two thirds of its
 * life are gone, so the root key is used only every few days. Both live under
 * <data_dir>/pki/authorities/local/ (Caddy's layout), keys 0600.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { ensurePrivateDir, writePrivateFile } from './data-dir.js';
import { createCaCertificate, createLeafCertificate, generateKeyPair, keyFromPem, keyToPem, parseCertificate, type KeyPair } from './x509.js';
import { loadCertificate, type LoadedCertificate } from './certificate.js';
import type { ErrorLog } from '../log/error-log.js';
import { fileProblem } from './file-problem.js';

const DAY = 86_400_000;
export const ROOT_LIFETIME = 3650 * DAY;
export const INTERMEDIATE_LIFETIME = 7 * DAY;
/** Caddy's default leaf lifetime: short enough that nobody needs revocation for a local CA. */
export const LEAF_LIFETIME = 12 * 3_600_000;
/** Certificates are dated a little into the past so a client whose clock lags accepts them. */
const BACKDATE = 5 * 60_000;

export const ROOT_NAME = 'Portico Local CA';

interface Authority {
  pem: string;
  cert: PeculiarCertificate;
  keys: KeyPair;
}

export function caDirectory(dataDir: string): string {
  return join(dataDir, 'pki', 'authorities', 'local');
}

export class InternalCa {
  #intermediate: Authority;

  private constructor(
    readonly dir: string,
    readonly root: Authority,
    intermediate: Authority,
    readonly log: ErrorLog,
  ) {
    this.#intermediate = intermediate;
  }

  /** The root certificate (PEM): what `portico trust` installs. */
  get rootPem(): string {
    return this.root.pem;
  }

  get intermediatePem(): string {
    return this.#intermediate.pem;
  }

  /** Loads the CA from `<dataDir>/pki/authorities/local`, creating what is missing or expired. */
  static async open(dataDir: string, now: number, log: ErrorLog): Promise<InternalCa> {
    const dir = caDirectory(dataDir);
    await ensurePrivateDir(dir);
    let root = await readAuthority(dir, 'root');
    if (!root || root.cert.notAfter.getTime() <= now) {
      const keys = await generateKeyPair();
      const pem = await createCaCertificate({
        subject: `CN=${ROOT_NAME} - ${new Date(now).getUTCFullYear()} ECC Root`,
        keys,
        notBefore: new Date(now - BACKDATE),
        notAfter: new Date(now + ROOT_LIFETIME),
      });
      root = await writeAuthority(dir, 'root', pem, keys);
      log.info('tls: created the local root CA; run `portico trust` to have this machine trust it', { cert: join(dir, 'root.crt') });
    }
    const existing = await readAuthority(dir, 'intermediate');
    // An intermediate from an older root (the root was replaced) or near its end is replaced.
    const usable = existing && existing.cert.issuer === root.cert.subject && dueAt(existing.cert) > now;
    return new InternalCa(dir, root, usable ? existing : await createIntermediate(dir, root, now, log), log);
  }

  /** Replaces the intermediate when it is two thirds through its life; true when it did. */
  async renewIfDue(now: number): Promise<boolean> {
    if (dueAt(this.#intermediate.cert) > now) return false;
    await this.#renewIntermediate(now);
    return true;
  }

  async #renewIntermediate(now: number): Promise<void> {
    this.#intermediate = await createIntermediate(this.dir, this.root, now, this.log);
  }

  /** A leaf for `names`, valid `lifetime` ms (never beyond the intermediate), chain = leaf + intermediate. */
  async issue(names: readonly string[], now: number, lifetime = LEAF_LIFETIME): Promise<LoadedCertificate> {
    const issuer = this.#intermediate;
    const keys = await generateKeyPair();
    const leaf = await createLeafCertificate({
      names,
      keys,
      notBefore: new Date(now - BACKDATE),
      notAfter: new Date(Math.min(now + lifetime, issuer.cert.notAfter.getTime())),
      issuer: { cert: issuer.cert, keys: issuer.keys },
    });
    return loadCertificate(leaf + issuer.pem, await keyToPem(keys.privateKey));
  }
}

function dueAt(cert: PeculiarCertificate): number {
  const start = cert.notBefore.getTime();
  return start + ((cert.notAfter.getTime() - start) * 2) / 3;
}

async function createIntermediate(dir: string, root: Authority, now: number, log: ErrorLog): Promise<Authority> {
  const keys = await generateKeyPair();
  const pem = await createCaCertificate({
    subject: `CN=${ROOT_NAME} - ECC Intermediate`,
    keys,
    notBefore: new Date(now - BACKDATE),
    notAfter: new Date(Math.min(now + INTERMEDIATE_LIFETIME, root.cert.notAfter.getTime())),
    issuer: { cert: root.cert, keys: root.keys },
    pathLength: 0,
  });
  const created = await writeAuthority(dir, 'intermediate', pem, keys);
  log.info('tls: issued a new local intermediate CA', { not_after: created.cert.notAfter.toISOString() });
  return created;
}

async function readAuthority(dir: string, name: string): Promise<Authority | undefined> {
  try {
    const [pem, keyPem] = await Promise.all([readFile(join(dir, `${name}.crt`), 'utf8'), readFile(join(dir, `${name}.key`), 'utf8')]);
    return { pem, cert: parseCertificate(pem), keys: await keyFromPem(keyPem) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return undefined;
    // The file and code stay on the error: `portico run` says whose the file is (serve-as.ts).
    const detail = e.code !== undefined ? fileProblem(e) : e.message;
    throw Object.assign(new Error(`cannot read the local CA's ${name} in ${dir}: ${detail}`), { code: e.code, file: e.path ?? join(dir, `${name}.key`) });
  }
}

async function writeAuthority(dir: string, name: string, pem: string, keys: KeyPair): Promise<Authority> {
  // Key first: a certificate on disk without its key would be unusable.
  await writePrivateFile(join(dir, `${name}.key`), await keyToPem(keys.privateKey));
  await writePrivateFile(join(dir, `${name}.crt`), pem);
  return { pem, cert: parseCertificate(pem), keys };
}
