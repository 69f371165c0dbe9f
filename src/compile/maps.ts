/**
 * `maps` (nginx's map module, https://nginx.org/en/docs/http/ngx_http_map_module.html), compiled
 * once: the source template is evaluated, then plain keys are looked up ignoring case, then the
 * "~"/"~*" regex keys are tried in order, then the default. A request reads one as {map.NAME}.
 */
import type { MapConfig } from '../config/schema.js';
import { compileTemplate, type Template } from '../http/template.js';
import { NO_MAPS, type MapLookups } from '../http/exchange.js';
import { mapKeyRegex } from '../config/map-key.js';

export type CompiledMaps = MapLookups;

export { NO_MAPS };

export function compileMaps(cfg: Readonly<Record<string, MapConfig>> | undefined): CompiledMaps {
  if (!cfg) return NO_MAPS;
  const out = new Map<string, Template>();
  for (const [name, def] of Object.entries(cfg)) out.set(name, compileMap(def));
  return out;
}

function compileMap(def: MapConfig): Template {
  const source = compileTemplate(def.source);
  const exact = new Map<string, Template>();
  const regexes: { re: RegExp; value: Template }[] = [];
  for (const [key, value] of Object.entries(def.values)) {
    if (key.startsWith('~')) {
      regexes.push({ re: mapKeyRegex(key), value: compileTemplate(value) });
    } else if (!exact.has(key.toLowerCase())) exact.set(key.toLowerCase(), compileTemplate(value));
  }
  const fallback = compileTemplate(def.default);
  return (ex) => {
    const v = source(ex);
    const hit = exact.get(v.toLowerCase());
    if (hit) return hit(ex);
    for (const r of regexes) if (r.re.test(v)) return r.value(ex);
    return fallback(ex);
  };
}
