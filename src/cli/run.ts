/** `portico run -c FILE`: load, compile, listen; SIGINT/SIGTERM stop gracefully. */
import { loadConfigFile } from '../config/load.js';
import { startServer } from '../server/server.js';
import { ErrorLog } from '../log/error-log.js';

/** Resolves with -1: the process keeps running until a signal ends it. */
export async function run(file: string): Promise<number> {
  const { config, warnings } = await loadConfigFile(file);
  const log = new ErrorLog(config.log_level);
  for (const w of warnings) log.warn(w);
  // Last line of defence: a bug must cost one request, never the whole front door.
  process.on('uncaughtException', (err) => log.error('uncaught exception', { err: err.stack }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err: (err as Error)?.stack ?? String(err) }));
  const server = await startServer(config, { errorLog: log, file });
  for (const a of server.addresses) {
    const host = a.host === '::' || a.host === '0.0.0.0' ? 'localhost' : a.host.includes(':') ? `[${a.host}]` : a.host;
    process.stderr.write(`portico: serving http://${host}:${a.port}/ (${file})\n`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal, shutdown_timeout_ms: config.shutdown_timeout });
    server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return -1;
}
