/**
 * `access_log`, `log_format` and `error_log` (https://nginx.org/en/docs/http/ngx_http_log_module.html,
 * https://nginx.org/en/docs/ngx_core_module.html#error_log), carried over:
 *   - every `log_format` becomes an entry of `log_formats` (escape= kept); a variable nginx has
 *     and Portico cannot compute is written as "-", with a warning;
 *   - the http level's `access_log` becomes the top-level `access_log`; a location (or server)
 *     whose effective access_log differs from the http level's gets its own, as nginx's
 *     inheritance resolves it (`off` -> false; several -> a list; buffer=, flush=, if= kept);
 *   - `error_log FILE LEVEL` becomes `error_log` and `log_level`.
 * Relative paths are nginx's: under its prefix. syslog: targets and gzip= are warned about.
 */
import { isAbsolute, join } from 'node:path';
import type { Directive } from '../parser.js';
import { effective, type Scope } from '../scope.js';
import type { AdaptContext } from './context.js';
import { isKnown, variablesIn } from '../variables.js';
import { unknownVariables } from '../../../log-variables.js';

export interface LogSettings {
  accessLog: false | LogSpec | LogSpec[] | undefined;
  logFormats: Record<string, string | { template: string; escape: string }> | undefined;
  logLevel: string | undefined;
  errorLog: string | undefined;
}

interface LogSpec {
  path: string;
  format?: string;
  buffer?: string;
  flush?: string;
  if?: string;
}

const LEVELS: Record<string, string> = { debug: 'debug', info: 'info', notice: 'info', warn: 'warn', error: 'error', crit: 'error', alert: 'error', emerg: 'error' };

/** Paths as nginx resolves them: relative ones under its prefix; stderr stays stderr. */
function logPath(path: string, ctx: AdaptContext): string {
  if (path === 'stderr' || path === '/dev/stderr') return 'stderr';
  if (path === '/dev/stdout') return 'stdout';
  return isAbsolute(path) ? path : join(ctx.prefix, path);
}

/** The formats' templates: the strings of `log_format NAME [escape=...] STRING...` joined. */
function collectFormats(all: readonly Directive[], ctx: AdaptContext): Record<string, string | { template: string; escape: string }> {
  const out: Record<string, string | { template: string; escape: string }> = {};
  const maps = new Map([...ctx.computedMaps].map((m) => [m, true]));
  for (const d of all) {
    if (d.name !== 'log_format') continue;
    const [name, ...rest] = d.args as [string, ...string[]];
    let escape = 'default';
    if (rest[0]?.startsWith('escape=')) escape = rest.shift()!.slice(7);
    if (!['default', 'json', 'none'].includes(escape)) {
      ctx.diag.error(d, `unknown log format escaping "${escape}"`);
      continue;
    }
    if (name === 'combined') {
      ctx.diag.error(d, `duplicate "log_format" name "combined"`);
      continue;
    }
    let template = rest.join('');
    for (const v of new Set(variablesIn(template))) {
      if (unknownVariables(`$${v}`, maps).length === 0) {
        if (ctx.computedMaps.has(v)) ctx.usedMaps.add(v);
        continue;
      }
      if (!isKnown(v, { defined: ctx.defined, captures: new Set(), constants: new Map() })) {
        ctx.diag.error(d, `unknown "${v}" variable`);
        continue;
      }
      ctx.diag.warn(d, `log_format ${name}: Portico cannot compute $${v}; written as "-"`);
      template = replaceVariable(template, v, '-');
    }
    out[name] = escape === 'default' ? template : { template, escape };
  }
  return out;
}

/** `$name` and `${name}` (whole names only) replaced by `by`. */
function replaceVariable(template: string, name: string, by: string): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const at = template.indexOf('$', i);
    if (at < 0) break;
    out += template.slice(i, at);
    const braced = template.startsWith(`\${${name}}`, at);
    const bare = template.startsWith(`$${name}`, at) && !/[A-Za-z0-9_]/.test(template.charAt(at + 1 + name.length));
    if (braced || bare) {
      out += by;
      i = at + (braced ? name.length + 3 : name.length + 1);
    } else {
      out += '$';
      i = at + 1;
    }
  }
  return out + template.slice(i);
}

/** One scope's effective access_log directives as Portico's setting. */
function convert(list: readonly Directive[], ctx: AdaptContext): false | LogSpec | LogSpec[] | undefined {
  if (list.length === 0) return undefined;
  if (list.some((d) => d.args[0] === 'off')) return false;
  const specs: LogSpec[] = [];
  for (const d of list) {
    const [target, format, ...params] = d.args as [string, string | undefined, ...string[]];
    if (target.startsWith('syslog:')) {
      ctx.diag.warn(d, 'access_log to syslog is not carried over');
      continue;
    }
    const spec: LogSpec = { path: logPath(target, ctx) };
    const opts = format !== undefined && format.includes('=') ? [format, ...params] : params;
    const name = format !== undefined && !format.includes('=') ? format : 'combined';
    if (name !== 'combined') spec.format = name; // checked against the log_formats by globalLogs
    for (const o of opts) {
      if (o.startsWith('buffer=')) spec.buffer = o.slice(7);
      else if (o.startsWith('flush=')) spec.flush = o.slice(6);
      else if (o.startsWith('if=')) {
        const cond = o.slice(3);
        const vars = variablesIn(cond);
        const maps = new Map([...ctx.computedMaps].map((m) => [m, true]));
        if (unknownVariables(cond, maps).length > 0) {
          ctx.diag.warn(d, `access_log if=${cond}: Portico cannot compute it (a map of $status is not carried over); every request is logged`);
          continue;
        }
        for (const v of vars) if (ctx.computedMaps.has(v)) ctx.usedMaps.add(v);
        spec.if = cond;
      } else if (o.startsWith('gzip')) ctx.diag.warn(d, 'access_log gzip is not carried over: lines are written uncompressed');
      else ctx.diag.error(d, `invalid parameter "${o}"`);
    }
    specs.push(spec);
  }
  if (specs.length === 0) return undefined;
  return specs.length === 1 ? specs[0]! : specs;
}

/**
 * A route's access_log when it differs from the http level's (its location, or its server,
 * says otherwise); undefined: it logs where the top level does.
 */
export function routeAccessLog(scope: Scope, ctx: AdaptContext): false | LogSpec | LogSpec[] | undefined {
  let http: Scope = scope;
  while (http.parent) http = http.parent;
  const here = effective(scope, 'access_log');
  if (here === effective(http, 'access_log')) return undefined;
  // A scope that inherits nothing (no access_log above it) is nginx's default log: the top level's.
  return convert(here, ctx);
}

export function globalLogs(all: readonly Directive[], httpLevel: readonly Directive[], ctx: AdaptContext): LogSettings {
  const formats = collectFormats(all, ctx);
  for (const d of all) {
    const name = d.name === 'access_log' ? d.args[1] : undefined;
    if (name !== undefined && !name.includes('=') && name !== 'combined' && !(name in formats)) ctx.diag.error(d, `unknown log format "${name}"`);
  }
  const out: LogSettings = { accessLog: undefined, logFormats: Object.keys(formats).length > 0 ? formats : undefined, logLevel: undefined, errorLog: undefined };
  out.accessLog = convert(
    httpLevel.filter((d) => d.name === 'access_log'),
    ctx,
  );
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
    if (target.startsWith('syslog:') || target.startsWith('memory:')) ctx.diag.warn(d, `error_log "${target}" is not carried over; Portico's error log goes to stderr`);
    else if (out.errorLog === undefined) out.errorLog = logPath(target, ctx);
    else if (logPath(target, ctx) !== out.errorLog) ctx.diag.warn(d, `error_log "${target}": Portico has one error log; it goes to ${out.errorLog}`);
  }
  return out;
}
