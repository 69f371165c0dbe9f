/**
 * `portico run` and the user it serves as (run-as.ts): decided once before the start, the
 * directories the server writes to made ready as that user, and checked again once it is
 * that user, so a problem is one line at start rather than a failure hours later (a local
 * intermediate renewed every few days, a large upload spilled to disk).
 */
import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { StartError } from '../errors.js';
import type { PorticoConfig } from '../config/schema.js';
import { planTls } from '../compile/tls-plan.js';
import { ensurePrivateDir, resolveDataDir } from '../tls/data-dir.js';
import { fileProblem } from '../tls/file-problem.js';
import type { ErrorLog } from '../log/error-log.js';
import { asUser, describeUser, isRoot, lookUp, type RunAs } from './run-as.js';

/**
 * The user to serve as: `user` when started as root. Root without `user`, or `user` without
 * root (nginx ignores it then too), is one warning line.
 */
export function servingUser(config: PorticoConfig, log: ErrorLog): RunAs | undefined {
  const root = isRoot();
  if (config.user === undefined) {
    if (root) log.warn("running as root and serving requests as root: set 'user' (nginx: user www-data;) to serve as an unprivileged user once the ports are bound");
    return undefined;
  }
  if (!root) {
    log.warn(`'user: ${config.user.name}' makes sense only when started as root; serving as this user (uid ${process.geteuid?.()})`);
    return undefined;
  }
  const found = lookUp(config.user);
  if (typeof found === 'string') throw new StartError('user', found);
  return found;
}

/**
 * The data directory, when a server uses the local CA or ACME: created, writable, and the
 * local CA in it created or renewed, as the serving user, so its files are that user's (a CA
 * root created by root in it could not be read after the drop).
 */
export async function prepareDataDir(config: PorticoConfig, user: RunAs | undefined, log: ErrorLog): Promise<void> {
  const sites = config.servers.flatMap((s, i) => planTls(s, `servers[${i}]`, config, []) ?? []);
  const users = sites.filter((s) => s.source.kind !== 'files');
  if (users.length === 0) return;
  const dir = resolveDataDir(config.data_dir);
  const where = config.data_dir !== undefined ? 'data_dir' : `${users[0]!.where}.tls`;
  const env = process.env;
  const from = env.PORTICO_DATA_DIR ? 'PORTICO_DATA_DIR' : env.XDG_DATA_HOME ? 'XDG_DATA_HOME' : 'HOME';
  const chosen = config.data_dir !== undefined ? '' : ` (from ${from}; set data_dir to choose another)`;
  const who = user ? ` by ${describeUser(user)}` : '';
  const work = async () => {
    try {
      await ensurePrivateDir(dir);
      await access(dir, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new StartError(where, `the data directory ${dir}${chosen} cannot be written${who}: ${fileProblem(err as NodeJS.ErrnoException)}`);
    }
    if (!users.some((s) => s.source.kind === 'internal')) return;
    try {
      // Imported only here: @peculiar/x509 is heap a server without the local CA never needs.
      const { InternalCa } = await import('../tls/internal-ca.js');
      await InternalCa.open(dir, Date.now(), log);
    } catch (err) {
      throw new StartError(where, `${(err as Error).message}${await ownerHint(err as NodeJS.ErrnoException & { file?: string })}`);
    }
  };
  await (user ? asUser(user, work) : work());
}

/** After a permission error on a file of the data dir: whose it is, and how to give it back. */
async function ownerHint(err: NodeJS.ErrnoException & { file?: string }): Promise<string> {
  if (err.file === undefined || (err.code !== 'EACCES' && err.code !== 'EPERM')) return '';
  try {
    const info = await stat(err.file);
    const uid = process.geteuid?.();
    if (info.uid === uid) return '';
    return `; it belongs to uid ${info.uid}${info.uid === 0 ? ' (root; made by an earlier run as root?)' : ''}: give the directory back with sudo chown -R ${uid}:${process.getegid?.()} ${dirname(dirname(dirname(dirname(err.file))))}`;
  } catch {
    return '';
  }
}

/**
 * Once serving as `user`: what it must be able to write is writable (else the start stops),
 * what it should be able to read again later is said in a warning.
 */
export async function checkAsUser(config: PorticoConfig, user: RunAs, baseDir: string, log: ErrorLog): Promise<void> {
  const temp = config.temp_files.dir === undefined ? tmpdir() : resolve(baseDir, config.temp_files.dir);
  try {
    await access(temp, constants.W_OK | constants.X_OK);
  } catch (err) {
    const where = config.temp_files.dir === undefined ? 'user' : 'temp_files.dir';
    throw new StartError(where, `the temp directory ${temp} (request and response bodies spill there) cannot be written by ${describeUser(user)}: ${fileProblem(err as NodeJS.ErrnoException)}`);
  }
  // Certificate files are read again when they change (a certbot renewal): as the user then.
  for (const [i, server] of config.servers.entries()) {
    const tls = server.tls;
    if (tls === undefined || typeof tls === 'string' || 'acme' in tls) continue;
    for (const [j, pair] of (Array.isArray(tls) ? tls : [tls]).entries()) {
      for (const file of [pair.cert, pair.key]) {
        try {
          await access(file, constants.R_OK);
        } catch {
          const key = `servers[${i}].tls${Array.isArray(tls) ? `[${j}]` : ''}.${file === pair.key ? 'key' : 'cert'}`;
          log.warn(`${key}: ${file} cannot be read by ${describeUser(user)}: a renewed certificate is picked up only by a restart`);
        }
      }
    }
  }
}

