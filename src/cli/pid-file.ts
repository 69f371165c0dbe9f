/**
 * `pid_file` (nginx's `pid`, https://nginx.org/en/docs/ngx_core_module.html#pid): once
 * `portico run` serves, the pid that signals go to (the launcher's when there is one,
 * malloc-relaunch.ts) is written there, so `kill -HUP $(cat FILE)` works as with nginx and a
 * supervisor or test harness that waits for the file knows the listeners are up. nginx removes
 * the file when it exits; so does Portico, if the file still names this server.
 *
 * Without `pid_file` there is one anyway, under the data dir, named after the config file
 * (`<data dir>/run/portico.yaml-1a2b3c4d.pid`: its name, and a hash of its absolute path), so
 * `portico reload -c FILE` and `portico upgrade -c FILE` find the server started with that file
 * (nginx has one compiled-in default, /run/nginx.pid; several Portico configs run side by
 * side). A default that cannot be written is a warning, not a failed start.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { signalPid } from './malloc-relaunch.js';
import { resolveDataDir } from '../config/data-dir.js';
import type { PorticoConfig } from '../config/schema.js';

export interface PidFile {
  readonly path: string;
  remove(): void;
}

export function writePidFile(path: string): PidFile {
  const pid = String(signalPid());
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${pid}\n`);
  return {
    path,
    remove() {
      try {
        if (readFileSync(path, 'utf8').trim() === pid) unlinkSync(path);
      } catch {
        // gone already
      }
    },
  };
}

/** Where the pid of the server started with `configFile` is: `pid_file`, else the default. */
export function pidFilePath(configFile: string, config: Pick<PorticoConfig, 'pid_file' | 'data_dir'>): { path: string; chosen: boolean } {
  if (config.pid_file !== undefined) return { path: resolve(config.pid_file), chosen: true };
  const abs = resolve(configFile);
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 8);
  return { path: join(resolveDataDir(config.data_dir), 'run', `${basename(abs)}-${hash}.pid`), chosen: false };
}

/** The pid in a pid file, or why there is none to signal. */
export function readPidFile(path: string): number | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `no pid file at ${path}: is Portico running with this config?` : `cannot read ${path}: ${(err as Error).message}`;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return `${path} does not hold a pid`;
  return pid;
}
