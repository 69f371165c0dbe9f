/**
 * The nginx adapter: nginx.conf (or bare server blocks, as in conf.d/default.conf) -> Portico's
 * canonical config, plus a warning for each thing it could not carry over. Errors are what
 * `nginx -t` would reject, with file:line; nothing starts then.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigError } from '../../../errors.js';
import { Diagnostics, located, where, type SourceError } from '../diagnostics.js';
import { parseText, type Directive } from './parser.js';
import { checkTree, topContext } from './check.js';
import { makeScope } from './scope.js';
import { collectUpstreams } from './emit/upstreams.js';
import { canonicalMaps, collectMaps } from './emit/maps.js';
import { emitServers } from './emit/servers.js';
import { globalLogs } from './emit/logs.js';
import { BODY_SIZE_DEFAULT, type AdaptContext } from './emit/context.js';
import { clientOptions, collectZones } from './emit/shield.js';
import { collectCachePaths } from './emit/cache.js';
import type { AdaptResult } from '../adapter.js';
import { duration, parseTime } from './emit/values.js';
import type { VariableEnv } from './variables.js';

export interface NginxOptions {
  /** nginx's prefix (its default root is PREFIX/html); Debian's is /usr/share/nginx. */
  prefix?: string;
}

export function adaptNginx(text: string, file: string, options: NginxOptions = {}): AdaptResult {
  const dirs = parseText(text, file, { confDir: dirname(file) });
  if (!Array.isArray(dirs)) throw sourceError(dirs);
  const diag = new Diagnostics();
  const top = topContext(dirs);
  const everything = allDirectives(dirs);
  checkTree(dirs, top, diag, ifEnvironment(everything));
  diag.throwIfErrors();

  const httpBlock = top === 'main' ? dirs.find((d) => d.name === 'http') : undefined;
  const httpDirs = top === 'main' ? (httpBlock?.block ?? []) : dirs;
  const http = makeScope('http', undefined, httpBlock, httpDirs);
  const maps = collectMaps(httpDirs, diag);
  const defined = new Set([...maps.keys(), ...setVariables(httpDirs)]);
  const computable = canonicalMaps(maps, defined, diag);
  const ctx: AdaptContext = {
    diag,
    upstreams: collectUpstreams(httpDirs, diag),
    maps,
    defined,
    computedMaps: new Set(computable.keys()),
    usedMaps: new Set(),
    usedPools: new Map(),
    zones: new Map(),
    cacheZones: new Map(),
    topBodySize: httpDirs.find((d) => d.name === 'client_max_body_size')?.args[0] ?? BODY_SIZE_DEFAULT,
    prefix: options.prefix ?? '/usr/share/nginx',
    confDir: dirname(file),
  };
  ctx.zones = collectZones(httpDirs, ctx);
  ctx.cacheZones = collectCachePaths(httpDirs, ctx);
  const servers = emitServers(http, ctx);
  const client = clientOptions(http, ctx);
  const logs = globalLogs(everything, top === 'main' ? [...dirs, ...httpDirs] : httpDirs, ctx);
  if (servers.length === 0 && diag.errors.length === 0) {
    diag.error({ file, line: 1 }, 'no server block Portico can run (an nginx config needs http { server { ... } })');
  }
  diag.throwIfErrors();
  // With the access log off at the top, routes that are off too need not say so one by one.
  if (logs.accessLog === false) for (const s of servers) for (const r of s.routes as Record<string, unknown>[]) if (r.access_log === false) delete r.access_log;
  // Problems the validator finds in what is not inside a server: at the http block (or the file).
  const config: Record<string, unknown> = located({}, httpBlock ?? { file, line: 1 });
  if (logs.accessLog !== undefined) config.access_log = logs.accessLog;
  if (logs.logLevel !== undefined) config.log_level = logs.logLevel;
  if (logs.errorLog !== undefined) config.error_log = logs.errorLog;
  if (logs.logFormats !== undefined) config.log_formats = logs.logFormats;
  Object.assign(config, processOptions(top === 'main' ? dirs : [], diag, ctx.prefix));
  config.client = located(client, httpBlock ?? { file, line: 1 });
  diag.throwIfErrors();
  if (ctx.usedPools.size > 0) config.upstreams = Object.fromEntries(ctx.usedPools);
  if (ctx.cacheZones.size > 0) {
    config.cache = Object.fromEntries([...ctx.cacheZones].map(([name, z]) => [name, located(z.zone, z.d)]));
    // Portico's cache is served by one process (config/schema.ts, checkCacheUse).
    const workers = dirs.find((d) => d.name === 'worker_processes');
    if (config.workers !== undefined && config.workers !== 1 && workers !== undefined && servers.some((s) => (s.routes as Record<string, unknown>[]).some((r) => r.cache !== undefined))) {
      diag.warn(workers, `worker_processes ${workers.args[0]}: Portico's response cache is served by one process; running one`);
      config.workers = 1;
    }
  }
  const used = [...computable].filter(([name]) => ctx.usedMaps.has(name));
  if (used.length > 0) config.maps = Object.fromEntries(used);
  config.servers = servers;
  return { config, warnings: diag.warningLines() };
}

/**
 * The variables an `if` may read besides nginx's own, known before anything is emitted: those
 * a `map`, `geo`, `split_clients`, `set` or `perl_set` defines anywhere, and named regex
 * captures anywhere (nginx knows them in their own scope only; taken more widely here, an
 * unknown one is still refused wherever none is written).
 */
function ifEnvironment(all: readonly Directive[]): VariableEnv {
  const defined = new Set<string>();
  for (const d of all) {
    const v = d.name === 'map' || d.name === 'split_clients' ? d.args[1] : d.name === 'geo' ? d.args[d.args.length - 1] : d.name === 'set' || d.name === 'perl_set' ? d.args[0] : undefined;
    if (v?.startsWith('$')) defined.add(v.slice(1));
  }
  const captures = new Set(all.flatMap((d) => d.args.flatMap((a) => [...a.matchAll(/\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!))));
  return { defined, captures, constants: new Map() };
}

function sourceError(e: SourceError): ConfigError {
  return new ConfigError([e.line > 0 ? `${where(e)}: ${e.message}` : `${e.file}: ${e.message}`]);
}

function allDirectives(dirs: readonly Directive[]): Directive[] {
  return dirs.flatMap((d) => [d, ...(d.block && d.name !== 'map' && d.name !== 'types' ? allDirectives(d.block) : [])]);
}

/** `set $name ...` anywhere: nginx knows the variable even though Portico does not set it. */
function setVariables(dirs: readonly Directive[]): string[] {
  return allDirectives(dirs)
    .filter((d) => d.name === 'set' && d.args[0]?.startsWith('$'))
    .map((d) => d.args[0]!.slice(1));
}

/**
 * `worker_processes N|auto` -> `workers`; `worker_shutdown_timeout` -> `shutdown_timeout`;
 * `pid` -> `pid_file`, relative to the prefix as nginx reads it (ngx_conf_full_name with the
 * prefix, not the config's directory). Without `pid` Portico writes no pid file (nginx writes
 * the one it was built with: Debian's /run/nginx.pid). `user NAME [GROUP]` -> `user` (nginx
 * takes the group named as the user when none is given).
 */
function processOptions(main: readonly Directive[], diag: Diagnostics, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of main) {
    const v = d.args[0]!;
    if (d.name === 'worker_processes') {
      if (v === 'auto') out.workers = 'auto';
      else if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 1024) out.workers = Number(v);
      else diag.error(d, `invalid value "${v}" in "worker_processes" directive`);
    } else if (d.name === 'user') {
      out.user = { name: v, group: d.args[1] ?? v };
    } else if (d.name === 'worker_shutdown_timeout') {
      const ms = parseTime(v);
      if (ms === undefined) diag.error(d, `invalid value "${v}" in "worker_shutdown_timeout" directive`);
      else out.shutdown_timeout = duration(ms);
    } else if (d.name === 'pid' && v !== 'off') {
      out.pid_file = isAbsolute(v) ? v : join(prefix, v);
    }
  }
  return out;
}
