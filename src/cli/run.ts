/**
 * `portico run -c FILE`: load, compile, listen; SIGINT/SIGTERM stop gracefully, SIGHUP
 * reloads the config, SIGUSR1 reopens the log files. With `workers` > 1 this process becomes
 * the supervisor and the workers serve.
 */
import { onReopenSignal } from '../server/reopen-signal.js';
import { loadConfigFile, type LoadOptions } from '../config/load.js';
import { startServer, type PorticoServer } from '../server/server.js';
import { ErrorLog } from '../log/error-log.js';
import { isPrimary, superviseWorkers, workerCount } from '../server/workers.js';
import { compile } from '../compile/compile.js';
import { ConfigError } from '../errors.js';
import { InternalCa } from '../tls/internal-ca.js';
import { resolveDataDir } from '../tls/data-dir.js';
import { hangupHandled, stopWithLauncher } from './malloc-relaunch.js';
import type { PorticoConfig } from '../config/schema.js';
import { writePidFile, type PidFile } from './pid-file.js';

/**
 * Before forking workers: the ports that speak TLS (for the announcement), the local CA created
 * once rather than raced by every worker, and a refusal of ACME, whose orders each worker
 * would place on its own (not supported with workers yet).
 */
async function prepareTls(config: PorticoConfig, log: ErrorLog, file: string): Promise<Set<number>> {
  const compiled = compile(config, { log }, file);
  compiled.pools.destroy();
  const acme = compiled.tlsSites.find((s) => s.source.kind === 'acme');
  if (acme) throw new ConfigError([`${file}: ${acme.where}.tls: ACME with workers > 1 is not supported yet; use workers: 1 or certificate files`]);
  if (compiled.tlsSites.some((s) => s.source.kind === 'internal')) await InternalCa.open(resolveDataDir(config.data_dir), Date.now(), log);
  return new Set(compiled.listeners.filter((l) => l.tls).map((l) => l.address.port));
}

function announce(file: string, host: string, port: number, tls: boolean): void {
  const shown = host === '::' || host === '0.0.0.0' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  process.stderr.write(`portico: serving ${tls ? 'https' : 'http'}://${shown}:${port}/ (${file})\n`);
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
  const { config, warnings } = await loadConfigFile(file, options);
  const log = new ErrorLog(config.log_level);
  const workers = workerCount(config.workers);
  if (workers > 1 && isPrimary()) {
    for (const w of warnings) log.warn(w);
    // Workers share the local CA on disk: create it once, here, before any of them needs it.
    const tlsPorts = await prepareTls(config, log, file);
    let pidFile: PidFile | undefined;
    const supervisor = superviseWorkers(workers, log, (host, port) => {
      announce(file, host, port, tlsPorts.has(port));
      if (config.pid_file !== undefined) pidFile ??= writePidFile(config.pid_file);
    });
    log.info('started workers', { workers });
    // Each worker reads the file again and reports for itself; workers forked after a SIGHUP
    // that came while starting read the file as it is now anyway.
    onHangup = () => supervisor.signal('SIGHUP');
    // The workers own the log files (this process logs to stderr only).
    onReopenSignal(() => supervisor.signal('SIGUSR1'));
    onStopSignal((signal) => {
      log.info('stopping', { signal, shutdown_timeout_ms: config.shutdown_timeout });
      void supervisor.stop(signal).then(() => {
        pidFile?.remove();
        log.flush();
        process.exit(0);
      });
    });
    return -1;
  }
  const worker = workers > 1;
  if (!worker) for (const w of warnings) log.warn(w);
  // Last line of defence: a bug must cost one request, never the whole front door.
  process.on('uncaughtException', (err) => log.error('uncaught exception', { err: err.stack }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err: (err as Error)?.stack ?? String(err) }));
  const server = await startServer(config, { errorLog: log, file });
  if (!worker) for (const a of server.addresses) announce(file, a.host, a.port, a.tls);
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
