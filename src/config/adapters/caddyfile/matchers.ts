/**
 * Caddy request matchers (https://caddyserver.com/docs/caddyfile/matchers). Path conditions
 * (exact, prefix `/x*`, `/x/*`, other globs, `path_regexp`) become route paths; every other
 * condition Portico checks at run time becomes the route's `match` set (src/config/match-schema.ts:
 * `method`, `host`, `protocol`, `header`, `header_regexp`, `query`, `remote_ip`/`client_ip`,
 * `vars` on a placeholder, `not`, `expression` in its common CEL forms). What is left (`file`,
 * `tls`, a `vars` on a variable, an expression Portico cannot read...) is listed in `dropped`,
 * and the directive's mapper decides (./routes.ts: left out with a warning, or refused when the
 * directive answers or guards requests). Path matching in Caddy ignores case; globs other than
 * a trailing `*` become case-insensitive regex routes.
 */
import type { Directive } from './parser.js';
import type { Token } from './lexer.js';
import type { Diagnostics } from '../diagnostics.js';
import type { RouteMatchInput } from '../../match-schema.js';
import { PROTOCOLS } from '../../match-schema.js';
import { locationWarning, parseLocation } from '../../location-syntax.js';
import { regexProblem } from '../../../regex/safe-regex.js';
import { convertPlaceholders } from './placeholders.js';
import { goRegex, parseExpression } from './expression.js';
import { cidrs } from './directives/reverse-proxy.js';

export type PathPattern =
  | { kind: 'all' }
  | { kind: 'exact'; path: string }
  | { kind: 'prefix'; path: string }
  | { kind: 'regex'; source: string; ci: boolean; name?: string };

export type MatchSet = RouteMatchInput;

export interface Matcher {
  /** Any of these (Caddy ORs the values of one matcher); empty means "no path condition". */
  paths: PathPattern[];
  /** Conditions besides the path, as a route `match` set; undefined: none. */
  match: MatchSet | undefined;
  /** Conditions Portico cannot check ("file", "tls"...). */
  dropped: string[];
  /** For messages: "@api" or "/api/*". */
  label: string;
}

export const ALL: Matcher = { paths: [{ kind: 'all' }], match: undefined, dropped: [], label: '*' };

/** Named matchers defined in a block: `@name { ... }`, `@name type args...`, or `@name `cel``. */
export function matcherDefinitions(dirs: readonly Directive[], diag: Diagnostics, inherited?: ReadonlyMap<string, Matcher>): Map<string, Matcher> {
  const out = new Map(inherited);
  for (const d of dirs) {
    if (!d.name.startsWith('@')) continue;
    let conditions: Directive[] = d.block ?? (d.args.length > 0 ? [{ name: d.args[0]!.text, args: d.args.slice(1), file: d.file, line: d.line }] : []);
    // `@name /path` is shorthand for a path matcher; `@name "cel"` (one quoted token) for an expression.
    if (!d.block && d.args[0]?.text.startsWith('/') && !d.args[0].quoted) conditions = [{ name: 'path', args: d.args, file: d.file, line: d.line }];
    else if (!d.block && d.args.length === 1 && d.args[0]!.quoted) conditions = [{ name: 'expression', args: d.args, file: d.file, line: d.line }];
    if (conditions.length === 0) diag.error(d, `matcher ${d.name}: no conditions`);
    out.set(d.name, matcherOfConditions(d.name, conditions, diag));
  }
  return out;
}

function matcherOfConditions(label: string, conditions: readonly Directive[], diag: Diagnostics): Matcher {
  const m: Matcher = { paths: [], match: undefined, dropped: [], label };
  const set: MatchSet = {};
  for (const c of conditions) addCondition(m, set, c, diag);
  if (Object.keys(set).length > 0) m.match = set;
  return m;
}

/** A path pattern as a route path (location syntax), for conditions inside `not` and expressions. */
export function routePath(pattern: PathPattern): string {
  if (pattern.kind === 'all') return '/';
  const re = patternRegex(pattern);
  return re.startsWith('(?i)') ? `~* ${re.slice(4)}` : `~ ${re}`;
}

function addCondition(m: Matcher, set: MatchSet, c: Directive, diag: Diagnostics): void {
  const args = c.args.map((a) => a.text);
  const bad = (why: string) => diag.error(c, `${c.name} matcher: ${why}`);
  if (c.block && c.name !== 'not') return bad('blocks are not supported');
  switch (c.name) {
    case 'path':
      if (args.length === 0) return bad('expected at least one path');
      m.paths.push(...args.map(pathPattern));
      return;
    case 'path_regexp': {
      const [name, re] = args.length === 2 ? args : [undefined, args[0]];
      if (re === undefined || args.length > 2) return bad('expected [name] regexp');
      const source = goRegex(re);
      // It becomes a regex route ("~ re"): the same checks as a location regex.
      const spec = parseLocation(`~ ${source}`);
      if (typeof spec === 'string') return diag.error(c, `path_regexp "${re}": ${spec}`);
      const warning = locationWarning(`~ ${source}`);
      if (warning) diag.warn(c, `path_regexp "${re}" ${warning}`);
      m.paths.push({ kind: 'regex', source, ci: false, ...(name ? { name } : {}) });
      return;
    }
    case 'host':
      if (args.length === 0) return bad('expected at least one host');
      (set.host ??= []).push(...args.map((a) => a.toLowerCase()));
      return;
    case 'method':
      if (args.length === 0) return bad('expected at least one method');
      (set.method ??= []).push(...args);
      return;
    case 'protocol':
      if (args.length !== 1) return bad('expected exactly one protocol');
      if (!(PROTOCOLS as readonly string[]).includes(args[0]!.toLowerCase())) return bad(`unknown protocol "${args[0]}"`);
      set.protocol = args[0]!.toLowerCase() as MatchSet['protocol'];
      return;
    case 'remote_ip':
    case 'client_ip': {
      const ips = cidrs({ diag }, c, args.filter((a) => a !== 'forwarded'));
      if (ips.length === 0) return bad('expected at least one address');
      (set.remote_ip ??= []).push(...ips);
      return;
    }
    case 'header': {
      const field = args[0];
      if (field === undefined) return bad('expected field');
      const headers = (set.header ??= {});
      if (field.startsWith('!')) {
        if (field.length === 1 || args.length > 1) return bad('expected !Field alone');
        headers[field.slice(1)] = null;
        return;
      }
      if (args.length !== 2) return bad('expected both field and value');
      const list = headers[field];
      if (list) list.push(args[1]!);
      else headers[field] = [args[1]!];
      return;
    }
    case 'header_regexp': {
      if (args.length !== 2 && args.length !== 3) return bad('expected [name] field regexp');
      const [field, re] = args.slice(-2) as [string, string];
      const source = goRegex(re);
      const problem = regexProblem(source.replace(/^\(\?i\)/, ''), source.startsWith('(?i)'));
      if (problem) return bad(`"${re}": ${problem}`);
      if (set.header_regexp?.[field] !== undefined) return bad(`can only be used once per named matcher, per header field: ${field}`);
      (set.header_regexp ??= {})[field] = source;
      return;
    }
    case 'query': {
      const q = (set.query ??= {});
      for (const a of args) {
        if (a === '') continue;
        const eq = a.indexOf('=');
        if (eq < 0) return bad(`malformed query matcher token: ${a}; must be in param=val format`);
        (q[a.slice(0, eq)] ??= []).push(a.slice(eq + 1));
      }
      return;
    }
    case 'vars':
    case 'vars_regexp': {
      if (args.length < 2) return bad('expected a variable or placeholder and a value');
      const key = c.name === 'vars' ? args[0]! : args[args.length - 2]!;
      const converted = key.startsWith('{') ? convertPlaceholders(key) : undefined;
      if (!converted?.ok) {
        m.dropped.push(`${c.name} ${args.join(' ')}`);
        return;
      }
      if (c.name === 'vars') (set.vars ??= {})[converted.template] = args.slice(1);
      else (set.vars_regexp ??= {})[converted.template] = goRegex(args[args.length - 1]!);
      return;
    }
    case 'expression': {
      // One token is the whole expression; several are joined as written, quotes kept (Caddy's RemainingArgsRaw).
      const text = c.args.length === 1 ? args[0]! : c.args.map((a) => (a.quoted ? JSON.stringify(a.text) : a.text)).join(' ');
      const parsed = parseExpression(text, (g) => routePath(pathPattern(g)), (re) => `~ ${goRegex(re)}`);
      if (!parsed.ok) {
        m.dropped.push(`expression ${text} (${parsed.why})`);
        return;
      }
      // `a && b` is a set of its own conditions; merged into the matcher's where they do not meet.
      const parts = Object.keys(parsed.set).length === 1 && parsed.set.all ? parsed.set.all : [parsed.set];
      for (const part of parts) {
        if (Object.keys(part).some((k) => k in set)) (set.all ??= []).push(part);
        else Object.assign(set, part);
      }
      return;
    }
    case 'not': {
      // `not <matcher>` / `not { ... }`: one set, negated; several `not`s: none of them holds.
      const inner: Directive[] = c.block ?? (args.length > 0 ? [{ name: c.args[0]!.text, args: c.args.slice(1), file: c.file, line: c.line }] : []);
      if (inner.length === 0) return bad('expected a matcher');
      const sub = matcherOfConditions(m.label, inner, diag);
      if (sub.dropped.length > 0) {
        m.dropped.push(...sub.dropped.map((x) => `not ${x}`));
        return;
      }
      const negated: MatchSet = { ...sub.match };
      if (sub.paths.length > 0) negated.path = sub.paths.map(routePath);
      if (Object.keys(negated).length === 0) return;
      // The common allowlist `not remote_ip ...` keeps its own key.
      if (Object.keys(negated).length === 1 && negated.remote_ip && !set.not_remote_ip) set.not_remote_ip = negated.remote_ip;
      else (set.not ??= []).push(negated);
      return;
    }
    default:
      m.dropped.push(`${c.name}${args.length > 0 ? ' ' + args.join(' ') : ''}`);
  }
}

/**
 * `*`, `/exact`, `/prefix*`, `/dir/*`, and Caddy's other forms (MatchPath): `*x*` contains,
 * `*x` ends with, and any other glob as Go's path.Match, where `*` and `?` stop at a "/".
 */
export function pathPattern(glob: string): PathPattern {
  if (glob === '*' || glob === '/*') return { kind: 'all' };
  const stars = glob.split('*').length - 1;
  if (stars === 0 && !glob.includes('?')) return { kind: 'exact', path: glob };
  const esc = (t: string) => t.replace(/[.+?^${}()|[\]\\*]/g, '\\$&');
  if (stars === 1 && glob.endsWith('*') && glob.startsWith('/')) return { kind: 'prefix', path: glob.slice(0, -1) };
  if (stars === 2 && glob.startsWith('*') && glob.endsWith('*')) return { kind: 'regex', source: `^.*${esc(glob.slice(1, -1))}.*$`, ci: true };
  if (stars === 1 && glob.startsWith('*')) return { kind: 'regex', source: `^.*${esc(glob.slice(1))}$`, ci: true };
  const source = '^' + [...glob].map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : esc(ch))).join('') + '$';
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
  if (first.text.startsWith('/')) return { matcher: { paths: [pathPattern(first.text)], match: undefined, dropped: [], label: first.text }, args: d.args.slice(1) };
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
