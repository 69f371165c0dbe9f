/**
 * Upstream response headers as sent to the client: hop-by-hop and `Connection`-named headers
 * dropped (RFC 9110 §7.6.1), and `Content-Length` on a 204 (RFC 9110 §8.6: a server must not
 * send one); everything else kept in order, repeated Set-Cookie included. Names and values are
 * latin1 strings as node's parser produced them, so every byte passes as it came.
 */
import { HOP_BY_HOP, connectionTokens, dropNamed } from './hop-by-hop.js';

export function clientResponseHeaders(raw: readonly string[], status: number): string[] {
  const out: string[] = [];
  let nominated: string[] | undefined;
  const noLength = status === 204;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connectionTokens(value, (nominated ??= []));
      continue;
    }
    if (noLength && lower === 'content-length') continue;
    out.push(name, value);
  }
  return nominated ? dropNamed(out, nominated) : out;
}
