/**
 * The regex of a `rewrite` rule as written (PCRE habits included): a leading `(?i)` means
 * case-insensitive, and `(?P<name>...)` is JavaScript's `(?<name>...)`. Compiled by
 * src/regex/safe-regex.ts: it cannot backtrack, runs in the linear-time engine, or is refused.
 */
import { backtrackingWarning, compileSafeRegex } from '../regex/safe-regex.js';

function split(source: string): { body: string; ignoreCase: boolean } {
  const ignoreCase = source.startsWith('(?i)');
  return { body: (ignoreCase ? source.slice(4) : source).replace(/\(\?P</g, '(?<'), ignoreCase };
}

export function compileRewriteRegex(source: string): RegExp {
  const { body, ignoreCase } = split(source);
  return compileSafeRegex(body, ignoreCase).regex;
}

/** An error message, or undefined when the regex compiles. */
export function checkRewriteRegex(source: string): string | undefined {
  try {
    compileRewriteRegex(source);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** What `portico check` says about a rewrite regex that could backtrack, or undefined. */
export function rewriteRegexWarning(source: string): string | undefined {
  const { body, ignoreCase } = split(source);
  return backtrackingWarning(body, ignoreCase);
}
