/**
 * An HTTP/1.0 client may send no Host and an HTTP/1.1 one an empty Host (RFC 9112 §3.2), but
 * HTTP/1.1 upstreams require a non-empty one: as Caddy does, the upstream's own address stands
 * in. It replaces an empty (or earlier stand-in) field rather than adding a second one, which
 * a strict upstream answers 400 and a lax one may read either way. Only for requests without
 * a Host value, so the scan costs nothing on the common path.
 */
export function standInHost(headers: string[], authority: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length === 4 && headers[i]!.toLowerCase() === 'host') {
      headers[i + 1] = authority;
      return;
    }
  }
  headers.push('Host', authority);
}
