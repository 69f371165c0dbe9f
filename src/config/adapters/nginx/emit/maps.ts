/**
 * `map $source $variable { ... }` blocks (https://nginx.org/en/docs/http/ngx_http_map_module.html).
 * They define variables; Portico evaluates none at request time, so a map variable is only
 * carried over where its meaning is known: the WebSocket idiom
 * `map $http_upgrade $connection_upgrade { default upgrade; '' close; }` feeds the
 * `Connection` header, which Portico manages itself.
 */
import type { Directive } from '../parser.js';
import type { Diagnostics } from '../../diagnostics.js';

export interface MapDef {
  source: string;
  variable: string;
  d: Directive;
  entries: { key: string; value: string }[];
  defaultValue: string | undefined;
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
    const def: MapDef = { source, variable: variable.slice(1), d, entries: [], defaultValue: undefined };
    for (const e of d.block) {
      if (e.name === 'hostnames' || e.name === 'volatile') continue;
      if (e.args.length !== 1) {
        diag.error(e, `invalid number of the map parameters`);
        continue;
      }
      if (e.name === 'default') def.defaultValue = e.args[0];
      else def.entries.push({ key: e.name, value: e.args[0]! });
    }
    out.set(def.variable, def);
  }
  return out;
}
