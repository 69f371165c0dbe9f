/**
 * The `path` of a route, written as an nginx `location` argument:
 *   "/api/"        prefix
 *   "= /exact"     exact match
 *   "^~ /static/"  prefix that, when it is the longest match, skips the regex routes
 *   "~ \.php$"     case-sensitive regex
 *   "~* \.jpg$"    case-insensitive regex
 * (nginx: https://nginx.org/en/docs/http/ngx_http_core_module.html#location)
 * A regex is compiled by src/regex/safe-regex.ts: it cannot backtrack, runs in the linear-time
 * engine, or is refused.
 */
import { backtrackingWarning, compileSafeRegex } from '../regex/safe-regex.js';

export type LocationSpec =
  | { kind: 'exact'; path: string }
  | { kind: 'prefix'; path: string; noRegex: boolean }
  /** `regex` carries no `i` flag even for "~*": case folding is written into it (src/regex/case-fold.ts). */
  | { kind: 'regex'; regex: RegExp; source: string; caseInsensitive: boolean };

export function parseLocation(text: string): LocationSpec | string {
  const trimmed = text.trim();
  // A path first is a prefix, spaces included (nginx's quoted `location "/a b/"`).
  if (trimmed.startsWith('/')) return { kind: 'prefix', path: trimmed, noRegex: false };
  const space = trimmed.search(/\s/);
  const modifier = space > 0 ? trimmed.slice(0, space) : '';
  const rest = space > 0 ? trimmed.slice(space).trim() : trimmed;
  switch (modifier) {
    case '=':
      return checkPath(rest) ?? { kind: 'exact', path: rest };
    case '^~':
      return checkPath(rest) ?? { kind: 'prefix', path: rest, noRegex: true };
    case '~':
    case '~*':
      return compileRegex(rest, modifier === '~*');
    default:
      if (space > 0) return `unknown modifier '${modifier}' (use =, ^~, ~ or ~*)`;
      return checkPath(trimmed) ?? { kind: 'prefix', path: trimmed, noRegex: false };
  }
}

function checkPath(path: string): string | undefined {
  if (path === '') return 'expected a path after the modifier';
  if (!path.startsWith('/')) return `expected a path starting with '/', got '${path}'`;
  return undefined;
}

function compileRegex(source: string, caseInsensitive: boolean): LocationSpec | string {
  if (source === '') return 'expected a regular expression after the modifier';
  // PCRE's (?P<name>...) is the spelling nginx users know; JavaScript spells it (?<name>...).
  const js = source.replace(/\(\?P</g, '(?<');
  try {
    return { kind: 'regex', regex: compileSafeRegex(js, caseInsensitive).regex, source, caseInsensitive };
  } catch (err) {
    return (err as Error).message;
  }
}

/** What `portico check` says about a regex location that could backtrack, or undefined. */
export function locationWarning(text: string): string | undefined {
  const m = /^(~\*?)\s+(.*)$/s.exec(text.trim());
  if (!m) return undefined;
  return backtrackingWarning(m[2]!.trim().replace(/\(\?P</g, '(?<'), m[1] === '~*');
}
