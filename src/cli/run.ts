/**
 * `portico run -c FILE`: load, compile, listen; SIGINT/SIGTERM stop gracefully, SIGHUP
 * reloads the config, SIGUSR1 reopens the log files. With `workers` > 1 this process becomes
 * the supervisor and the workers serve. Started as root with `user`, whoever serves drops to
 * that user once bound (serve-as.ts); a start that fails is one line at its config line
 * (start-failure.ts).
 */
import { onReopenSignal } from '../server/reopen-signal.js';
import { loadConfigFile, type LoadedConfig, type LoadOptions } from '../config/load.js';
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
import { hangupHandled, stopWithLauncher, underLauncher } from './malloc-relaunch.js';
import type { PorticoConfig } from '../config/schema.js';
import { pidFilePath, writePidFile, type PidFile } from './pid-file.js';
import { answerHandover, askUpgrade, closeHandle, inheritSockets, onDrainRequest, tellServing } from '../server/handover.js';
import { startAdmin } from '../admin/listener.js';
import { clusterBackend } from '../admin/cluster.js';
import { porticoVersion } from '../admin/api.js';
import type { ListenerInfo } from '../admin/backend.js';
import { ADMIN_SOCKET_KEY } from '../server/server.js';

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

/** The listen keys of a config ("*:8080"), as the workers will bind them. */
function listenKeys(config: PorticoConfig, file: string): Set<string> {
  const compiled = compile(config, { log: silentLog() }, file);
  compiled.pools.destroy();
  compiled.groups.close();
  return new Set(compiled.listeners.map((l) => l.key));
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
  // SIGUSR2 (an upgrade in place) is the launcher's; sent here, it is passed on (or explained).
  process.on('SIGUSR2', upgradeSignal);
  hangupHandled();
  const loaded = await loadConfigFile(file, options);
  const { config, warnings } = loaded;
  const log = errorLogFor(config, file);
  const workers = workerCount(config.workers);
  // A worker: the primary said everything once already. (Decided by what this process is, not
  // by the file: a worker started after an edit reads `workers` as it is now.)
  const worker = !isPrimary();
  const primary = !worker && workers > 1;
  // An upgrade in place: the sockets of the process being replaced (handover.ts).
  const inherited = worker ? undefined : await inheritSockets().catch((err: Error) => {
    throw new ConfigError([`${file}: could not take over the listening sockets of the running server: ${err.message}`]);
  });
  let server: PorticoServer;
  try {
    if (!worker) for (const w of warnings) log.warn(w);
    const user = servingUser(config, worker ? silentLog() : log);
    if (!worker) await prepareDataDir(config, user, log);
    const names = worker ? new Map<string, string[]>() : tlsNamesByAddress(config);
    if (primary) {
      const tlsPorts = prepareTls(config, log, file);
      const pidFile = new PidFileHolder(log);
      let current = config;
      let count = workers;
      // One admin listener for all workers, here (src/admin/cluster.ts), bound before any
      // worker is forked: an admin address that cannot be bound stops the start cleanly.
      const listeners: ListenerInfo[] = [];
      const startedAt = Date.now();
      const adminSocket = take(inherited, ADMIN_SOCKET_KEY);
      const admin = await startAdmin(
        config.admin,
        clusterBackend(() => ({ version: porticoVersion(), configFile: file, loadedAt: startedAt, listeners, workers: count })),
        log,
        file,
        adminSocket,
      );
      const supervisor = superviseWorkers(
        workers,
        log,
        (host, port) => {
          listeners.push({ address: host, port, tls: tlsPorts.has(port) });
          announce(file, host, port, tlsPorts.has(port), names);
          pidFile.set(pidFilePath(file, current), true);
        },
        (problems) => {
          process.stderr.write(problems.join('\n') + '\n');
          void admin?.close();
          void supervisor.stop('SIGTERM').then(() => process.exit(1));
        },
        { inherited },
      );
      log.info('started workers', { workers, ...(user ? { user: user.name } : {}) });
      // Each worker reads the file again and reports for itself; this process reads it for
      // what is its own (how many workers, the pid file). Workers forked after a SIGHUP that
      // came while starting read the file as it is now anyway.
      onHangup = () =>
        void (async () => {
          const next = await loadConfigFile(file, options).catch(() => undefined);
          if (next !== undefined) {
            const n = workerCount(next.config.workers);
            if (n === 1 && underLauncher() && askUpgrade()) log.info('workers: 1: a single server process takes over (upgrade in place)');
            else supervisor.resize((count = Math.max(n, 1)));
            supervisor.keepInherited(listenKeys(next.config, file));
            pidFile.set(pidFilePath(file, next.config), true);
            current = next.config;
          }
          supervisor.signal('SIGHUP');
        })();
      // The workers own the log files (this process logs to stderr only).
      onReopenSignal(() => supervisor.signal('SIGUSR1'));
      // The workers' sockets, copies from one of them (closed once sent), and the admin socket
      // (this process's own: it goes on listening until the drain).
      answerHandover(async () => {
        const own = admin?.socket();
        return [...(await supervisor.sockets()), ...(own ? [{ key: ADMIN_SOCKET_KEY, socket: own, keep: true }] : [])];
      }, true);
      void supervisor.serving.then(() => tellServing());
      onDrainRequest(() => {
        log.info('draining: the new server process serves', { shutdown_timeout_ms: current.shutdown_timeout });
        // The pid file names the launcher, which goes on: it stays.
        void admin?.close(true);
        void supervisor.drain().then(() => process.exit(0));
      });
      onStopSignal((signal) => {
        log.info('stopping', { signal, shutdown_timeout_ms: current.shutdown_timeout });
        void admin?.close();
        void supervisor.stop(signal).then(() => {
          pidFile.remove();
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
    // A worker of an upgraded primary takes the inherited sockets from it.
    const sockets = worker ? await inheritSockets() : inherited;
    server = await startServer(config, { errorLog: log, file, beforeServing, load: options, inherited: (key) => take(sockets, key) });
    for (const socket of sockets?.values() ?? []) closeHandle(socket); // addresses the config no longer has
    if (!worker) for (const a of server.addresses) announce(file, a.host, a.port, a.tls, names, a.key);
  } catch (err) {
    const failure = startFailure(err, loaded);
    if (!worker) throw failure;
    reportStartFailure(failure.problems);
    return -1;
  }
  const pidFile = new PidFileHolder(log);
  if (!worker) pidFile.set(pidFilePath(file, config), true);
  const state = { config, workers };
  onHangup = () => void reload(server, file, options, log, state, worker ? undefined : pidFile);
  // logrotate renamed the files: new lines go to fresh ones at the configured paths. One that
  // came while starting needs nothing: the files were opened at those paths just now.
  onReopenSignal(() => {
    server.reopenLogs();
    log.info('log files reopened', { pid: process.pid });
  });
  if (hangupWhileStarting) onHangup();
  answerHandover(() => server.sockets());
  onDrainRequest(() => {
    if (!worker) log.info('draining: the new server process serves', { shutdown_timeout_ms: state.config.shutdown_timeout });
    // The pid file names the launcher, which goes on (or, in a worker, there is none): it stays.
    void server.drain().then(() => process.exit(0));
  });
  tellServing(server.addresses);
  onStopSignal((signal) => {
    if (!worker) log.info('stopping', { signal, shutdown_timeout_ms: state.config.shutdown_timeout });
    void server.close().then(() => {
      pidFile.remove();
      process.exit(0);
    });
  }, worker);
  return -1;
}

/** Takes the inherited socket of `key` out of `sockets` (what is left is closed after the start). */
function take(sockets: Map<string, object> | undefined, key: string): object | undefined {
  const socket = sockets?.get(key);
  sockets?.delete(key);
  return socket;
}

/** SIGUSR2 sent to the server rather than the launcher: the launcher is asked, if there is one. */
function upgradeSignal(): void {
  if (underLauncher() && askUpgrade()) return;
  process.stderr.write(
    'portico: an upgrade in place needs the launcher `portico run` starts on Linux (skipped when MALLOC_TRIM_THRESHOLD_ is set); not upgraded\n',
  );
}

/**
 * The pid file, written once serving and moved when a reload names another path. An explicit
 * `pid_file` that cannot be written stops the start, as nginx's does; the default one is a
 * warning (nothing asked for it).
 */
class PidFileHolder {
  #file: PidFile | undefined;

  constructor(readonly log: ErrorLog) {}

  set(where: { path: string; chosen: boolean }, atStart: boolean): void {
    if (this.#file?.path === where.path) return;
    let next: PidFile;
    try {
      next = writePidFile(where.path);
    } catch (err) {
      const problem = `cannot write the pid file ${where.path}: ${(err as Error).message}`;
      if (where.chosen && atStart && this.#file === undefined) throw new ConfigError([`pid_file: ${problem}`]);
      this.log.warn(where.chosen ? problem : `${problem}; \`portico reload\` will not find this server (set pid_file)`);
      return;
    }
    this.#file?.remove();
    this.#file = next;
  }

  remove(): void {
    this.#file?.remove();
  }
}

/**
 * SIGHUP (nginx -s reload, caddy reload): read the file again and serve it if it is valid and
 * within what a reload may change; otherwise log every problem, with file and line, and keep
 * serving the running config.
 */
async function reload(
  server: PorticoServer,
  file: string,
  options: LoadOptions,
  log: ErrorLog,
  state: { config: PorticoConfig; workers: number },
  pidFile: PidFileHolder | undefined,
): Promise<void> {
  let loaded: LoadedConfig | undefined;
  try {
    loaded = await loadConfigFile(file, options);
    for (const w of loaded.warnings) log.warn(w);
    const workers = workerCount(loaded.config.workers);
    // A single server asked for workers (or a worker's file for none): the process layout
    // changes, which an upgrade in place does; the workers' primary resizes itself.
    if (pidFile !== undefined && workers !== state.workers) {
      if (!underLauncher() || !askUpgrade()) throw new ConfigError([`${file}: workers changed, which needs a new server process: the launcher that runs upgrades is not there (MALLOC_TRIM_THRESHOLD_ set, or not Linux); restart Portico`]);
      log.info('workers changed: a new server process takes over (upgrade in place)', { from: state.workers, to: workers });
      return;
    }
    await server.reload(loaded.config);
    pidFile?.set(pidFilePath(file, loaded.config), false);
    state.config = loaded.config;
    log.info('config reloaded', { file });
  } catch (err) {
    // An address in use or a certificate missing is named at its config line, as at start.
    const failure = loaded !== undefined && !(err instanceof ConfigError) ? startFailure(err, loaded) : err;
    const problems = failure instanceof ConfigError ? failure.problems : [(failure as Error).stack ?? String(failure)];
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
