/**
 * `access_log`, `log_format` and `error_log` (https://nginx.org/en/docs/http/ngx_http_log_module.html,
 * https://nginx.org/en/docs/ngx_core_module.html#error_log). Portico has one access log (in
 * nginx's `combined` format) and routes can opt out (`access_log: false`), so:
 *   - the first path written anywhere becomes the access log; other paths are warned about;
 *   - a location or server whose effective `access_log` is `off` gets `access_log: false`;
 *   - `error_log`'s level becomes `log_level`; Portico's error log goes to stderr.
 */
import type { Directive } from '../parser.js';
import { effective, type Scope } from '../scope.js';
import type { AdaptContext } from './context.js';

export interface LogSettings {
  accessLog: false | { format: 'combined'; output: string } | undefined;
  logLevel: string | undefined;
}

const LEVELS: Record<string, string> = { debug: 'debug', info: 'info', notice: 'info', warn: 'warn', error: 'error', crit: 'error', alert: 'error', emerg: 'error' };

export function isLogOff(scope: Scope): boolean {
  return effective(scope, 'access_log').some((d) => d.args[0] === 'off');
}

export function globalLogs(all: readonly Directive[], httpLevel: readonly Directive[], ctx: AdaptContext): LogSettings {
  const out: LogSettings = { accessLog: undefined, logLevel: undefined };
  const logs = all.filter((d) => d.name === 'access_log');
  const httpLogs = httpLevel.filter((d) => d.name === 'access_log');
  const paths = logs.filter((d) => d.args[0] !== 'off');
  if (paths.length > 0) {
    const main = paths[0]!;
    out.accessLog = { format: 'combined', output: main.args[0]! };
    for (const d of paths) {
      const format = d.args[1];
      if (format !== undefined && format !== 'combined' && !format.includes('=')) {
        ctx.diag.warn(d, `access_log format "${format}" is not carried over: Portico writes nginx's combined format`);
      }
      if (d.args.some((a) => a.startsWith('if='))) ctx.diag.warn(d, `access_log "if=" is not carried over: every request is logged`);
      if (d.args[0]!.startsWith('syslog:')) ctx.diag.warn(d, `access_log to syslog is not carried over; Portico logs to ${main.args[0]}`);
      else if (d.args[0] !== main.args[0]) ctx.diag.warn(d, `access_log "${d.args[0]}": Portico has one access log; this goes to ${main.args[0]}`);
    }
  } else if (httpLogs.some((d) => d.args[0] === 'off')) {
    out.accessLog = false;
  }
  for (const d of all) {
    if (d.name !== 'error_log') continue;
    const [target, level] = d.args as [string, string | undefined];
    if (level !== undefined) {
      if (!(level in LEVELS)) {
        ctx.diag.error(d, `invalid log level "${level}"`);
        continue;
      }
      out.logLevel ??= LEVELS[level];
    }
    if (target !== 'stderr' && target !== '/dev/stderr') ctx.diag.warn(d, `error_log "${target}": Portico writes its error log to stderr`);
  }
  return out;
}
