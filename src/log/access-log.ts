/**
 * The access log: one line per request, where the request's route says (its own
 * `access_log`, else its server's, else the top level's: nginx's inheritance of access_log),
 * in that log's format: nginx's `combined` (the default), JSON, a `log_formats` name or a
 * template of nginx variables (log-format.ts). A route may write to several logs (a list), a
 * log may have an `if` condition, and `access_log: false` turns it off. Everything is decided
 * when the config is loaded: a request costs one map lookup by route name and its lines.
 * Destinations are shared by path (log-stream.ts): one file, one format, one stream.
 */
import type { Exchange } from '../http/exchange.js';
import type { PorticoConfig } from '../config/schema.js';
import type { AccessLogSetting, AccessLogSpec } from '../config/log-schema.js';
import { compileTemplate } from '../http/template.js';
import { ConfigError } from '../errors.js';
import { COMBINED, compileLogFormat, jsonLine, type LineFormat, type LogEscape } from './log-format.js';
import { cannotOpen, LogStream } from './log-stream.js';

/** The former single-log shape (`{ format, output }`), still what tests and embedders pass. */
export interface AccessLogConfig {
  format: string;
  output?: string;
  path?: string;
}

type Condition = (ex: Exchange, status: number) => boolean;

/** One log a line goes to: a stream, a format, maybe a condition. */
class Target {
  constructor(
    readonly stream: LogStream,
    readonly format: LineFormat,
    readonly condition: Condition | null,
  ) {}

  write(ex: Exchange, status: number): void {
    if (this.condition !== null && !this.condition(ex, status)) return;
    this.stream.write(this.format(ex, status) + '\n');
  }
}

type Targets = readonly Target[];

const NONE: Targets = [];

export class AccessLog {
  /** Logs of each route by its name; a route not listed writes to `#top`. */
  #byRoute: ReadonlyMap<string, Targets> = new Map();
  #top: Targets = NONE;
  readonly #streams = new Map<string, { stream: LogStream; format: string }>();

  /** A single log for every request (the top-level `access_log` alone). */
  constructor(cfg?: AccessLogConfig) {
    if (cfg === undefined) return;
    const problems: string[] = [];
    const t = this.#target({ format: cfg.format, path: cfg.path ?? cfg.output ?? 'stdout', flush: 1000 }, undefined, problems);
    if (t === undefined) throw new ConfigError(problems);
    this.#top = [t];
  }

  /** Every access log of a config; throws a ConfigError for a file it cannot open or two formats on one file. */
  static fromConfig(config: PorticoConfig, file = 'config'): AccessLog {
    const log = new AccessLog();
    log.configure(config, file);
    return log;
  }

  /**
   * Takes a config's logs (at start and on reload): destinations already open stay open;
   * problems are thrown as one ConfigError and change nothing.
   */
  configure(config: PorticoConfig, file = 'config'): void {
    const problems: string[] = [];
    const cache = new Map<string, Target>();
    const targets = (setting: AccessLogSetting | undefined, where: string): Targets => {
      if (setting === undefined || setting === false) return NONE;
      const list = Array.isArray(setting) ? setting : [setting];
      const out: Target[] = [];
      list.forEach((spec, i) => {
        const key = JSON.stringify(spec);
        let t = cache.get(key);
        if (t === undefined) {
          try {
            t = this.#target(spec, config, problems, `${file}: ${where}${Array.isArray(setting) ? `[${i}]` : ''}`);
          } catch (err) {
            problems.push(`${file}: ${where}: ${(err as Error).message}`);
          }
          if (t !== undefined) cache.set(key, t);
        }
        if (t !== undefined) out.push(t);
      });
      return out;
    };
    const top = targets(config.access_log, 'access_log');
    const byRoute = new Map<string, Targets>();
    config.servers.forEach((server, si) => {
      const serverLogs = server.access_log === undefined ? top : targets(server.access_log, `servers[${si}].access_log`);
      server.routes.forEach((route, ri) => {
        const own = route.access_log === undefined ? serverLogs : targets(route.access_log, `servers[${si}].routes[${ri}].access_log`);
        // The names compile.ts gives routes; a route logging where the top level does needs no entry.
        if (own !== top) byRoute.set(`servers[${si}].routes[${ri}] ${route.path}`, own);
      });
      if (serverLogs !== top) {
        // Answers of the server itself: http->https redirects and unknown-host replies.
        byRoute.set(`servers[${si}] http->https`, serverLogs);
        byRoute.set(`servers[${si}].unknown_host`, serverLogs);
      }
    });
    const errorLog = config.error_log;
    for (const [path] of this.#streams)
      if (path === errorLog && path !== 'stdout' && path !== 'stderr') problems.push(`${file}: access_log: ${path} is also the error_log; one format per file`);
    if (problems.length > 0) throw new ConfigError(problems);
    this.#top = top;
    this.#byRoute = byRoute;
  }

  #target(spec: AccessLogSpec & { escape?: LogEscape }, config: PorticoConfig | undefined, problems: string[], where = 'access_log'): Target | undefined {
    const formats = config?.log_formats ?? {};
    const maps = new Map(Object.keys(config?.maps ?? {}).map((k) => [k, true]));
    let format: LineFormat;
    let formatKey = spec.format;
    if (spec.format === 'combined') format = compileLogFormat(COMBINED);
    else if (spec.format === 'json') format = jsonLine;
    else if (spec.format in formats) {
      const f = formats[spec.format]!;
      format = typeof f === 'string' ? compileLogFormat(f, 'default', maps) : compileLogFormat(f.template, f.escape, maps);
    } else {
      format = compileLogFormat(spec.format, spec.escape ?? 'default', maps);
      formatKey = `${spec.format}|${spec.escape ?? 'default'}`;
    }
    const open = this.#streams.get(spec.path);
    if (open && open.format !== formatKey) {
      problems.push(`${where}: ${spec.path} is already written in another format (${open.format}); one format per stream`);
      return undefined;
    }
    if (!open) {
      const why = cannotOpen(spec.path);
      if (why !== undefined) {
        problems.push(`${where}: cannot open ${spec.path}: ${why}`);
        return undefined;
      }
    }
    const stream = open?.stream ?? new LogStream(spec.path, { buffer: spec.buffer, flush: spec.flush });
    if (!open) this.#streams.set(spec.path, { stream, format: formatKey });
    return new Target(stream, format, spec.if === undefined ? null : condition(spec.if, maps));
  }

  write(ex: Exchange, status: number): void {
    const targets = this.#byRoute.get(ex.routeName) ?? this.#top;
    for (let i = 0; i < targets.length; i++) targets[i]!.write(ex, status);
  }

  /**
   * SIGUSR1 (nginx's USR1 / `nginx -s reopen`): files are opened again by their paths, so lines
   * written after logrotate renamed them go to fresh files there (sonic-boom finishes the write
   * in flight first, and creates the directory again if it is gone). stdout and stderr are the
   * process's own: nothing to reopen.
   */
  reopen(): void {
    for (const { stream } of this.#streams.values()) stream.reopen();
  }

  /** Writes out what every stream holds (a file still being opened is waited for, a second at most). */
  async flush(): Promise<void> {
    await Promise.all([...this.#streams.values()].map(({ stream }) => stream.flush()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#streams.values()].map(({ stream }) => stream.close()));
  }
}

/** nginx's if=: the line is written unless the template comes out empty or "0". */
function condition(template: string, maps: ReadonlyMap<string, unknown>): Condition {
  // Log variables ($status, a map...) as in a format; json's rule leaves an empty value empty.
  const value: LineFormat = template.includes('$') ? compileLogFormat(template, 'json', maps) : compileTemplate(template);
  return (ex, status) => {
    const v = value(ex, status);
    return v !== '' && v !== '0';
  };
}
