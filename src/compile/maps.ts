/**
 * `maps` (nginx's map module, https://nginx.org/en/docs/http/ngx_http_map_module.html), compiled
 * once: the source template is evaluated, then plain keys are looked up ignoring case (with
 * `hostnames`, then the longest matching "*.name" / ".name" and "name.*" masks), then the
 * "~"/"~*" regex keys are tried in order (their captures feed {re.N} in the value), then the
 * default; a map of `addresses` (nginx's geo) looks up CIDRs or ranges (geo.ts). A request reads one as {map.NAME}; the value is looked up once per request and kept
 * (nginx caches a variable's value), unless the map is `volatile`.
 */
import type { MapConfig } from '../config/schema.js';
import { compileTemplate, type Template } from '../http/template.js';
import { NO_MAPS, type Exchange, type MapLookups } from '../http/exchange.js';
import { mapKeyRegex } from '../config/map-key.js';
import { compileGeo } from './geo.js';

export type CompiledMaps = MapLookups;

export { NO_MAPS };

export function compileMaps(cfg: Readonly<Record<string, MapConfig>> | undefined): CompiledMaps {
  if (!cfg) return NO_MAPS;
  const out = new Map<string, Template>();
  for (const [name, def] of Object.entries(cfg)) {
    const lookup = compileMap(def);
    out.set(name, def.volatile ? lookup : cached(name, lookup));
  }
  return out;
}

function cached(name: string, lookup: Template): Template {
  return (ex) => {
    const seen = ex.mapValues?.get(name);
    if (seen !== undefined) return seen;
    const value = lookup(ex);
    (ex.mapValues ??= new Map()).set(name, value);
    return value;
  };
}

interface Mask {
  /** ".example.com" for "*.example.com" and ".example.com"; "www.example." for "www.example.*". */
  part: string;
  /** ".example.com" also matches "example.com" itself. */
  self: boolean;
  value: Template;
}

function compileMap(def: MapConfig): Template {
  const source = compileTemplate(def.source);
  if (def.addresses !== undefined) {
    const table = compileGeo(Object.entries(def.values).map(([k, v]) => [k, compileTemplate(v)]), def.addresses === 'ranges');
    const otherwise = compileTemplate(def.default);
    return (ex) => (table.lookup(source(ex)) ?? otherwise)(ex);
  }
  const exact = new Map<string, Template>();
  const leading: Mask[] = [];
  const trailing: Mask[] = [];
  const regexes: { re: RegExp; value: Template }[] = [];
  for (const [key, value] of Object.entries(def.values)) {
    const t = compileTemplate(value);
    if (key.startsWith('~')) regexes.push({ re: mapKeyRegex(key), value: t });
    else if (def.hostnames && key.startsWith('*.')) leading.push({ part: key.slice(1).toLowerCase(), self: false, value: t });
    else if (def.hostnames && key.startsWith('.')) leading.push({ part: key.toLowerCase(), self: true, value: t });
    else if (def.hostnames && key.endsWith('.*')) trailing.push({ part: key.slice(0, -1).toLowerCase(), self: false, value: t });
    else {
      const k = def.hostnames ? key.toLowerCase().replace(/\.$/, '') : key.toLowerCase();
      if (!exact.has(k)) exact.set(k, t);
    }
  }
  // The longest mask wins (ngx_hash_find_wc_head / _tail).
  leading.sort((a, b) => b.part.length - a.part.length);
  trailing.sort((a, b) => b.part.length - a.part.length);
  const fallback = compileTemplate(def.default);
  return (ex) => {
    const v = source(ex);
    let key = v.toLowerCase();
    if (def.hostnames && key.endsWith('.')) key = key.slice(0, -1);
    const hit = exact.get(key);
    if (hit) return hit(ex);
    for (const m of leading) if (key.endsWith(m.part) ? key.length > m.part.length : m.self && key === m.part.slice(1)) return m.value(ex);
    for (const m of trailing) if (key.startsWith(m.part) && key.length > m.part.length) return m.value(ex);
    for (const r of regexes) {
      const m = r.re.exec(v);
      if (m !== null) return withCaptures(ex, m, r.value);
    }
    return fallback(ex);
  };
}

/** A value read with the captures of the key that matched (nginx: $1.. of the map's regex). */
function withCaptures(ex: Exchange, m: RegExpExecArray, value: Template): string {
  const saved = ex.captures;
  ex.captures = m;
  try {
    return value(ex);
  } finally {
    ex.captures = saved;
  }
}
