/**
 * Vary (RFC 9111 §4.1): a response that names request headers in Vary is stored as one variant
 * of its key per combination of those headers' values, as nginx does (the key's node holds the
 * names, each variant lives under the hash of the key and the values). A later request is
 * served a variant only when its own values select the same one. Values are compared after
 * joining repeated fields with ", " and folding runs of spaces (§4.1 allows normalizing); an
 * absent header and an empty one are different.
 */
import { keyHash } from './key.js';

/** The selecting values of a request, as one string: "accept-encoding:gzip\ncookie:a=1". */
export function selectedBy(names: readonly string[], raw: readonly string[]): string {
  let out = '';
  for (const name of names) {
    let value: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length !== name.length || raw[i]!.toLowerCase() !== name) continue;
      const v = raw[i + 1]!.trim().replace(/[ \t]+/g, ' ');
      value = value === undefined ? v : `${value}, ${v}`;
    }
    out += `${name}${value === undefined ? '!' : ':' + value}\n`;
  }
  return out;
}

/** Where the variant selected by `selected` of the key hashed `main` is stored. */
export function variantHash(main: string, selected: string): string {
  return keyHash(`${main}\n${selected}`);
}
