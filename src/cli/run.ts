/**
 * `portico run -c FILE`: load, compile, listen; SIGINT/SIGTERM stop gracefully, SIGHUP
 * reloads the config, SIGUSR1 reopens the log files. With `workers` > 1 this process becomes
 * the supervisor and the workers serve. Started as root with `user`, whoever serves drops to
 * that user once bound (serve-as.ts); a start that fails is one line at its config line
 * (start-failure.ts).
 */
import { onReopenSignal } from '../server/reopen-signal.js';
import { loadConfigFile, type LoadOptions } from '../config/load.js';
import { startServer, type PorticoServer } from '../server/server.js';
import { ErrorLog, errorLogFor, silentLog } from '../log/error-log.js';
import { isPrimary, reportStartFailure, superviseWorkers, workerCount } from '../server/workers.js';
import { compile } from '../compile/compile.js';
import { ConfigError } from '../errors.js';
import { dirname, resolve } from 'node:path';
import { servingUser, prepareDataDir, checkAsUser } from './serve-as.js';
import { dropTo } from './run-as.js';
import { startFailure } from './start-failure.js';
import { bannerUrl, tlsNamesByAddress } from './banner.js';
import { hangupHandled, stopWithLauncher } from './malloc-relaunch.js';
import type { PorticoConfig } from '../config/schema.js';
import { writePidFile, type PidFile } from './pid-file.js';
import { startAdmin } from '../admin/listener.js';
import { clusterBackend } from '../admin/cluster.js';
import { porticoVersion } from '../admin/api.js';
import type { ListenerInfo } from '../admin/backend.js';

/**
 * Before forking workers: the ports that speak TLS (for the announcement) and a refusal of
 * ACME, whose orders each worker would place on its own (not supported with workers yet). The
 * local CA was created once, before (prepareDataDir), rather than raced by every worker.
 */
function prepareTls(config: PorticoConfig, log: ErrorLog, file: string): Set<number> {
  const compiled = compile(config, { log }, file);
  compiled.pools.destroy();
  compiled.groups.close();
  const acme = compiled.tlsSites.find((s) => s.source.kind === 'acme');
  if (acme) throw new ConfigError([`${file}: ${acme.where}.tls: ACME with workers > 1 is not supported yet; use workers: 1 or certificate files`]);
  return new Set(compiled.listeners.filter((l) => l.tls).map((l) => l.address.port));
}

/** `key`: the listen address as configured ("*:443"), whose names are looked up; workers know only what they bound. */
function announce(file: string, host: string, port: number, tls: boolean, names: Map<string, string[]>, key?: string): void {
  const covered = names.get(key ?? `${host}:${port}`) ?? names.get(`*:${port}`);
  process.stderr.write(`portico: serving ${bannerUrl(host, port, tls, covered)} (${file})\n`);
}

/** Resolves with -1: the process keeps running until a signal ends it. */
export async function run(file: string, options: LoadOptions = {}): Promise<number> {
  // SIGHUP's default would kill the process: take it from the first moment, and act on one that
  // arrives while starting once there is something to reload.
  let onHangup: (() => void) | undefined;
  let hangupWhileStarting = false;
  process.on('SIGHUP', () => (onHangup ? onHangup() : (hangupWhileStarting = true)));
  // SIGQUIT (nginx's graceful stop) would dump core by default: while starting it just ends the process.
  process.on('SIGQUIT', quitWhileStarting);
  hangupHandled();
  const loaded = await loadConfigFile(file, options);
  const { config, warnings } = loaded;
  const log = errorLogFor(config, file);
  const workers = workerCount(config.workers);
  const primary = workers > 1 && isPrimary();
  // A worker: the primary said everything once already.
  const worker = workers > 1 && !primary;
  let server: PorticoServer;
  try {
    if (!worker) for (const w of warnings) log.warn(w);
    const user = servingUser(config, worker ? silentLog() : log);
    if (!worker) await prepareDataDir(config, user, log);
    const names = worker ? new Map<string, string[]>() : tlsNamesByAddress(config);
    if (primary) {
      const tlsPorts = prepareTls(config, log, file);
      // One admin listener for all workers, here (src/admin/cluster.ts), bound before any
      // worker is forked: an admin address that cannot be bound stops the start cleanly.
      const listeners: ListenerInfo[] = [];
      const startedAt = Date.now();
      const admin = await startAdmin(config.admin, clusterBackend(() => ({ version: porticoVersion(), configFile: file, loadedAt: startedAt, listeners, workers })), log, file);
      let pidFile: PidFile | undefined;
      const supervisor = superviseWorkers(
        workers,
        log,
        (host, port) => {
          listeners.push({ address: host, port, tls: tlsPorts.has(port) });
          announce(file, host, port, tlsPorts.has(port), names);
          if (config.pid_file !== undefined) pidFile ??= writePidFile(config.pid_file);
        },
        (problems) => {
          process.stderr.write(problems.join('\n') + '\n');
          void admin?.close();
          void supervisor.stop('SIGTERM').then(() => process.exit(1));
        },
      );
      log.info('started workers', { workers, ...(user ? { user: user.name } : {}) });
      // Each worker reads the file again and reports for itself; workers forked after a SIGHUP
      // that came while starting read the file as it is now anyway.
      onHangup = () => supervisor.signal('SIGHUP');
      // The workers own the log files (this process logs to stderr only).
      onReopenSignal(() => supervisor.signal('SIGUSR1'));
      onStopSignal((signal) => {
        log.info('stopping', { signal, shutdown_timeout_ms: config.shutdown_timeout });
        void admin?.close();
        void supervisor.stop(signal).then(() => {
          pidFile?.remove();
          log.flush();
          process.exit(0);
        });
      });
      return -1;
    }
    // Last line of defence: a bug must cost one request, never the whole front door.
    process.on('uncaughtException', (err) => log.error('uncaught exception', { err: err.stack }));
    process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err: (err as Error)?.stack ?? String(err) }));
    // Addresses bound and certificates read as root; not one request served before the drop.
    const beforeServing = user
      ? async () => {
          dropTo(user);
          await checkAsUser(config, user, dirname(resolve(file)), log);
          if (!worker) log.info('serving as an unprivileged user', { user: user.name, uid: user.uid, gid: user.gid });
        }
      : undefined;
    server = await startServer(config, { errorLog: log, file, beforeServing, load: options });
    if (!worker) for (const a of server.addresses) announce(file, a.host, a.port, a.tls, names, a.key);
  } catch (err) {
    const failure = startFailure(err, loaded);
    if (!worker) throw failure;
    reportStartFailure(failure.problems);
    return -1;
  }
  const pidFile = !worker && config.pid_file !== undefined ? writePidFile(config.pid_file) : undefined;
  onHangup = () => void reload(server, file, options, log);
  // logrotate renamed the files: new lines go to fresh ones at the configured paths. One that
  // came while starting needs nothing: the files were opened at those paths just now.
  onReopenSignal(() => {
    server.reopenLogs();
    log.info('log files reopened', { pid: process.pid });
  });
  if (hangupWhileStarting) onHangup();
  onStopSignal((signal) => {
    if (!worker) log.info('stopping', { signal, shutdown_timeout_ms: config.shutdown_timeout });
    void server.close().then(() => {
      pidFile?.remove();
      process.exit(0);
    });
  }, worker);
  return -1;
}

/**
 * SIGHUP (nginx -s reload, caddy reload): read the file again and serve it if it is valid and
 * within what a reload may change; otherwise log every problem, with file and line, and keep
 * serving the running config.
 */
async function reload(server: PorticoServer, file: string, options: LoadOptions, log: ErrorLog): Promise<void> {
  try {
    const { config, warnings } = await loadConfigFile(file, options);
    for (const w of warnings) log.warn(w);
    server.reload(config);
    log.info('config reloaded', { file });
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [(err as Error).stack ?? String(err)];
    log.error('config not reloaded; still serving the previous one', { file, problems });
  }
}

function quitWhileStarting(): void {
  process.exit(0);
}

/**
 * SIGINT, SIGTERM and SIGQUIT (nginx's graceful stop, what `nginx -s quit` sends) stop once,
 * gracefully; so does the launcher going away (malloc-relaunch.ts), as SIGTERM.
 */
function onStopSignal(stop: (signal: NodeJS.Signals) => void, worker = false): void {
  let stopping = false;
  const once = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  process.on('SIGINT', () => once('SIGINT'));
  process.on('SIGTERM', () => once('SIGTERM'));
  process.off('SIGQUIT', quitWhileStarting);
  process.on('SIGQUIT', () => once('SIGQUIT'));
  // A worker's channel is the primary's; node's cluster already handles losing it.
  if (!worker) stopWithLauncher(() => once('SIGTERM'));
}
