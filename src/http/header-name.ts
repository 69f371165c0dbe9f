/**
 * A field name against one known name, ignoring ASCII case (RFC 9110 §5.1: names are
 * case-insensitive), without lower-casing it first: toLowerCase allocates a new string for
 * every name written in the usual capitalized form (Content-Length), and the hot path compares
 * a few names per field of every request and response.
 */

/** Whether `name` is `lower` (given in lower case) in any ASCII case. */
export function isName(name: string, lower: string): boolean {
  const n = lower.length;
  if (name.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    const l = lower.charCodeAt(i);
    // An upper-case ASCII letter matches its lower-case form; nothing else is folded.
    if (c !== l && (c < 65 || c > 90 || c + 32 !== l)) return false;
  }
  return true;
}
