/**
 * Request header fields whose names contain "_" are dropped unless the server keeps them
 * (`underscores_in_headers`), as nginx ignores them by default (underscores_in_headers off,
 * ignore_invalid_headers on). CGI and WSGI map "-" and "_" to the same variable: gunicorn
 * reads "X_Forwarded_For: 6.6.6.6" as HTTP_X_FORWARDED_FOR and joins it with Portico's own
 * X-Forwarded-For, the client's value first, which is the one frameworks believe. Dropped at
 * the start, they reach neither the upstream nor routing, matchers or {header.*} templates.
 */
import type { RequestHead } from './request.js';

/** Removes every field whose name has "_" from the request, in place (only called when there is one). */
export function dropUnderscoredHeaders(req: RequestHead & { readonly headersDistinct?: object }): void {
  // node builds `headers` and `headersDistinct` lazily, counting fields by the count its
  // parser saw, not by rawHeaders' length: built after the list shrinks they would read past
  // its end (a TypeError thrown out of the request handler). Build both first, then filter.
  const headers = req.headers as Record<string, unknown>;
  const distinct = req.headersDistinct as Record<string, unknown> | undefined; // the lean request has none
  const raw = req.rawHeaders;
  let at = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.indexOf('_') >= 0) continue;
    raw[at++] = name;
    raw[at++] = raw[i + 1]!;
  }
  raw.length = at;
  for (const name of Object.keys(headers)) if (name.indexOf('_') >= 0) delete headers[name];
  if (distinct) for (const name of Object.keys(distinct)) if (name.indexOf('_') >= 0) delete distinct[name];
}
