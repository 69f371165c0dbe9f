/**
 * Cache-Control as a list of directives (RFC 9111 §5.2): `name` or `name=value`, the value a
 * token or a quoted-string, names case-insensitive, several fields read as one list. One pass
 * over the text, no regular expression.
 */

export interface Directives {
  /** Lower-case name -> value ('' when the directive has none); the first of a repeated name wins. */
  readonly map: ReadonlyMap<string, string>;
}

const EMPTY: Directives = { map: new Map() };

export function parseCacheControl(values: readonly string[]): Directives {
  if (values.length === 0) return EMPTY;
  const map = new Map<string, string>();
  for (const text of values) {
    const n = text.length;
    let i = 0;
    while (i < n) {
      while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === ',')) i++;
      const start = i;
      while (i < n && text[i] !== '=' && text[i] !== ',' && text[i] !== ' ' && text[i] !== '\t') i++;
      const name = text.slice(start, i).toLowerCase();
      while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
      let value = '';
      if (text[i] === '=') {
        i++;
        while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
        if (text[i] === '"') {
          i++;
          while (i < n && text[i] !== '"') {
            if (text[i] === '\\' && i + 1 < n) i++;
            value += text[i];
            i++;
          }
          i++; // the closing quote
        } else {
          const v = i;
          while (i < n && text[i] !== ',' && text[i] !== ' ' && text[i] !== '\t') i++;
          value = text.slice(v, i);
        }
      }
      // Anything else up to the next comma is not part of this directive.
      while (i < n && text[i] !== ',') i++;
      if (name !== '' && !map.has(name)) map.set(name, value);
    }
  }
  return { map };
}

/** A delta-seconds value (RFC 9111 §1.2.2): digits only; undefined when absent or malformed. */
export function deltaSeconds(d: Directives, name: string): number | undefined {
  const v = d.map.get(name);
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  // §1.2.2: a value too large to represent is taken as 2^31.
  return Math.min(Number(v), 2 ** 31);
}
