/**
 * Installing the local root CA where this machine's programs look for trusted roots. Debian and
 * Ubuntu: a file in /usr/local/share/ca-certificates and `update-ca-certificates` (which
 * rebuilds /etc/ssl/certs/ca-certificates.crt, read by curl, Python, Go, OpenSSL). Chromium and
 * Firefox keep their own NSS databases; certutil commands for those are printed, since a
 * browser profile belongs to its user and may be open.
 * PORTICO_TRUST_DIR and PORTICO_UPDATE_CA_COMMAND replace the directory and the command (tests,
 * other layouts).
 */
import { copyFile, rm, access } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export const TRUST_FILE_NAME = 'portico-root.crt';

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

/** Copies the root into the store and refreshes it; returns the installed path. */
export async function installRoot(rootPath: string, store: TrustStore): Promise<string> {
  await access(store.dir).catch(() => {
    throw new Error(`${store.dir} does not exist: this is not a Debian-style system; add ${rootPath} to the system trust store by hand`);
  });
  const target = join(store.dir, TRUST_FILE_NAME);
  await copyFile(rootPath, target);
  update(store.updateCommand, []);
  return target;
}

/** Removes the root from the store; false when it was not there. */
export async function removeRoot(store: TrustStore): Promise<boolean> {
  const target = join(store.dir, TRUST_FILE_NAME);
  try {
    await access(target);
  } catch {
    return false;
  }
  await rm(target);
  update(store.updateCommand, ['--fresh']); // --fresh also drops the hashed link to it
  return true;
}

function update(command: string, args: string[]): void {
  const [cmd, ...rest] = command.split(' ');
  const result = spawnSync(cmd!, [...rest, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr.trim()}`);
}

/** What to run so Chromium (and Firefox profiles) trust the root too. */
export function browserInstructions(rootPath: string): string {
  return [
    'Browsers keep their own trust stores (NSS). With certutil (Debian: apt install libnss3-tools):',
    `  Chromium/Chrome:  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n "Portico Local CA" -i ${rootPath}`,
    `  Firefox:          for d in ~/.mozilla/firefox/*.default*/; do certutil -d sql:"$d" -A -t C,, -n "Portico Local CA" -i ${rootPath}; done`,
    'To remove:          certutil -d sql:$HOME/.pki/nssdb -D -n "Portico Local CA"',
  ].join('\n');
}
