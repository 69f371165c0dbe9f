/**
 * nginx's `$uri`: the request path percent-decoded, with "//" merged and "." / ".." resolved.
 * Routes match on this form, so "/static/../admin/" is routed as "/admin/" and no encoding
 * trick reaches a route it should not. Returns undefined for a path nginx answers with 400:
 * bad percent-encoding, invalid UTF-8, a NUL byte, or ".." above the root.
 */
export function normalizePath(raw: string): string | undefined {
  if (raw.charCodeAt(0) !== 47 /* / */) return undefined;
  // Fast path: nothing to decode, merge or resolve (the common case).
  if (raw.indexOf('%') < 0 && raw.indexOf('//') < 0 && raw.indexOf('/.') < 0) return raw;
  let decoded: string;
  try {
    decoded = raw.indexOf('%') < 0 ? raw : decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const out: string[] = [];
  const segments = decoded.split('/');
  // segments[0] is '' (the leading slash); the last one decides the trailing slash.
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '' || seg === '.') {
      if (last) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return '/' + out.join('/');
}

/** Percent-encodes a decoded path for sending upstream (keeps '/' and RFC 3986 pchars). */
export function encodePath(path: string): string {
  let encoded: string;
  try {
    encoded = encodeURI(path);
  } catch {
    // A lone surrogate (a rewrite capture that split an emoji in two) has no UTF-8 form and
    // makes encodeURI throw: it becomes U+FFFD, as src/http/escape.ts does.
    encoded = encodeURI(path.replace(LONE_SURROGATE, '\uFFFD'));
  }
  return encoded.replace(/[?#]/g, (c) => (c === '?' ? '%3F' : '%23'));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A "." or ".." segment (RFC 3986 §3.3), in a decoded path. */
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/**
 * The path sent upstream for a request path `raw` that routes as `path`: `raw` itself unless
 * routing resolved dot segments, so encoded bytes reach the upstream as sent
 * ("/api/group%2Fproject" stays one segment, "//" stays). With dot segments (literal or
 * percent-encoded), the routed path, re-encoded: an upstream that resolves them differently
 * (RFC 3986's remove_dot_segments reads "/admin//.." as "/admin/", nginx's merge-then-resolve
 * as "/") or not at all (a prefix match on "/admin/" in "/admin/../x") would otherwise serve
 * another path than the one routing checked. nginx forwards the raw form (proxy_pass without
 * a URI part); docs/differences.md.
 */
export function forwardedPath(raw: string, path: string): string {
  if (raw === path) return raw;
  let decoded: string;
  try {
    decoded = raw.indexOf('%') < 0 ? raw : decodeURIComponent(raw);
  } catch {
    return encodePath(path);
  }
  return DOT_SEGMENT.test(decoded) ? encodePath(path) : raw;
}
