/**
 * nginx's proxy cache (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_cache)
 * -> Portico's top-level `cache` zones and a route's `cache`, one directive to one key:
 *   proxy_cache_path PATH levels= keys_zone=NAME:SIZE inactive= max_size=   cache.NAME
 *   proxy_cache NAME | off                                                   route cache.zone
 *   proxy_cache_key, proxy_cache_valid, proxy_cache_use_stale, proxy_cache_background_update,
 *   proxy_cache_lock(_timeout, _age), proxy_cache_bypass, proxy_no_cache, proxy_cache_min_uses,
 *   proxy_cache_methods, proxy_cache_revalidate, proxy_cache_convert_head,
 *   proxy_ignore_headers                                                     route cache.*
 *   add_header NAME $upstream_cache_status                                   cache.status_header
 * nginx's defaults are written out where Portico's differ: the key
 * ($scheme$proxy_host$request_uri: hosts sharing an upstream share entries, as in nginx, which
 * the adapter says when the Host sent upstream is the client's) and levels (none).
 * A bypass or no_cache condition Portico cannot compute refuses the config at its line: left
 * out, a response nginx would not store (or not serve) would be.
 */
import { isAbsolute, join } from 'node:path';
import type { Directive } from '../parser.js';
import { effective, effectiveOne, type Scope } from '../scope.js';
import { template, type AdaptContext, type ValueScope } from './context.js';
import { duration, parseSize, parseTime } from './values.js';
import { STALE_CONDITIONS, IGNORABLE } from '../../../cache-schema.js';

export interface CacheZoneDef {
  d: Directive;
  zone: Record<string, unknown>;
}

/** proxy_cache_path directives of the http block, by zone name. */
export function collectCachePaths(http: readonly Directive[], ctx: AdaptContext): Map<string, CacheZoneDef> {
  const out = new Map<string, CacheZoneDef>();
  const paths = new Map<string, string>();
  for (const d of http) {
    if (d.name !== 'proxy_cache_path') continue;
    const [path, ...params] = d.args as [string, ...string[]];
    const zone: Record<string, unknown> = { path: isAbsolute(path) ? path : join(ctx.prefix, path), levels: '' };
    let name: string | undefined;
    let ok = true;
    for (const p of params) {
      const eq = p.indexOf('=');
      const key = eq < 0 ? p : p.slice(0, eq);
      const value = eq < 0 ? '' : p.slice(eq + 1);
      if (key === 'levels') {
        if (!/^[12](?::[12]){0,2}$/.test(value)) {
          ctx.diag.error(d, `invalid "levels" "${value}"`);
          ok = false;
        } else zone.levels = value;
      } else if (key === 'keys_zone') {
        const m = /^([^:]+):(\d+[kKmMgG]?)$/.exec(value);
        if (!m) {
          ctx.diag.error(d, `invalid keys zone size "${value}"`);
          ok = false;
        } else {
          name = m[1]!;
          zone.keys_zone = parseSize(m[2]!);
        }
      } else if (key === 'inactive' || key === 'max_size') {
        const v = key === 'inactive' ? parseTime(value) : parseSize(value);
        if (v === undefined) {
          ctx.diag.error(d, `invalid ${key} value "${value}"`);
          ok = false;
        } else zone[key] = key === 'inactive' ? duration(v) : v;
      } else if (key === 'min_free') {
        ctx.diag.warn(d, 'proxy_cache_path min_free: Portico bounds the cache by max_size only; left out');
      } else if (/^(use_temp_path|manager_files|manager_sleep|manager_threshold|loader_files|loader_sleep|loader_threshold)$/.test(key)) {
        // Portico decides these itself (temp files beside the entries; its loader batches on its own).
      } else {
        ctx.diag.error(d, `invalid parameter "${p}"`);
        ok = false;
      }
    }
    if (name === undefined) {
      if (ok) ctx.diag.error(d, '"proxy_cache_path" must have "keys_zone" parameter');
      continue;
    }
    if (!ok) continue;
    if (out.has(name)) {
      ctx.diag.error(d, `duplicate zone "${name}"`);
      continue;
    }
    const dir = String(zone.path);
    if (paths.has(dir)) {
      ctx.diag.error(d, `duplicate proxy_cache_path "${path}"`);
      continue;
    }
    paths.set(dir, name);
    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
      ctx.diag.error(d, `keys_zone name "${name}": Portico zone names are letters, digits, "_" and "-"`);
      continue;
    }
    out.set(name, { d, zone });
  }
  return out;
}

/** The route's `cache`, or undefined (no proxy_cache, or `off`). */
export function emitCache(scope: Scope, ctx: AdaptContext, vs: ValueScope): Record<string, unknown> | undefined {
  const use = effectiveOne(scope, 'proxy_cache');
  if (use === undefined || use.args[0] === 'off') return undefined;
  const zoneName = use.args[0]!;
  if (zoneName.includes('$')) {
    ctx.diag.error(use, `proxy_cache ${zoneName}: a zone chosen by a variable is not supported; name the zone`);
    return undefined;
  }
  if (!ctx.cacheZones.has(zoneName)) {
    ctx.diag.error(use, `"proxy_cache" zone "${zoneName}" is unknown`);
    return undefined;
  }
  const cache: Record<string, unknown> = { zone: zoneName };
  const key = effectiveOne(scope, 'proxy_cache_key');
  if (key !== undefined) {
    const t = template(ctx, vs, key, key.args[0]!, 'proxy_cache_key');
    if (t === undefined) {
      ctx.diag.error(key, 'proxy_cache_key: a key Portico cannot compute would mix entries nginx keeps apart');
      return undefined;
    }
    cache.key = t;
  } else {
    cache.key = '{scheme}{proxy_host}{uri}'; // nginx's default
    const host = effective(scope, 'proxy_set_header').find((h) => h.args[0]!.toLowerCase() === 'host');
    if (host !== undefined && /\$(host|http_host)\b/.test(host.args[1]!))
      ctx.diag.warn(
        use,
        `proxy_cache without proxy_cache_key: nginx's default key ($scheme$proxy_host$request_uri) has no $host while the Host sent upstream is the client's; responses of different hosts share entries, as in nginx (add $host to proxy_cache_key)`,
      );
  }
  const valid = validTable(effective(scope, 'proxy_cache_valid'), ctx);
  if (valid !== undefined) cache.valid = valid;
  const stale = effectiveOne(scope, 'proxy_cache_use_stale');
  if (stale !== undefined && stale.args[0] !== 'off') {
    const list: string[] = [];
    for (const a of stale.args) {
      if ((STALE_CONDITIONS as readonly string[]).includes(a)) list.push(a);
      else if (a !== 'off') ctx.diag.error(stale, `invalid value "${a}"`);
    }
    cache.use_stale = list;
  }
  flag(scope, 'proxy_cache_background_update', (on) => (cache.background_update = on));
  flag(scope, 'proxy_cache_revalidate', (on) => (cache.revalidate = on));
  flag(scope, 'proxy_cache_convert_head', (on) => (cache.convert_head = on));
  flag(scope, 'proxy_cache_lock', (on) => {
    if (!on) return;
    const lock: Record<string, string> = {};
    for (const [name, field] of [
      ['proxy_cache_lock_timeout', 'timeout'],
      ['proxy_cache_lock_age', 'age'],
    ] as const) {
      const d = effectiveOne(scope, name);
      if (d === undefined) continue;
      const ms = parseTime(d.args[0]!);
      if (ms === undefined) ctx.diag.error(d, `"${name}" directive invalid value`);
      else lock[field] = duration(ms);
    }
    cache.lock = Object.keys(lock).length > 0 ? lock : true;
  });
  for (const [name, field] of [
    ['proxy_cache_bypass', 'bypass'],
    ['proxy_no_cache', 'no_cache'],
  ] as const) {
    const conditions: string[] = [];
    for (const d of effective(scope, name))
      for (const a of d.args) {
        const t = template(ctx, vs, d, a, name);
        if (t === undefined) ctx.diag.error(d, `${name}: Portico cannot compute "${a}"; without it a response nginx would not ${field === 'bypass' ? 'answer from the cache' : 'store'} would be`);
        else conditions.push(t);
      }
    if (conditions.length > 0) cache[field] = conditions;
  }
  const minUses = effectiveOne(scope, 'proxy_cache_min_uses');
  if (minUses !== undefined) {
    if (!/^[1-9]\d*$/.test(minUses.args[0]!)) ctx.diag.error(minUses, `"proxy_cache_min_uses" directive invalid value`);
    else cache.min_uses = Number(minUses.args[0]);
  }
  const methods = effectiveOne(scope, 'proxy_cache_methods');
  if (methods !== undefined) {
    for (const m of methods.args) if (!/^[A-Z]+$/.test(m)) ctx.diag.error(methods, `invalid value "${m}"`);
    cache.methods = methods.args.filter((m) => /^[A-Z]+$/.test(m));
  }
  const ignore = effectiveOne(scope, 'proxy_ignore_headers');
  if (ignore !== undefined) {
    const names = ignore.args.map((a) => a.toLowerCase());
    for (const a of names) if (!/^x-accel-(redirect|expires|limit-rate|buffering|charset)$|^(expires|cache-control|set-cookie|vary)$/.test(a)) ctx.diag.error(ignore, `invalid value "${a}"`);
    const relevant = names.filter((n) => (IGNORABLE as readonly string[]).includes(n));
    if (relevant.length > 0) cache.ignore_headers = relevant;
  }
  const status = statusHeader(scope);
  if (status !== undefined) cache.status_header = status;
  return cache;
}

/** `add_header NAME $upstream_cache_status`: the cache's status header (headers.ts leaves that line to this emitter). */
function statusHeader(scope: Scope): string | undefined {
  return effective(scope, 'add_header').find((d) => d.args[1] === '$upstream_cache_status')?.args[0];
}

/** proxy_cache_valid lines in order: `[codes...] time`, "any", or a time alone (200 301 302). */
function validTable(lines: readonly Directive[], ctx: AdaptContext): Record<string, string> | undefined {
  if (lines.length === 0) return undefined;
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  let any = false;
  for (const d of lines) {
    const args = d.args;
    const ms = parseTime(args[args.length - 1]!);
    if (ms === undefined) {
      ctx.diag.error(d, `invalid time value "${args[args.length - 1]}"`);
      continue;
    }
    const codes = args.length === 1 ? ['200', '301', '302'] : args.slice(0, -1);
    const kept: string[] = [];
    for (const c of codes) {
      if (c === 'any') {
        // nginx takes the first line that matches: codes after an "any" line are never used.
        if (!any) out.any = duration(ms);
        any = true;
        continue;
      }
      if (!/^[1-5]\d\d$/.test(c)) {
        ctx.diag.error(d, `invalid value "${c}"`);
        continue;
      }
      if (any || seen.has(c)) continue;
      seen.add(c);
      kept.push(c);
    }
    if (kept.length > 0) out[kept.join(' ')] = duration(ms);
  }
  return out;
}

function flag(scope: Scope, name: string, set: (on: boolean) => void): void {
  const d = effectiveOne(scope, name);
  if (d !== undefined) set(d.args[0]!.toLowerCase() === 'on');
}
