/**
 * The warnings `portico check` (and `run`) print for the regexes of a Portico config that a
 * backtracking engine could take more than linear time on, and that therefore run in V8's
 * linear-time engine (src/regex/safe-regex.ts), each at the line it is written on. The nginx
 * and Caddyfile adapters warn at their own directives instead.
 */
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { PorticoConfig } from './schema.js';
import { locationWarning } from './location-syntax.js';
import { rewriteRegexWarning } from './rewrite-syntax.js';
import { mapKeyWarning } from './map-key.js';
import { hostNameWarning } from './host-name.js';

type Path = (string | number)[];

export function regexWarnings(config: PorticoConfig, text: string, file: string): string[] {
  const found: { path: Path; text: string }[] = [];
  const note = (path: Path, what: string, warning: string | undefined) => {
    if (warning) found.push({ path, text: `${what} ${warning}` });
  };
  for (const [name, def] of Object.entries(config.maps ?? {}))
    for (const key of Object.keys(def.values)) note(['maps', name, 'values', key], `map key "${key}"`, mapKeyWarning(key));
  config.servers.forEach((server, si) => {
    server.hosts?.forEach((host, hi) => note(['servers', si, 'hosts', hi], `host "${host}"`, hostNameWarning(host)));
    server.rewrite?.forEach((r, ri) => note(['servers', si, 'rewrite', ri, 'match'], `rewrite "${r.match}"`, rewriteRegexWarning(r.match)));
    server.routes.forEach((route, ri) => {
      note(['servers', si, 'routes', ri, 'path'], `location "${route.path}"`, locationWarning(route.path));
      route.rewrite?.forEach((r, wi) => note(['servers', si, 'routes', ri, 'rewrite', wi, 'match'], `rewrite "${r.match}"`, rewriteRegexWarning(r.match)));
    });
  });
  if (found.length === 0) return [];
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  return found.map(({ path, text }) => {
    const node = doc.getIn(path, true) as Node | undefined;
    const at = node?.range ? lines.linePos(node.range[0]) : undefined;
    return `${at ? `${file}:${at.line}:${at.col}` : file}: ${dotted(path)}: ${text}`;
  });
}

/** servers[0].routes[2].path, as load.ts writes key paths. */
function dotted(path: Path): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}
