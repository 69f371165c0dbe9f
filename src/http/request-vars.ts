/**
 * nginx's `$arg_NAME` and `$cookie_NAME`, computed exactly as nginx does, for the {arg.NAME}
 * and {cookie.NAME} placeholders (limit zone keys, maps and header values carried over from an
 * nginx.conf). A limit keyed on them must see the value nginx would: a client that could make
 * Portico read another value (another case, another separator) could pick its own bucket.
 *  - $arg_NAME (ngx_http_arg): the first `NAME=` at the start of the query or after "&", NAME
 *    compared ignoring case, the value up to the next "&", as sent (not percent-decoded);
 *  - $cookie_NAME (ngx_http_parse_multi_header_lines): in each Cookie header in turn, pairs
 *    separated by ";" or ",", NAME compared ignoring case and followed by optional spaces and
 *    "=", the value (leading spaces skipped) up to the next ";", as sent.
 */

/** `query` without its "?". */
export function argValue(query: string, name: string): string {
  const lower = query.toLowerCase();
  const want = name.toLowerCase() + '=';
  for (let at = lower.indexOf(want); at >= 0; at = lower.indexOf(want, at + 1)) {
    if (at !== 0 && query.charCodeAt(at - 1) !== 0x26 /* & */) continue;
    const start = at + want.length;
    const end = query.indexOf('&', start);
    return end < 0 ? query.slice(start) : query.slice(start, end);
  }
  return '';
}

/** `headers`: the Cookie header values in the order received. */
export function cookieValue(headers: readonly string[], name: string): string {
  const want = name.toLowerCase();
  for (const h of headers) {
    const n = h.length;
    let start = 0;
    while (start < n) {
      if (h.slice(start, start + want.length).toLowerCase() === want) {
        let p = start + want.length;
        while (p < n && h.charCodeAt(p) === 0x20) p++;
        if (p < n && h.charCodeAt(p) === 0x3d /* = */) {
          p++;
          while (p < n && h.charCodeAt(p) === 0x20) p++;
          const end = h.indexOf(';', p);
          return end < 0 ? h.slice(p) : h.slice(p, end);
        }
      }
      // Skip to the next pair: past ";" or ",", then spaces.
      while (start < n) {
        const c = h.charCodeAt(start++);
        if (c === 0x3b || c === 0x2c) break;
      }
      while (start < n && h.charCodeAt(start) === 0x20) start++;
    }
  }
  return '';
}

/** The Cookie header values of a request, in order (HTTP/2 may send several). */
export function cookieHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 6 && raw[i]!.toLowerCase() === 'cookie') out.push(raw[i + 1]!);
  return out;
}
