/**
 * One log destination (stdout, stderr or a file) through sonic-boom (pino.destination): lines
 * are batched while a write is in flight, and optionally held until `buffer` bytes wait or
 * `flush` passes (nginx's buffer= and flush=). A destination that fails (a full disk, a file
 * that cannot be opened again after logrotate) never stops a request: its error is counted,
 * at most MAX_BACKLOG bytes wait for it, and lines beyond that are dropped and counted
 * (portico_access_log_errors_total, portico_access_log_dropped_total).
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pino } from 'pino';
import { stats } from '../metrics/stats.js';

type Destination = ReturnType<typeof pino.destination>;

export interface StreamOptions {
  /** Bytes held before a write (0: write as soon as possible). */
  buffer?: number;
  /** With a buffer: held lines go out at least this often, ms. */
  flush?: number;
}

/** What waits for a failing destination before lines are dropped. */
const MAX_BACKLOG = 8 * 1024 * 1024;
/** PIPE_BUF: a write to a pipe of at most this many bytes is never interleaved with another process's. */
const PIPE_ATOMIC = 4096;

export class LogStream {
  readonly #dest: Destination;
  readonly #file: boolean;
  /** The last write or open failed (and nothing has been written since). */
  #failing = false;

  constructor(
    /** 'stdout', 'stderr' or a file path. */
    readonly path: string,
    options: StreamOptions = {},
  ) {
    const dest = path === 'stdout' ? 1 : path === 'stderr' ? 2 : resolve(path);
    this.#file = typeof dest === 'string';
    // On a pipe each write holds whole lines and at most PIPE_BUF bytes, so the lines of
    // several workers sharing stdout never interleave mid-line; a file opened O_APPEND takes
    // each write whole.
    const maxWrite = this.#file ? 128 * 1024 : PIPE_ATOMIC;
    const buffer = Math.min(options.buffer ?? 0, maxWrite - 1);
    this.#dest = pino.destination({
      dest,
      sync: false,
      mkdir: this.#file,
      maxWrite,
      minLength: buffer,
      maxLength: MAX_BACKLOG,
      ...(buffer > 0 ? { periodicFlush: options.flush ?? 1000 } : {}),
    } as Parameters<typeof pino.destination>[0]);
    this.#dest.on('error', () => {
      stats.logErrors++;
      this.#failing = true;
    });
    this.#dest.on('write', () => (this.#failing = false));
    this.#dest.on('ready', () => (this.#failing = false));
    this.#dest.on('drop', () => stats.logDrops++);
  }

  write(line: string): void {
    try {
      this.#dest.write(line);
    } catch {
      // destroyed (the server is stopping): the line is lost, the request is not
      stats.logDrops++;
    }
  }

  /**
   * SIGUSR1: a file is opened again by its path (after logrotate renamed it). When the path
   * cannot be opened now (its directory gone, replaced, or not writable), the failure is
   * counted and lines keep going to the file open until now, which is better than losing them.
   */
  reopen(): void {
    if (!this.#file) return;
    if (cannotOpen(this.path) !== undefined) {
      stats.logErrors++;
      return;
    }
    try {
      this.#dest.reopen();
    } catch {
      stats.logErrors++;
    }
  }

  /**
   * Writes out what is buffered. A file is opened asynchronously, and flushSync() on one not
   * open yet throws (its lines would wait for the next write): such a file is waited for, at
   * most a second, so a stop right after the first requests keeps their lines.
   */
  async flush(): Promise<void> {
    const dest = this.#dest as Destination & { fd?: number; destroyed?: boolean };
    if (this.#file && dest.fd === -1 && !dest.destroyed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          dest.off('ready', done);
          dest.off('error', done);
          resolve();
        };
        const timer = setTimeout(done, 1000);
        dest.once('ready', done);
        dest.once('error', done);
      });
    }
    this.#flushNow();
  }

  #flushNow(): void {
    try {
      this.#dest.flushSync();
    } catch {
      // not open, closed, or the destination fails: counted by its error handler
    }
  }

  /**
   * Writes what waits and closes a file (stdout and stderr are the process's: they stay open).
   * Resolves once the file is closed (a file still being opened is opened first), or after
   * two seconds for a destination that fails.
   */
  close(): Promise<void> {
    if (!this.#file) {
      this.#flushNow();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let over = false;
      const done = (): void => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        // Whatever is still waiting is given up: pino's exit hook skips a destroyed stream
        // (it would flush one still opening, and throw at exit).
        const dest = this.#dest as Destination & { destroyed?: boolean; fd?: number };
        if (dest.destroyed) return resolve();
        if (dest.fd === -1) {
          // Never opened (its open failed: the directory went away after the start's check):
          // destroy() would wait for an open that will not come. 'close' is what makes pino's
          // exit hook let go of it.
          dest.emit('close');
        } else {
          try {
            dest.destroy();
          } catch {
            // destroyed meanwhile
          }
        }
        resolve();
      };
      // Not unref'd: a stop waits for its log files (two seconds at most).
      const timer = setTimeout(done, 2000);
      this.#dest.once('close', done);
      this.#dest.once('error', done);
      // What waits goes out now, synchronously, when the file is open and writable.
      if (!this.#failing) this.#flushNow();
      try {
        // A failing destination would be retried for ever by end(): what waits for it is lost.
        if (this.#failing) done();
        else this.#dest.end();
      } catch {
        done(); // already closed
      }
    });
  }
}

/**
 * Whether a log file can be opened for appending now (its directory made if missing), as nginx
 * checks when it starts: a path that cannot be opened at start is a config error, not a log
 * that silently drops every line. Undefined when it can; the reason otherwise.
 */
export function cannotOpen(path: string): string | undefined {
  if (path === 'stdout' || path === 'stderr') return undefined;
  try {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    closeSync(openSync(path, 'a'));
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
