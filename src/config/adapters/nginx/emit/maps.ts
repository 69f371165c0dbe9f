/**
 * `map $source $variable { ... }` blocks (https://nginx.org/en/docs/http/ngx_http_map_module.html).
 * A map whose source and values Portico can compute becomes an entry of the config's `maps`,
 * read as {map.NAME} wherever the variable is used (header values, redirects, rewrites, `if`).
 * Values may read other maps, `set` variables and the captures of their regex key; `hostnames`
 * and `volatile` are carried over. The WebSocket idiom
 * `map $http_upgrade $connection_upgrade { default upgrade; '' close; }` is never needed: it
 * feeds the `Connection` header, which Portico manages itself.
 */
import type { Directive } from '../parser.js';
import type { Diagnostics } from '../../diagnostics.js';
import { convert, type VariableEnv } from '../variables.js';
import { mapKeyProblem, mapKeyWarning } from '../../../map-key.js';
import { parseCidr, parseRange } from '../../../geo-key.js';

export interface MapDef {
  source: string;
  variable: string;
  d: Directive;
  entries: { key: string; value: string; d: Directive }[];
  defaultValue: string | undefined;
  hostnames: boolean;
  volatile: boolean;
  /** A geo block: keys are CIDRs, or ranges. */
  addresses?: 'cidr' | 'ranges';
}

/** A map as Portico's `maps` entry. */
export interface CanonicalMap {
  source: string;
  values: Record<string, string>;
  default?: string;
  hostnames?: true;
  volatile?: true;
}

export function collectMaps(http: readonly Directive[], diag: Diagnostics): Map<string, MapDef> {
  const out = new Map<string, MapDef>();
  for (const d of http) {
    if (d.name === 'geo' && d.block) {
      const geo = collectGeo(d, diag);
      if (geo) out.set(geo.variable, geo);
      continue;
    }
    if (d.name !== 'map' || !d.block) continue;
    const [source, variable] = d.args as [string, string];
    if (!variable.startsWith('$')) {
      diag.error(d, `invalid variable name "${variable}"`);
      continue;
    }
    const def: MapDef = { source, variable: variable.slice(1), d, entries: [], defaultValue: undefined, hostnames: false, volatile: false };
    for (const e of d.block) {
      if (e.name === 'hostnames' && e.args.length === 0) def.hostnames = true;
      if (e.name === 'volatile' && e.args.length === 0) def.volatile = true;
      if ((e.name === 'hostnames' || e.name === 'volatile') && e.args.length === 0) continue;
      if (e.args.length !== 1) {
        diag.error(e, `invalid number of the map parameters`);
        continue;
      }
      if (e.name === 'default') def.defaultValue = e.args[0];
      else def.entries.push({ key: e.name.startsWith('\\') ? e.name.slice(1) : e.name, value: e.args[0]!, d: e });
    }
    out.set(def.variable, def);
  }
  return out;
}

/**
 * The maps Portico can compute: source and values convert to templates (a value may read another
 * map Portico computes, found by repeating until nothing changes), regex keys compile. A value
 * reading a variable Portico cannot compute is left out (empty, warned): such a map is `partial`,
 * fine in a header or a response text but refused where it would decide something (a limit key,
 * an `if`, a `set`), as is a map that reads a partial one. Maps whose source cannot be computed
 * are left out; a value reading them is then not computable either.
 */
export function canonicalMaps(maps: ReadonlyMap<string, MapDef>, defined: ReadonlySet<string>, diag: Diagnostics, sets: ReadonlySet<string> = new Set()): Map<string, CanonicalMap & { partial?: true }> {
  let computable = new Set(maps.keys());
  let partial = new Set<string>();
  for (;;) {
    const quiet = new Set<string>();
    const out = new Map<string, CanonicalMap & { partial?: true }>();
    const nowPartial = new Set<string>();
    for (const [name, def] of maps) {
      if (!computable.has(name)) continue;
      const skipped: string[] = [];
      const one = canonicalMap(def, { defined, sets, captures: new Set(), constants: new Map(), maps: computable }, diag, quiet, skipped);
      if (!one) continue;
      const reads = [one.source, one.default ?? '', ...Object.values(one.values)].some((t) => [...t.matchAll(/\{map\.([A-Za-z0-9_]+)\}/g)].some((m) => partial.has(m[1]!)));
      if (skipped.length > 0 || reads) nowPartial.add(name);
      out.set(name, nowPartial.has(name) ? { ...one, partial: true } : one);
    }
    if (out.size === computable.size && nowPartial.size === partial.size) return out;
    computable = new Set(out.keys());
    partial = nowPartial;
  }
}

function canonicalMap(def: MapDef, env: VariableEnv, diag: Diagnostics, quiet: Set<string>, skipped: string[]): CanonicalMap | undefined {
  const name = def.variable;
  const source = convert(def.source, env);
  if (!source.ok) {
    if (source.unknown !== undefined) diag.error(def.d, `unknown "${source.unknown}" variable`);
    return undefined;
  }
  const values: Record<string, string> = {};
  const lenient = (text: string, d: Directive, captures: Set<string>) => {
    const left: string[] = [];
    const v = convert(text, { ...env, captures }, left);
    for (const n of left) diag.warn(d, `map $${name}: Portico cannot compute $${n}; it is left out of this value`);
    skipped.push(...left);
    return v;
  };
  for (const e of def.entries) {
    // The named captures of a regex key are variables in its value.
    const captures = e.key.startsWith('~') ? new Set([...e.key.matchAll(/\(\?P?<([A-Za-z_]\w*)>/g)].map((m) => m[1]!)) : new Set<string>();
    const v = lenient(e.value, e.d, captures);
    if (!v.ok) {
      if (v.unknown !== undefined) diag.error(e.d, `unknown "${v.unknown}" variable`);
      return undefined;
    }
    const problem = mapKeyProblem(e.key);
    if (problem) {
      diag.error(e.d, `regular expression "${e.key}" cannot be used: ${problem}`);
      return undefined;
    }
    const warning = mapKeyWarning(e.key);
    if (warning && !quiet.has(e.key)) diag.warn(e.d, `map key "${e.key}" ${warning}`);
    quiet.add(e.key);
    if (!(e.key in values)) values[e.key] = v.template;
  }
  const fallback = def.defaultValue === undefined ? undefined : lenient(def.defaultValue, def.d, new Set());
  if (fallback && !fallback.ok) return undefined;
  return {
    source: source.template,
    values,
    ...(fallback?.ok && fallback.template !== '' ? { default: fallback.template } : {}),
    ...(def.hostnames ? { hostnames: true as const } : {}),
    ...(def.volatile ? { volatile: true as const } : {}),
    ...(def.addresses ? { addresses: def.addresses } : {}),
  };
}

/**
 * `geo [$source] $variable { ... }` (https://nginx.org/en/docs/http/ngx_http_geo_module.html):
 * CIDR (or, after `ranges`, "first-last") keys, `default`, `delete`, `include` (read by the
 * parser). The source is $remote_addr unless given. `proxy` / `proxy_recursive` (the address
 * taken from X-Forwarded-For when the client is one of them) are refused: a geo often decides
 * who gets in, and reading another address than nginx would is a limit failing open.
 */
function collectGeo(d: Directive, diag: Diagnostics): MapDef | undefined {
  const [first, second] = d.args as [string, string | undefined];
  const variable = second ?? first;
  if (!variable.startsWith('$')) {
    diag.error(d, `invalid variable name "${variable}"`);
    return undefined;
  }
  const def: MapDef = { source: second === undefined ? '$remote_addr' : first, variable: variable.slice(1), d, entries: [], defaultValue: undefined, hostnames: false, volatile: false, addresses: 'cidr' };
  const deleted: string[] = [];
  for (const e of d.block ?? []) {
    if (e.name === 'ranges' && e.args.length === 0) {
      def.addresses = 'ranges';
      continue;
    }
    if (e.name === 'proxy' || e.name === 'proxy_recursive') {
      diag.error(e, `geo "${e.name}" cannot be carried over: Portico reads the client address as its trusted_proxies say, not per geo block`);
      return undefined;
    }
    if (e.args.length !== 1) {
      diag.error(e, `invalid number of the geo parameters`);
      continue;
    }
    if (e.name === 'default') def.defaultValue = e.args[0];
    else if (e.name === 'delete') deleted.push(e.args[0]!);
    else def.entries.push({ key: e.name, value: e.args[0]!, d: e });
  }
  def.entries = def.entries.filter((e) => !deleted.includes(e.key));
  for (const e of def.entries) {
    const ok = def.addresses === 'ranges' ? parseRange(e.key) !== undefined : parseCidr(e.key) !== undefined;
    if (!ok) diag.error(e.d, def.addresses === 'ranges' ? `invalid range "${e.key}"` : `invalid network "${e.key}"`);
  }
  return def;
}
