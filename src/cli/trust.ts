/**
 * `portico trust`: creates the local CA if needed and installs its root in the system trust
 * store; `portico untrust` removes it. The data directory is the config's `data_dir` when a
 * config is given, else the default (PORTICO_DATA_DIR, XDG_DATA_HOME, ~/.local/share): under
 * sudo, keep the environment (`sudo -E`) or pass -c, or root's own data directory is used.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadConfigFile } from '../config/load.js';
import { resolveDataDir } from '../tls/data-dir.js';
import { InternalCa, caDirectory } from '../tls/internal-ca.js';
import { silentLog } from '../log/error-log.js';
import { browserInstructions, installRoot, removeRoot, systemTrustStore } from '../tls/trust-store.js';

async function dataDir(file: string | undefined): Promise<string> {
  if (file === undefined) return resolveDataDir(undefined);
  const { config } = await loadConfigFile(file);
  return resolveDataDir(config.data_dir);
}

export async function trust(file: string | undefined): Promise<number> {
  const dir = await dataDir(file);
  await InternalCa.open(dir, Date.now(), silentLog());
  const rootPath = join(caDirectory(dir), 'root.crt');
  try {
    const installed = await installRoot(rootPath, systemTrustStore());
    process.stdout.write(`portico: installed ${rootPath}\n  as ${installed} in the system trust store\n\n${browserInstructions(rootPath)}\n`);
    return 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'EACCES' || e.code === 'EPERM' ? ' (run it as root: sudo -E portico trust, so the same data directory is used)' : '';
    process.stderr.write(`portico: cannot install the root CA: ${e.message}${hint}\n\n${browserInstructions(rootPath)}\n`);
    return 1;
  }
}

export async function untrust(file: string | undefined): Promise<number> {
  const dir = await dataDir(file);
  try {
    const removed = await removeRoot(systemTrustStore());
    process.stdout.write(removed ? 'portico: removed the root CA from the system trust store\n' : 'portico: the root CA was not in the system trust store\n');
    const rootPath = join(caDirectory(dir), 'root.crt');
    if (existsSync(rootPath)) process.stdout.write(`Browsers: certutil -d sql:$HOME/.pki/nssdb -D -n "Portico Local CA"\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`portico: cannot remove the root CA: ${(err as Error).message}\n`);
    return 1;
  }
}
