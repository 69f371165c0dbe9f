/**
 * Where Portico keeps what it must remember between runs: the local CA, the ACME account
 * key, ACME certificates. Like Caddy's $XDG_DATA_HOME/caddy: the config's `data_dir`, else
 * $PORTICO_DATA_DIR, else $XDG_DATA_HOME/portico, else ~/.local/share/portico (the XDG
 * default). Directories are 0700 and files 0600: they hold private keys.
 */
import { mkdir, writeFile, rename, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

export { resolveDataDir } from '../config/data-dir.js';

export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Writes a file readable only by its owner, atomically (a crash never leaves half a key). */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
}
