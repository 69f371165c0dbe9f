/**
 * The regex of a `rewrite` rule as written (PCRE habits included): a leading `(?i)` means
 * case-insensitive, and `(?P<name>...)` is JavaScript's `(?<name>...)`.
 */
export function compileRewriteRegex(source: string): RegExp {
  let flags = '';
  let body = source;
  if (body.startsWith('(?i)')) {
    flags = 'i';
    body = body.slice(4);
  }
  return new RegExp(body.replace(/\(\?P</g, '(?<'), flags);
}

/** An error message, or undefined when the regex compiles. */
export function checkRewriteRegex(source: string): string | undefined {
  try {
    compileRewriteRegex(source);
    return undefined;
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
}
