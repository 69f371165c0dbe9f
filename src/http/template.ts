/**
 * Placeholders in header values, redirect targets and rewrites, compiled once into a function
 * so a request only concatenates strings. Known placeholders (Caddy's names):
 *   {host} {hostport} {scheme} {method} {uri} {path} {query} {remote_ip} {client_ip}
 *   {header.NAME} {re.N} / {re.NAME} (captures of a regex route or rewrite)
 * and those nginx configs need: {is_args} ("?" when there is a query, nginx $is_args),
 * {server_port} (the port the request arrived on, nginx $server_port), {request_id}
 * (X-Request-ID, src/http/request-id.ts) and {map.NAME}
 * (a lookup in the config's `maps`, nginx's map), {arg.NAME} and {cookie.NAME} (nginx's
 * $arg_NAME and $cookie_NAME, read as nginx reads them: src/http/request-vars.ts).
 * A value without "{" compiles to a constant.
 *
 * A template knows where its text lands (its context), and each placeholder that inserts
 * request text is escaped for that place, chosen here at compile time (src/http/escape.ts):
 * {path} of "GET /a%0d%0aX:%20y" is "/a\r\nX: y", which must not become a header line.
 */
import type { Exchange } from './exchange.js';
import { hostWithoutPort } from './host.js';
import { fieldFromBytes, fieldFromText, pathFromText, queryFromText, uriFromBytes, type Escape } from './escape.js';
import { argValue, cookieHeaders, cookieValue } from './request-vars.js';
import { requestIdOf } from './request-id.js';

export type Template = (ex: Exchange) => string;

/**
 * Where a template's text goes:
 *  - internal: used by Portico itself (map sources, limit keys, file paths): nothing escaped;
 *  - header: a request or response header value;
 *  - location: a redirect target (Location), a URI;
 *  - path: an internal rewrite target, a decoded path (encoded again when sent upstream)
 *    and, after a "?", a query.
 */
export type TemplateContext = 'internal' | 'header' | 'location' | 'path';

export interface TemplateOptions {
  context?: TemplateContext;
}

const PLACEHOLDER = /\{([a-z_]+(?:\.[A-Za-z0-9_-]+)?)\}/g;

/**
 * What a placeholder inserts: `safe` text Portico made or validated (an address, a port, the
 * scheme), decoded `text` (the path and its captures), or `bytes` as the client sent them.
 */
type Kind = 'safe' | 'text' | 'bytes';

interface Part {
  kind: Kind;
  get: Template;
}

function part(name: string): Part | undefined {
  switch (name) {
    case 'host':
      return { kind: 'bytes', get: (ex) => hostWithoutPort(ex.hostHeader) };
    case 'hostport':
      return { kind: 'bytes', get: (ex) => ex.hostHeader };
    case 'scheme':
      return { kind: 'safe', get: (ex) => ex.scheme };
    case 'method':
      return { kind: 'bytes', get: (ex) => ex.req.method ?? '' };
    case 'uri':
      return { kind: 'bytes', get: (ex) => ex.req.url ?? '' };
    case 'path':
      return { kind: 'text', get: (ex) => ex.path };
    case 'query':
      return { kind: 'bytes', get: (ex) => ex.query.slice(1) };
    case 'remote_ip':
      return { kind: 'safe', get: (ex) => ex.peerIp };
    case 'client_ip':
      return { kind: 'safe', get: (ex) => ex.clientIp }; // an address isIP() accepted (client-ip.ts)
    case 'is_args':
      return { kind: 'safe', get: (ex) => (ex.query.length > 1 ? '?' : '') };
    case 'server_port':
      return { kind: 'safe', get: (ex) => String(ex.req.socket.localPort ?? '') };
    case 'request_id':
      return { kind: 'safe', get: requestIdOf }; // made here, or a proxy's checked by request-id.ts
  }
  if (name.startsWith('header.')) {
    const header = name.slice(7).toLowerCase();
    return {
      kind: 'bytes',
      get: (ex) => {
        const v = ex.req.headers[header];
        return Array.isArray(v) ? v.join(', ') : (v ?? '');
      },
    };
  }
  if (name.startsWith('arg.')) {
    const arg = name.slice(4);
    return { kind: 'bytes', get: (ex) => argValue(ex.query.slice(1), arg) };
  }
  if (name.startsWith('cookie.')) {
    const cookie = name.slice(7);
    return { kind: 'bytes', get: (ex) => cookieValue(cookieHeaders(ex.req.rawHeaders), cookie) };
  }
  if (name.startsWith('map.')) {
    const map = name.slice(4);
    // A map's value may be any placeholder: escaped as bytes, which keeps it within its place.
    return { kind: 'bytes', get: (ex) => ex.maps.get(map)?.(ex) ?? '' };
  }
  if (name.startsWith('re.')) {
    const key = name.slice(3);
    const index = /^\d+$/.test(key) ? Number(key) : undefined;
    return { kind: 'text', get: (ex) => (index !== undefined ? ex.captures?.[index] : ex.captures?.groups?.[key]) ?? '' };
  }
  return undefined; // unknown: kept literally, as Caddy does
}

/** The escape for a placeholder of `kind` in `context`; `inQuery`: after the template's first "?". */
function escapeFor(context: TemplateContext, kind: Kind, inQuery: boolean): Escape | undefined {
  if (kind === 'safe') return undefined;
  switch (context) {
    case 'internal':
      return undefined;
    case 'header':
      return kind === 'text' ? fieldFromText : fieldFromBytes;
    case 'location':
      return kind === 'bytes' ? uriFromBytes : inQuery ? queryFromText : pathFromText;
    case 'path':
      // Before the "?" the target is a decoded path: encodePath() encodes it for the upstream.
      if (!inQuery) return undefined;
      return kind === 'bytes' ? uriFromBytes : queryFromText;
  }
}

export function compileTemplate(text: string, options: TemplateOptions = {}): Template {
  if (!text.includes('{')) return () => text;
  const context = options.context ?? 'internal';
  const parts: (Template | string)[] = [];
  let last = 0;
  let inQuery = false;
  const literal = (s: string) => {
    parts.push(s);
    if (s.includes('?')) inQuery = true;
  };
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) literal(text.slice(last, m.index));
    last = m.index + m[0].length;
    const p = part(m[1]!);
    if (p === undefined) {
      literal(m[0]);
      continue;
    }
    const escape = escapeFor(context, p.kind, inQuery);
    const get = p.get;
    parts.push(escape === undefined ? get : (ex) => escape(get(ex)));
  }
  if (last < text.length) literal(text.slice(last));
  if (parts.every((p) => typeof p === 'string')) {
    const constant = parts.join('');
    return () => constant;
  }
  return (ex) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(ex);
    return out;
  };
}
