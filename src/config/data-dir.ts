/**
 * Where Portico keeps what it must remember between runs (TLS keys and certificates, the
 * response cache): like Caddy's $XDG_DATA_HOME/caddy, the config's `data_dir`, else
 * $PORTICO_DATA_DIR, else $XDG_DATA_HOME/portico, else ~/.local/share/portico (the XDG default).
 * Here, below tls/ and compile/, because both need it (tls/data-dir.ts re-exports it).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveDataDir(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return resolve(configured);
  if (env.PORTICO_DATA_DIR) return resolve(env.PORTICO_DATA_DIR);
  if (env.XDG_DATA_HOME) return join(resolve(env.XDG_DATA_HOME), 'portico');
  return join(env.HOME || homedir(), '.local', 'share', 'portico');
}
