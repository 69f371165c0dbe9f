/**
 * Caddy request matchers (https://caddyserver.com/docs/caddyfile/matchers) as far as Portico's
 * routes can express them: paths (exact, prefix `/x*`, `/x/*`, other globs, `path_regexp`) become
 * route paths, `remote_ip`/`client_ip` and `not remote_ip` the route's `match`; the other
 * conditions (header, method, query, other `not`s, ...) are listed in `dropped`, and the
 * directive's mapper decides (./routes.ts: left out with a warning, or refused when the
 * directive answers or guards requests). Path matching in Caddy ignores case; globs other than a trailing `*`
 * become case-insensitive regex routes.
 */
import type { Directive } from './parser.js';
import type { Token } from './lexer.js';
import type { Diagnostics } from '../diagnostics.js';
import { locationWarning, parseLocation } from '../../location-syntax.js';

export type PathPattern =
  | { kind: 'all' }
  | { kind: 'exact'; path: string }
  | { kind: 'prefix'; path: string }
  | { kind: 'regex'; source: string; ci: boolean; name?: string };

export interface Matcher {
  /** Any of these (Caddy ORs the values of one matcher); empty with `all` false means "no path condition". */
  paths: PathPattern[];
  /** Host names from a `host` matcher. */
  hosts: string[];
  /** CIDRs from `remote_ip` / `client_ip` (Portico's route `match.remote_ip`). */
  remoteIps: string[];
  /** CIDRs from `not remote_ip` / `not client_ip` (Portico's route `match.not_remote_ip`). */
  notRemoteIps: string[];
  /** Conditions Portico drops ("method GET", "header X-A b"). */
  dropped: string[];
  /** For messages: "@api" or "/api/*". */
  label: string;
}

export const ALL: Matcher = { paths: [{ kind: 'all' }], hosts: [], remoteIps: [], notRemoteIps: [], dropped: [], label: '*' };

/** Named matchers defined in a block: `@name { ... }` or `@name type args...`. */
export function matcherDefinitions(dirs: readonly Directive[], diag: Diagnostics, inherited?: ReadonlyMap<string, Matcher>): Map<string, Matcher> {
  const out = new Map(inherited);
  for (const d of dirs) {
    if (!d.name.startsWith('@')) continue;
    const m: Matcher = { paths: [], hosts: [], remoteIps: [], notRemoteIps: [], dropped: [], label: d.name };
    const conditions: Directive[] = d.block ?? (d.args.length > 0 ? [{ name: d.args[0]!.text, args: d.args.slice(1), file: d.file, line: d.line }] : []);
    // `@name /path` is shorthand for a path matcher.
    if (!d.block && d.args[0]?.text.startsWith('/')) conditions[0] = { name: 'path', args: d.args, file: d.file, line: d.line };
    for (const c of conditions) addCondition(m, c, diag);
    out.set(d.name, m);
  }
  return out;
}

function addCondition(m: Matcher, c: Directive, diag: Diagnostics): void {
  const args = c.args.map((a) => a.text);
  switch (c.name) {
    case 'path':
      m.paths.push(...args.map(pathPattern));
      return;
    case 'path_regexp': {
      const [name, re] = args.length === 2 ? args : [undefined, args[0]];
      if (re === undefined) {
        diag.error(c, 'path_regexp needs a regular expression');
        return;
      }
      // It becomes a regex route ("~ re"): the same checks as a location regex.
      const spec = parseLocation(`~ ${re}`);
      if (typeof spec === 'string') {
        diag.error(c, `path_regexp "${re}": ${spec}`);
        return;
      }
      const warning = locationWarning(`~ ${re}`);
      if (warning) diag.warn(c, `path_regexp "${re}" ${warning}`);
      m.paths.push({ kind: 'regex', source: re, ci: false, ...(name ? { name } : {}) });
      return;
    }
    case 'host':
      m.hosts.push(...args.map((a) => a.toLowerCase()));
      return;
    case 'remote_ip':
    case 'client_ip':
      m.remoteIps.push(...args.filter((a) => a !== 'forwarded'));
      return;
    case 'not': {
      // `not remote_ip A` / `not { remote_ip A }`: the address is in none of them. Several
      // `not`s in one matcher all hold, which is again "in none of them".
      const inner: Directive[] = c.block ?? (args.length > 0 ? [{ name: c.args[0]!.text, args: c.args.slice(1), file: c.file, line: c.line }] : []);
      if (inner.length > 0 && inner.every((i) => (i.name === 'remote_ip' || i.name === 'client_ip') && !i.block)) {
        m.notRemoteIps.push(...inner.flatMap((i) => i.args.map((a) => a.text).filter((a) => a !== 'forwarded')));
        return;
      }
      m.dropped.push(`not ${inner.map((i) => [i.name, ...i.args.map((a) => a.text)].join(' ')).join('; ')}`);
      return;
    }
    default:
      m.dropped.push(`${c.name}${args.length > 0 ? ' ' + args.join(' ') : ''}`);
  }
}

/** `*`, `/exact`, `/prefix*`, `/dir/*`, other globs. */
export function pathPattern(glob: string): PathPattern {
  if (glob === '*' || glob === '/*') return { kind: 'all' };
  const stars = glob.split('*').length - 1;
  if (stars === 0) return { kind: 'exact', path: glob };
  if (stars === 1 && glob.endsWith('*') && glob.startsWith('/')) return { kind: 'prefix', path: glob.slice(0, -1) };
  const source = '^' + glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$';
  return { kind: 'regex', source, ci: true };
}

/**
 * A directive's matcher token, as Caddy decides (https://caddyserver.com/docs/caddyfile/matchers#syntax):
 * `*`, a path starting with "/", or `@name` as the first argument.
 */
export function matcherOf(d: Directive, named: ReadonlyMap<string, Matcher>, diag: Diagnostics): { matcher: Matcher | undefined; args: Token[] } {
  const first = d.args[0];
  if (!first || first.quoted) return { matcher: undefined, args: d.args };
  if (first.text === '*') return { matcher: ALL, args: d.args.slice(1) };
  if (first.text.startsWith('/')) return { matcher: { paths: [pathPattern(first.text)], hosts: [], remoteIps: [], notRemoteIps: [], dropped: [], label: first.text }, args: d.args.slice(1) };
  if (first.text.startsWith('@')) {
    const m = named.get(first.text);
    if (!m) diag.error(d, `unrecognized matcher name: ${first.text}`);
    return { matcher: m ?? ALL, args: d.args.slice(1) };
  }
  return { matcher: undefined, args: d.args };
}

/** Whether every path `b` matches, `a` matches too (only decided for literal patterns). */
export function covers(a: PathPattern, b: PathPattern): boolean {
  if (a.kind === 'all') return true;
  if (a.kind === 'prefix') return (b.kind === 'prefix' || b.kind === 'exact') && b.path.toLowerCase().startsWith(a.path.toLowerCase());
  if (a.kind === 'exact') return b.kind === 'exact' && b.path.toLowerCase() === a.path.toLowerCase();
  return b.kind === 'regex' && b.source === a.source;
}

/** The regex of a pattern, for rewrite rules. */
export function patternRegex(p: PathPattern): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  switch (p.kind) {
    case 'all':
      return '^';
    case 'exact':
      return `(?i)^${esc(p.path)}$`;
    case 'prefix':
      return `(?i)^${esc(p.path)}`;
    case 'regex':
      return p.ci ? `(?i)${p.source}` : p.source;
  }
}
