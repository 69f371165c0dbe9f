/**
 * Upstream response headers as sent to the client: hop-by-hop and `Connection`-named headers
 * dropped (RFC 9110 §7.6.1), and `Content-Length` on a 204 (RFC 9110 §8.6: a server must not
 * send one) or beside a `Transfer-Encoding` (RFC 9112 §6.3 rule 3: the encoding delimits the
 * body, and an intermediary must remove the received length before forwarding); `Location` and
 * `Refresh` rewritten by the route's redirect rules (location-rewrite.ts); everything else kept
 * in order, repeated Set-Cookie included. Names and values are latin1 strings as node's parser
 * produced them, so every byte passes as it came.
 */
import { HOP_BY_HOP, connectionTokens, dropNamed } from './hop-by-hop.js';
import { rewriteLocation, rewriteRefresh, type RedirectRule } from './location-rewrite.js';

const NO_RULES: readonly RedirectRule[] = [];

/**
 * The lengths of the names looked at below (hop-by-hop, Content-Length, Location, Refresh):
 * any other field passes without its name being lower-cased (most of them: Server, Date,
 * Content-Type, ETag, Last-Modified...).
 */
const LOOKED_AT: readonly boolean[] = Array.from({ length: 32 }, (_, n) => n === 14 || n === 8 || n === 7 || [...HOP_BY_HOP].some((h) => h.length === n));

export function clientResponseHeaders(raw: readonly string[], status: number, redirects: readonly RedirectRule[] = NO_RULES): string[] {
  const out: string[] = [];
  let nominated: string[] | undefined;
  let encoded = false;
  let length = false;
  const noLength = status === 204;
  const rewrite = redirects.length > 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    let value = raw[i + 1]!;
    if (LOOKED_AT[name.length] !== true) {
      out.push(name, value);
      continue;
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connectionTokens(value, (nominated ??= []));
      else if (lower === 'transfer-encoding') encoded = true;
      continue;
    }
    if (lower === 'content-length') {
      if (noLength) continue;
      length = true;
    } else if (rewrite) {
      if (lower === 'location') value = rewriteLocation(value, redirects);
      else if (lower === 'refresh') value = rewriteRefresh(value, redirects);
    }
    out.push(name, value);
  }
  if (encoded && length) (nominated ??= []).push('content-length');
  return nominated ? dropNamed(out, nominated) : out;
}
