/**
 * What every emitter shares while one nginx config is translated: diagnostics, the upstream
 * and map blocks of `http`, and variable conversion that reports at the directive's place.
 */
import type { Diagnostics } from '../../diagnostics.js';
import type { Directive } from '../parser.js';
import { convert, type VariableEnv } from '../variables.js';
import type { UpstreamDef } from './upstreams.js';
import type { MapDef } from './maps.js';
import type { Zone } from './shield.js';
import type { CacheZoneDef } from './cache.js';

/** nginx's client_max_body_size default. */
export const BODY_SIZE_DEFAULT = '1m';

export interface AdaptContext {
  diag: Diagnostics;
  upstreams: ReadonlyMap<string, UpstreamDef>;
  maps: ReadonlyMap<string, MapDef>;
  /** Variables defined by map, geo and set. */
  defined: ReadonlySet<string>;
  /** Variables `set` defines anywhere ({var.NAME}). */
  sets: ReadonlySet<string>;
  /** Map variables Portico computes, and those read so far (they go into the config's `maps`). */
  computedMaps: ReadonlySet<string>;
  /** Maps Portico computes with some values left out: read where a value only informs (headers, texts). */
  partialMaps: ReadonlySet<string>;
  usedMaps: Set<string>;
  /** Upstream pools named by proxy_pass (they go into the config's `upstreams`). */
  usedPools: Map<string, Record<string, unknown>>;
  /** limit_req_zone / limit_conn_zone, by "req:NAME" / "conn:NAME". */
  zones: ReadonlyMap<string, Zone>;
  /** proxy_cache_path zones, by name (emit/cache.ts). */
  cacheZones: ReadonlyMap<string, CacheZoneDef>;
  /** The body size limit every route gets from `client` (http level, or nginx's 1m). */
  topBodySize: string;
  /** nginx's prefix, for relative paths (Debian: /usr/share/nginx). */
  prefix: string;
  /** The main config file's directory (nginx's conf prefix: relative certificate paths). */
  confDir: string;
}

/** Per-server facts that variables need ($server_name) and regex captures in scope. */
export interface ValueScope {
  /** Values known when the config is adapted, inserted as text. */
  constants: Map<string, string>;
  /** Variables that are Portico templates here ($request_filename: the root and {path}). */
  templates: Map<string, string>;
  captures: Set<string>;
}

export interface TemplateOptions {
  /** A variable Portico cannot compute is an error (the value guards something: an if, a set). */
  refuse?: boolean;
  /** A variable Portico cannot compute is left out of the value (a warning), the rest kept. */
  empty?: boolean;
}

/**
 * A directive argument as a Portico template; undefined (and an error or a warning at the
 * directive) when it uses a variable nginx does not know, or one Portico cannot compute.
 */
export function template(ctx: AdaptContext, vs: ValueScope, d: Directive, value: string, what: string, options: TemplateOptions = {}): string | undefined {
  const env: VariableEnv = { defined: ctx.defined, sets: ctx.sets, captures: vs.captures, constants: vs.constants, templates: vs.templates, maps: options.refuse ? ctx.computedMaps : new Set([...ctx.computedMaps, ...ctx.partialMaps]), used: ctx.usedMaps };
  const skipped: string[] = [];
  const r = convert(value, env, options.empty ? skipped : undefined);
  for (const name of skipped) ctx.diag.warn(d, `${what}: Portico cannot compute $${name}; it is left out of the value`);
  if (r.ok) return r.template;
  if (r.unknown !== undefined) ctx.diag.error(d, `unknown "${r.unknown}" variable`);
  else if (options.refuse) ctx.diag.error(d, `${what} cannot be carried over: Portico cannot compute $${r.unsupported}`);
  else ctx.diag.warn(d, `${what}: Portico cannot compute $${r.unsupported}; left out`);
  return undefined;
}
