/**
 * A host name written as "~regex" (nginx server_name: https://nginx.org/en/docs/http/server_names.html#regex_names),
 * matched against the lower-cased Host or SNI name, ignoring case; PCRE's `(?P<name>...)` is
 * spelled as JavaScript's `(?<name>...)`. Compiled by src/regex/safe-regex.ts: it cannot
 * backtrack, runs in the linear-time engine, or is refused.
 */
import { backtrackingWarning, compileSafeRegex, regexProblem } from '../regex/safe-regex.js';

const body = (name: string) => name.slice(1).replace(/\(\?P</g, '(?<');

/** The regex of a "~" host name; throws an Error saying why it cannot be used. */
export function hostRegex(name: string): RegExp {
  return compileSafeRegex(body(name), true).regex;
}

/** An error message for a "~" name that cannot be used, else undefined (other names included). */
export function hostNameProblem(name: string): string | undefined {
  return name.startsWith('~') ? regexProblem(body(name), true) : undefined;
}

/** What `portico check` says about a "~" name that could backtrack, or undefined. */
export function hostNameWarning(name: string): string | undefined {
  return name.startsWith('~') ? backtrackingWarning(body(name), true) : undefined;
}
