/**
 * The error log: JSON lines on stderr through pino (like Caddy's default), one line per
 * failure naming route, upstream and cause.
 */
import { pino, type Logger } from 'pino';
import type { Exchange } from '../http/exchange.js';
import { requestIdOf } from '../http/request-id.js';
import { ConfigError } from '../errors.js';
import { cannotOpen } from './log-stream.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export class ErrorLog {
  readonly logger: Logger;
  /** Set when the log goes to a file (reopen() has something to do). */
  readonly #file: ReturnType<typeof pino.destination> | undefined;

  constructor(level: LogLevel = 'info', destination: number | string = 2) {
    const dest = pino.destination({ dest: destination, sync: false, maxWrite: 4096, mkdir: typeof destination === 'string' });
    // A file that fails later (a full disk, a rotation into a directory that is gone) costs
    // lines, never the server.
    dest.on('error', () => {});
    if (typeof destination === 'string') this.#file = dest;
    this.logger = pino(
      {
        level,
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      dest,
    );
  }

  /** SIGUSR1: a log file is opened again by its path (see AccessLog.reopen); stderr needs nothing. */
  reopen(): void {
    // A path that cannot be opened now: keep writing to the file open until now (log-stream.ts).
    const path = (this.#file as { file?: string } | undefined)?.file;
    if (path === undefined || cannotOpen(path) !== undefined) return;
    try {
      this.#file?.reopen();
    } catch {
      // closed already
    }
  }

  upstreamFailure(ex: Exchange, cause: string, status: number): void {
    this.logger.error(
      {
        route: ex.routeName,
        upstream: ex.upstream,
        status,
        method: ex.req.method,
        uri: ex.req.url,
        client: ex.clientIp,
        request_id: requestIdOf(ex),
      },
      `upstream failed: ${cause}`,
    );
  }

  info(msg: string, fields?: object): void {
    this.logger.info(fields ?? {}, msg);
  }

  warn(msg: string, fields?: object): void {
    this.logger.warn(fields ?? {}, msg);
  }

  error(msg: string, fields?: object): void {
    this.logger.error(fields ?? {}, msg);
  }

  debug(msg: string, fields?: object): void {
    if (this.logger.isLevelEnabled('debug')) this.logger.debug(fields ?? {}, msg);
  }

  flush(): void {
    try {
      this.logger.flush();
    } catch {
      // nothing to do when stderr is gone
    }
  }
}

/**
 * The error log a config asks for (`error_log`: stderr or a file, at `log_level`). A file that
 * cannot be opened now stops the start with a ConfigError, as nginx refuses to start.
 */
export function errorLogFor(config: { log_level: LogLevel; error_log: string }, file = 'config'): ErrorLog {
  if (config.error_log === 'stderr') return new ErrorLog(config.log_level);
  const why = cannotOpen(config.error_log);
  if (why !== undefined) throw new ConfigError([`${file}: error_log: cannot open ${config.error_log}: ${why}`]);
  return new ErrorLog(config.log_level, config.error_log);
}

/** A logger that drops everything (tests and embedding). */
export function silentLog(): ErrorLog {
  const log = new ErrorLog('error');
  log.logger.level = 'silent';
  return log;
}
