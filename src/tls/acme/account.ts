/**
 * The ACME account per directory: its key is created once and kept in
 * <data_dir>/acme/<directory>/account.key (0600); the account itself is registered (or found
 * again, RFC 8555 §7.3.1: same key, same account) once per process.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import { ensurePrivateDir, writePrivateFile } from '../data-dir.js';
import type { ErrorLog } from '../../log/error-log.js';

const clients = new Map<string, Promise<acme.Client>>();

/** "https://acme-v02.api.letsencrypt.org/directory" -> "acme-v02.api.letsencrypt.org-directory" (Caddy's naming). */
export function directoryId(directory: string): string {
  const url = new URL(directory);
  return `${url.host}${url.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/-+$/, '');
}

export interface AccountOptions {
  dataDir: string;
  directory: string;
  email: string | undefined;
  /** PEM file of a CA trusted for the directory's HTTPS (pebble in tests). */
  caRoot: string | undefined;
  log: ErrorLog;
}

export function acmeClient(opts: AccountOptions): Promise<acme.Client> {
  const key = `${opts.dataDir}\0${opts.directory}`;
  let client = clients.get(key);
  if (!client) {
    client = register(opts);
    clients.set(key, client);
    client.catch(() => clients.delete(key)); // try again on the next order
  }
  return client;
}

async function register(opts: AccountOptions): Promise<acme.Client> {
  const { log, directory } = opts;
  if (opts.caRoot) {
    // acme-client talks through its own axios instance; this is its documented hook.
    const ca = await readFile(opts.caRoot, 'utf8');
    acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, ca] });
  }
  const dir = join(opts.dataDir, 'acme', directoryId(directory));
  await ensurePrivateDir(dir);
  const keyPath = join(dir, 'account.key');
  let accountKey: string;
  try {
    accountKey = await readFile(keyPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    accountKey = (await acme.crypto.createPrivateEcdsaKey()).toString();
    await writePrivateFile(keyPath, accountKey);
    log.info('acme: created account key', { directory, key: keyPath });
  }
  const client = new acme.Client({ directoryUrl: directory, accountKey });
  log.info('acme: registering account', { directory, email: opts.email ?? null });
  await client.createAccount({ termsOfServiceAgreed: true, ...(opts.email ? { contact: [`mailto:${opts.email}`] } : {}) });
  log.info('acme: account ready', { directory, account: client.getAccountUrl() });
  return client;
}
