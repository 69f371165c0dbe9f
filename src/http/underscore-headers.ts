/**
 * Request header fields whose names contain "_" are dropped unless the server keeps them
 * (`underscores_in_headers`), as nginx ignores them by default (underscores_in_headers off,
 * ignore_invalid_headers on). CGI and WSGI map "-" and "_" to the same variable: gunicorn
 * reads "X_Forwarded_For: 6.6.6.6" as HTTP_X_FORWARDED_FOR and joins it with Portico's own
 * X-Forwarded-For, the client's value first, which is the one frameworks believe. Dropped at
 * the start, they reach neither the upstream nor routing, matchers or {header.*} templates.
 */
import type { IncomingMessage } from 'node:http';

/** Removes every field whose name has "_" from the request, in place (only called when there is one). */
export function dropUnderscoredHeaders(req: IncomingMessage): void {
  const raw = req.rawHeaders;
  let at = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.indexOf('_') >= 0) continue;
    raw[at++] = name;
    raw[at++] = raw[i + 1]!;
  }
  raw.length = at;
  // node may have built `headers` from rawHeaders already (its server reads Expect); others
  // build it lazily from the list just filtered.
  const headers = req.headers as Record<string, unknown>;
  for (const name of Object.keys(headers)) if (name.indexOf('_') >= 0) delete headers[name];
}
