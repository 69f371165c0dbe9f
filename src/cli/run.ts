/**
 * `portico run -c FILE`: load, compile, listen; SIGINT/SIGTERM stop gracefully. With
 * `workers` > 1 this process becomes the supervisor and the workers serve.
 */
import { loadConfigFile } from '../config/load.js';
import { startServer } from '../server/server.js';
import { ErrorLog } from '../log/error-log.js';
import { isPrimary, superviseWorkers, workerCount } from '../server/workers.js';

function announce(file: string, host: string, port: number): void {
  const shown = host === '::' || host === '0.0.0.0' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  process.stderr.write(`portico: serving http://${shown}:${port}/ (${file})\n`);
}

/** Resolves with -1: the process keeps running until a signal ends it. */
export async function run(file: string): Promise<number> {
  const { config, warnings } = await loadConfigFile(file);
  const log = new ErrorLog(config.log_level);
  const workers = workerCount(config.workers);
  if (workers > 1 && isPrimary()) {
    for (const w of warnings) log.warn(w);
    const supervisor = superviseWorkers(workers, log, (host, port) => announce(file, host, port));
    log.info('started workers', { workers });
    onStopSignal((signal) => {
      log.info('stopping', { signal, shutdown_timeout_ms: config.shutdown_timeout });
      void supervisor.stop(signal).then(() => {
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
  if (!worker) for (const a of server.addresses) announce(file, a.host, a.port);
  onStopSignal((signal) => {
    if (!worker) log.info('stopping', { signal, shutdown_timeout_ms: config.shutdown_timeout });
    void server.close().then(() => process.exit(0));
  });
  return -1;
}

function onStopSignal(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const once = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  process.on('SIGINT', () => once('SIGINT'));
  process.on('SIGTERM', () => once('SIGTERM'));
}
