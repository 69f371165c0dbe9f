/**
 * `portico trust`: creates the local CA if needed and installs its root in the system trust
 * store and in the user's browser store (NSS); `portico untrust` removes it. The data directory
 * is the config's `data_dir` when a config is given, else the default (PORTICO_DATA_DIR,
 * XDG_DATA_HOME, ~/.local/share/portico).
 *
 * Installing in the system store needs root, so it is usually run with sudo, while the CA
 * belongs to whoever runs `portico run` with that data directory. Under sudo the default data
 * directory is the caller's (not root's), the CA is created as the owner of the data directory
 * (its nearest existing part), and the caller's NSS database is the one filled: a root-owned CA
 * in a user's data directory would stop that user's `portico run` (such files, left by an
 * earlier version, are given back to the directory's owner).
 */
import { dirname, join } from 'node:path';
import { chown, readdir, readFile, stat } from 'node:fs/promises';
import { loadConfigFile } from '../config/load.js';
import { resolveDataDir } from '../tls/data-dir.js';
import { InternalCa, caDirectory } from '../tls/internal-ca.js';
import { silentLog } from '../log/error-log.js';
import { browserInstructions, installRoot, nssInstall, nssRemove, removeRoot, systemTrustStore, type NssOwner } from '../tls/trust-store.js';
import { asUser, isRoot, sudoCaller, userById, type RunAs } from './run-as.js';

async function dataDir(file: string | undefined, caller: RunAs | undefined): Promise<string> {
  // sudo's HOME is root's (or, with -E, the caller's): the caller's either way.
  const env = caller ? { ...process.env, HOME: caller.home } : process.env;
  if (file === undefined) return resolveDataDir(undefined, env);
  const { config } = await loadConfigFile(file);
  return resolveDataDir(config.data_dir, env);
}

export async function trust(file: string | undefined): Promise<number> {
  const caller = sudoCaller();
  const dir = await dataDir(file, caller);
  const out: string[] = [];
  const ca = isRoot() ? await dirOwner(dir) : undefined;
  if (ca) {
    out.push(`portico: the local CA in ${dir} is ${ca.name}'s`);
    const given = await giveBack(dir, ca);
    if (given > 0) out.push(`portico: ${given} file(s) of it belonged to root (an earlier \`sudo portico trust\`); they are ${ca.name}'s again`);
  }
  const open = () => InternalCa.open(dir, Date.now(), silentLog());
  await (ca ? asUser(ca, open) : open());
  const rootPath = join(caDirectory(dir), 'root.crt');
  const rootPem = await readFile(rootPath, 'utf8');
  const owner: NssOwner = caller ? { home: caller.home, uid: caller.uid, gid: caller.gid } : { home: process.env.HOME ?? '' };

  // The browser store first: it is the user's own, and needs no root.
  const nss = owner.home ? await nssInstall(rootPath, owner) : 'no HOME';
  if (nss === undefined) out.push(`portico: added to ${join(owner.home, '.pki/nssdb')} (Chromium, Chrome)`);
  let code = 0;
  try {
    const installed = await installRoot(rootPath, systemTrustStore());
    out.push(`portico: installed ${rootPath}\n  as ${installed.path} in the system trust store`);
    for (const other of installed.others) out.push(`portico: also trusted, from another data directory: ${other} (\`portico untrust\` with that data directory removes it)`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'EACCES' || e.code === 'EPERM' ? ' (run it as root: sudo portico trust; the CA stays yours)' : '';
    out.push(`portico: cannot install the root CA in the system trust store: ${e.message}${hint}`);
    code = 1;
  }
  const lines = out.join('\n') + '\n';
  const rest = nss === undefined ? '' : `\nportico: the browser store was not changed: ${nss}\n${browserInstructions(rootPath, rootPem)}\n`;
  (code === 0 ? process.stdout : process.stderr).write(lines + rest);
  return code;
}

export async function untrust(file: string | undefined): Promise<number> {
  const caller = sudoCaller();
  const dir = await dataDir(file, caller);
  const rootPath = join(caDirectory(dir), 'root.crt');
  let rootPem: string;
  try {
    rootPem = await readFile(rootPath, 'utf8');
  } catch (err) {
    process.stderr.write(`portico: there is no local CA in ${dir} (${(err as NodeJS.ErrnoException).code}); nothing to remove\n`);
    return 1;
  }
  const owner: NssOwner = caller ? { home: caller.home, uid: caller.uid, gid: caller.gid } : { home: process.env.HOME ?? '' };
  const nss = owner.home ? await nssRemove(rootPem, owner) : undefined;
  if (nss !== undefined) process.stderr.write(`portico: ${nss}\n`);
  try {
    const removed = await removeRoot(rootPem, systemTrustStore());
    process.stdout.write(removed ? 'portico: removed the root CA from the system trust store\n' : 'portico: the root CA was not in the system trust store\n');
    return 0;
  } catch (err) {
    process.stderr.write(`portico: cannot remove the root CA: ${(err as Error).message}\n`);
    return 1;
  }
}

/**
 * Whose the data directory is: the first owner other than root on its path upward (a
 * directory an earlier `sudo portico trust` made as root in ~/.local/share is still the
 * user's); undefined when the whole path is root's.
 */
async function dirOwner(dir: string): Promise<RunAs | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const { uid } = await stat(d);
      if (uid !== 0) return userById(uid);
    } catch {
      // not there yet
    }
    if (d === dirname(d)) return undefined;
  }
}

/** Files of the CA directory (and the directories down to it) owned by root: chowned to the data directory's owner. */
async function giveBack(dir: string, owner: RunAs): Promise<number> {
  const ca = caDirectory(dir);
  const paths = [dir, join(dir, 'pki'), join(dir, 'pki', 'authorities'), ca];
  try {
    for (const name of await readdir(ca)) paths.push(join(ca, name));
  } catch {
    // no CA yet
  }
  let given = 0;
  for (const p of paths) {
    try {
      if ((await stat(p)).uid !== 0) continue;
      await chown(p, owner.uid, owner.gid);
      given++;
    } catch {
      // not there
    }
  }
  return given;
}
