/**
 * A `maps` key: "~re" (case-sensitive) or "~*re" (case-insensitive) is a regex, PCRE's
 * `(?P<name>...)` spelled as JavaScript's `(?<name>...)`; any other key is a plain value.
 * Compiled by src/regex/safe-regex.ts: it cannot backtrack, runs in the linear-time engine, or is refused.
 */
import { backtrackingWarning, compileSafeRegex, regexProblem } from '../regex/safe-regex.js';

function split(key: string): { source: string; ignoreCase: boolean } {
  const ignoreCase = key.startsWith('~*');
  return { source: key.slice(ignoreCase ? 2 : 1).replace(/\(\?P</g, '(?<'), ignoreCase };
}

/** The regex of a "~" key; throws an Error saying why it cannot be used. */
export function mapKeyRegex(key: string): RegExp {
  const { source, ignoreCase } = split(key);
  return compileSafeRegex(source, ignoreCase).regex;
}

/** An error message for a regex key that cannot be used, else undefined (plain keys included). */
export function mapKeyProblem(key: string): string | undefined {
  if (!key.startsWith('~')) return undefined;
  const { source, ignoreCase } = split(key);
  return regexProblem(source, ignoreCase);
}

/** What `portico check` says about a regex key that could backtrack, or undefined. */
export function mapKeyWarning(key: string): string | undefined {
  if (!key.startsWith('~')) return undefined;
  const { source, ignoreCase } = split(key);
  return backtrackingWarning(source, ignoreCase);
}
