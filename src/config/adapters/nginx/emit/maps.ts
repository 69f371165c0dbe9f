/**
 * `map $source $variable { ... }` blocks (https://nginx.org/en/docs/http/ngx_http_map_module.html).
 * A map whose source and values Portico can compute becomes an entry of the config's `maps`,
 * read as {map.NAME} wherever the variable is used (header values, redirects, rewrites). The
 * WebSocket idiom `map $http_upgrade $connection_upgrade { default upgrade; '' close; }` is
 * never needed: it feeds the `Connection` header, which Portico manages itself.
 */
import type { Directive } from '../parser.js';
import type { Diagnostics } from '../../diagnostics.js';
import { convert, type VariableEnv } from '../variables.js';
import { mapKeyProblem, mapKeyWarning } from '../../../map-key.js';

export interface MapDef {
  source: string;
  variable: string;
  d: Directive;
  entries: { key: string; value: string; d: Directive }[];
  defaultValue: string | undefined;
  hostnames: boolean;
}

/** A map as Portico's `maps` entry. */
export interface CanonicalMap {
  source: string;
  values: Record<string, string>;
  default?: string;
}

export function collectMaps(http: readonly Directive[], diag: Diagnostics): Map<string, MapDef> {
  const out = new Map<string, MapDef>();
  for (const d of http) {
    if (d.name !== 'map' || !d.block) continue;
    const [source, variable] = d.args as [string, string];
    if (!variable.startsWith('$')) {
      diag.error(d, `invalid variable name "${variable}"`);
      continue;
    }
    const def: MapDef = { source, variable: variable.slice(1), d, entries: [], defaultValue: undefined, hostnames: false };
    for (const e of d.block) {
      if (e.name === 'hostnames') def.hostnames = true;
      if (e.name === 'hostnames' || e.name === 'volatile') continue;
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
 * The maps Portico can compute: source and values convert to templates (nested maps are not
 * followed), regex keys compile, and no `hostnames` masks. Others are warned about where a
 * value reads them (the variable then counts as one Portico cannot compute).
 */
export function canonicalMaps(maps: ReadonlyMap<string, MapDef>, defined: ReadonlySet<string>, diag: Diagnostics): Map<string, CanonicalMap> {
  const out = new Map<string, CanonicalMap>();
  const env: VariableEnv = { defined, captures: new Set(), constants: new Map() };
  for (const [name, def] of maps) {
    const source = convert(def.source, env);
    if (!source.ok) {
      if (source.unknown !== undefined) diag.error(def.d, `unknown "${source.unknown}" variable`);
      continue;
    }
    if (def.hostnames && def.entries.some((e) => e.key.includes('*') || e.key.startsWith('.'))) {
      diag.warn(def.d, `map $${name}: host name masks (hostnames) are not carried over; $${name} is left out where it is used`);
      continue;
    }
    const values: Record<string, string> = {};
    let ok = true;
    for (const e of def.entries) {
      const v = convert(e.value, env);
      if (!v.ok) {
        if (v.unknown !== undefined) diag.error(e.d, `unknown "${v.unknown}" variable`);
        ok = false;
        break;
      }
      if (/\{re\./.test(v.template)) {
        diag.warn(e.d, `map $${name}: captures of a map regex are not carried over; $${name} is left out where it is used`);
        ok = false;
        break;
      }
      const problem = mapKeyProblem(e.key);
      if (problem) {
        diag.error(e.d, `regular expression "${e.key}" cannot be used: ${problem}`);
        ok = false;
        break;
      }
      const warning = mapKeyWarning(e.key);
      if (warning) diag.warn(e.d, `map key "${e.key}" ${warning}`);
      if (!(e.key in values)) values[e.key] = v.template;
    }
    if (!ok) continue;
    const fallback = def.defaultValue === undefined ? undefined : convert(def.defaultValue, env);
    if (fallback && !fallback.ok) continue;
    out.set(name, { source: source.template, values, ...(fallback?.ok && fallback.template !== '' ? { default: fallback.template } : {}) });
  }
  return out;
}
