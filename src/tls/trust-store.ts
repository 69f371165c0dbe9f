/**
 * Installing the local root CA where this machine's programs look for trusted roots. Debian and
 * Ubuntu: a file in /usr/local/share/ca-certificates and `update-ca-certificates` (which
 * rebuilds /etc/ssl/certs/ca-certificates.crt, read by curl, Python, Go, OpenSSL). Chromium
 * keeps its own NSS database per user (~/.pki/nssdb), filled with `certutil` (Debian:
 * libnss3-tools), created first when the user has none yet; Firefox has one per profile.
 *
 * Each root is installed under a name of its own (its fingerprint), as Caddy's are: two data
 * directories (a user's and a service's) each have a root, and trusting one must not silently
 * replace the other. PORTICO_TRUST_DIR and PORTICO_UPDATE_CA_COMMAND replace the directory and
 * the command (tests, other layouts).
 */
import { copyFile, rm, access, readdir, readFile, mkdir, chown } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';

/** The name the first Portico versions installed every root under. */
const LEGACY_FILE_NAME = 'portico-root.crt';
const NICKNAME = 'Portico Local CA';

export interface TrustStore {
  dir: string;
  updateCommand: string;
}

export function systemTrustStore(env: NodeJS.ProcessEnv = process.env): TrustStore {
  return {
    dir: env.PORTICO_TRUST_DIR ?? '/usr/local/share/ca-certificates',
    updateCommand: env.PORTICO_UPDATE_CA_COMMAND ?? 'update-ca-certificates',
  };
}

/** The first 12 hex digits of the root's SHA-256 fingerprint: its name in the stores. */
export function rootId(rootPem: string): string {
  return new X509Certificate(rootPem).fingerprint256.replace(/:/g, '').slice(0, 12).toLowerCase();
}

export const trustFileName = (rootPem: string): string => `portico-root-${rootId(rootPem)}.crt`;
export const nssNickname = (rootPem: string): string => `${NICKNAME} ${rootId(rootPem)}`;

export interface Installed {
  /** Where this root now is. */
  path: string;
  /** Other Portico roots the store trusts (other data directories'), so the output can say so. */
  others: string[];
}

/** Copies the root into the store and refreshes it. */
export async function installRoot(rootPath: string, store: TrustStore): Promise<Installed> {
  await access(store.dir).catch(() => {
    throw new Error(`${store.dir} does not exist: this is not a Debian-style system; add ${rootPath} to the system trust store by hand`);
  });
  const pem = await readFile(rootPath, 'utf8');
  const target = join(store.dir, trustFileName(pem));
  await copyFile(rootPath, target);
  // The same root under the old shared name: now under its own.
  if (await holds(join(store.dir, LEGACY_FILE_NAME), pem)) await rm(join(store.dir, LEGACY_FILE_NAME));
  update(store.updateCommand, []);
  const others = (await readdir(store.dir)).filter((f) => /^portico-root.*\.crt$/.test(f) && join(store.dir, f) !== target).map((f) => join(store.dir, f));
  return { path: target, others };
}

/** Removes this root from the store; false when it was not there. */
export async function removeRoot(rootPem: string, store: TrustStore): Promise<boolean> {
  const targets = [join(store.dir, trustFileName(rootPem))];
  if (await holds(join(store.dir, LEGACY_FILE_NAME), rootPem)) targets.push(join(store.dir, LEGACY_FILE_NAME));
  let removed = false;
  for (const t of targets) {
    if (!existsSync(t)) continue;
    await rm(t);
    removed = true;
  }
  if (removed) update(store.updateCommand, ['--fresh']); // --fresh also drops the hashed link to it
  return removed;
}

async function holds(path: string, pem: string): Promise<boolean> {
  try {
    return (await readFile(path, 'utf8')).trim() === pem.trim();
  } catch {
    return false;
  }
}

function update(command: string, args: string[]): void {
  const [cmd, ...rest] = command.split(' ');
  const result = spawnSync(cmd!, [...rest, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr.trim()}`);
}

/** Whose NSS database: the user `certutil` runs as (under sudo, the caller) and their home. */
export interface NssOwner {
  home: string;
  uid?: number;
  gid?: number;
}

/**
 * Adds the root to the user's NSS database (Chromium's, ~/.pki/nssdb), creating the database
 * when there is none. undefined when done; otherwise why not (certutil missing, or its error).
 */
export async function nssInstall(rootPath: string, owner: NssOwner): Promise<string | undefined> {
  const pem = await readFile(rootPath, 'utf8');
  const db = join(owner.home, '.pki', 'nssdb');
  const run = (args: string[]) => certutil(args, owner);
  const missing = run(['--version']);
  if (missing !== undefined && /not installed/.test(missing)) return missing;
  if (!existsSync(join(db, 'cert9.db'))) {
    try {
      for (const d of [join(owner.home, '.pki'), db]) {
        if (existsSync(d)) continue;
        await mkdir(d, { mode: 0o700 });
        if (owner.uid !== undefined) await chown(d, owner.uid, owner.gid ?? -1);
      }
    } catch (err) {
      return `cannot create ${db}: ${(err as Error).message}`;
    }
    const created = run(['-d', `sql:${db}`, '-N', '--empty-password']);
    if (created !== undefined) return created;
  }
  return run(['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', nssNickname(pem), '-i', rootPath]);
}

/** Removes the root from the user's NSS database; undefined when done or not there. */
export async function nssRemove(rootPem: string, owner: NssOwner): Promise<string | undefined> {
  const db = join(owner.home, '.pki', 'nssdb');
  if (!existsSync(join(db, 'cert9.db'))) return undefined;
  const listed = spawnSync('certutil', ['-d', `sql:${db}`, '-L', '-n', nssNickname(rootPem)], spawnOptions(owner));
  if (listed.error || listed.status !== 0) return undefined; // no certutil, or not there
  return certutil(['-d', `sql:${db}`, '-D', '-n', nssNickname(rootPem)], owner);
}

function spawnOptions(owner: NssOwner) {
  return {
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: owner.home },
    ...(owner.uid !== undefined ? { uid: owner.uid, gid: owner.gid } : {}),
  };
}

function certutil(args: string[], owner: NssOwner): string | undefined {
  const r = spawnSync('certutil', args, spawnOptions(owner));
  if (r.error) return (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'certutil is not installed (Debian: apt install libnss3-tools)' : r.error.message;
  if (r.status !== 0) return `certutil ${args.join(' ')} failed: ${r.stderr.toString().trim()}`;
  return undefined;
}

/** What to run by hand, when `portico trust` could not: lines that work on a fresh account. */
export function browserInstructions(rootPath: string, rootPem: string): string {
  const nick = nssNickname(rootPem);
  const db = '$HOME/.pki/nssdb';
  return [
    'Browsers keep their own trust stores (NSS). With certutil (Debian: apt install libnss3-tools):',
    `  Chromium/Chrome:  mkdir -p ${db} && { [ -e ${db}/cert9.db ] || certutil -d sql:${db} -N --empty-password; } && certutil -d sql:${db} -A -t C,, -n "${nick}" -i ${rootPath}`,
    `  Firefox:          for d in ~/.mozilla/firefox/*.default*/; do certutil -d sql:"$d" -A -t C,, -n "${nick}" -i ${rootPath}; done`,
    `To remove:          certutil -d sql:${db} -D -n "${nick}"`,
  ].join('\n');
}

