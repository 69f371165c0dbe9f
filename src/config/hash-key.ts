/** The key of the `hash` policy: "uri", "header:<Name>" or "cookie:<name>". */
export type HashKey = { on: 'uri' } | { on: 'header'; name: string } | { on: 'cookie'; name: string };

export function parseHashKey(text: string): HashKey | undefined {
  if (text === 'uri') return { on: 'uri' };
  const m = /^(header|cookie):([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.exec(text);
  if (!m) return undefined;
  return m[1] === 'header' ? { on: 'header', name: m[2]!.toLowerCase() } : { on: 'cookie', name: m[2]! };
}
