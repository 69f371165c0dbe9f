/**
 * Cache-Control and Expires for files (nginx `expires`, Caddy `header Cache-Control`),
 * compiled to a function that appends them; sent with 200, 206 and 304 (§15.4.5 wants them on
 * a 304 as on the 200 it stands for).
 */

/** nginx `expires max`. */
const MAX_EXPIRES = 'Thu, 31 Dec 2037 23:55:55 GMT';
const MAX_AGE = 315_360_000;

export type CacheHeaders = (out: string[]) => void;

export function compileCacheHeaders(cacheControl: string | undefined, expires: number | 'off' | 'max'): CacheHeaders {
  if (expires === 'off') {
    if (cacheControl === undefined) return () => {};
    return (out) => void out.push('Cache-Control', cacheControl);
  }
  const maxAge = expires === 'max' ? MAX_AGE : Math.floor(expires / 1000);
  const control = cacheControl ?? `max-age=${maxAge}`;
  if (expires === 'max') return (out) => void out.push('Cache-Control', control, 'Expires', MAX_EXPIRES);
  // Expires = now + duration, at HTTP-date precision: remade at most once a second.
  let second = -1;
  let value = '';
  return (out) => {
    const now = Date.now();
    const s = Math.floor(now / 1000);
    if (s !== second) {
      second = s;
      value = new Date(s * 1000 + expires).toUTCString();
    }
    out.push('Cache-Control', control, 'Expires', value);
  };
}
