/**
 * The warnings `portico check` (and `run`) print for the regexes of a Portico config that a
 * backtracking engine could take more than linear time on, and that therefore run in V8's
 * linear-time engine (src/regex/safe-regex.ts), each at the line it is written on. The nginx
 * and Caddyfile adapters warn at their own directives instead.
 */
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { PorticoConfig, RewriteStepConfig } from './schema.js';
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
    steps(server.rewrite, ['servers', si, 'rewrite'], note);
    server.routes.forEach((route, ri) => {
      note(['servers', si, 'routes', ri, 'path'], `location "${route.path}"`, locationWarning(route.path));
      steps(route.rewrite, ['servers', si, 'routes', ri, 'rewrite'], note);
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

/** Rewrite rules and `if` regexes, inside `if` steps too. */
function steps(list: readonly RewriteStepConfig[] | undefined, at: Path, note: (path: Path, what: string, warning: string | undefined) => void): void {
  list?.forEach((step, i) => {
    if ('match' in step) note([...at, i, 'match'], `rewrite "${step.match}"`, rewriteRegexWarning(step.match));
    if (!('if' in step)) return;
    const c = step.if;
    if (typeof c !== 'string' && c.op.includes('~') && c.with !== undefined)
      note([...at, i, 'if', 'with'], `if "${c.with}"`, rewriteRegexWarning(c.op.endsWith('*') ? `(?i)${c.with}` : c.with));
    steps(step.then, [...at, i, 'then'], note);
  });
}

/** servers[0].routes[2].path, as load.ts writes key paths. */
function dotted(path: Path): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}
