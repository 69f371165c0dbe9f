/**
 * Placeholders in header values, redirect targets, rewrites and response bodies, compiled once
 * into a function so a request only concatenates strings. What each placeholder reads is in
 * placeholders.ts (Caddy's names where Caddy has one: {host} {uri} {path} {query}
 * {header.NAME} {re.N}..., and those nginx configs need: {is_args} {server_port} {map.NAME}
 * {var.NAME} {arg.NAME} {cookie.NAME} {ssl.NAME} {request_id}...). An unknown placeholder stays as written,
 * as in Caddy; "\{" is a literal "{" (Caddy's escape), so text that only looks like a
 * placeholder can be written. A value without "{" compiles to a constant.
 *
 * A template knows where its text lands (its context), and each placeholder that inserts
 * request text is escaped for that place, chosen here at compile time (src/http/escape.ts):
 * {path} of "GET /a%0d%0aX:%20y" is "/a\r\nX: y", which must not become a header line.
 */
import type { Exchange } from './exchange.js';
import { fieldFromBytes, fieldFromText, pathFromText, queryFromText, uriFromBytes, type Escape } from './escape.js';
import { placeholder, type Kind } from './placeholders.js';

export type Template = (ex: Exchange) => string;

/**
 * Where a template's text goes:
 *  - internal: used by Portico itself (map sources, limit keys, file paths): nothing escaped;
 *  - header: a request or response header value;
 *  - location: a redirect target (Location), a URI;
 *  - path: an internal rewrite target, a decoded path (encoded again when sent upstream)
 *    and, after a "?", a query;
 *  - body: a response body (nginx `return 200 "$host"`): raw bytes are fine in a body, nothing
 *    is escaped; the text is bytes (one character per byte, see compileBody), so request bytes
 *    are sent as the client sent them and decoded text as UTF-8.
 */
export type TemplateContext = 'internal' | 'header' | 'location' | 'path' | 'body';

export interface TemplateOptions {
  context?: TemplateContext;
}

/** A placeholder, or "\{" (a literal brace). */
const PLACEHOLDER = /\\\{|\{([a-z_]+(?:\.[A-Za-z0-9_-]+)?)\}/g;

/** The escape for a placeholder of `kind` in `context`; `inQuery`: after the template's first "?". */
function escapeFor(context: TemplateContext, kind: Kind, inQuery: boolean): Escape | undefined {
  if (kind === 'safe') return undefined;
  switch (context) {
    case 'internal':
      return undefined;
    case 'body':
      return kind === 'text' ? utf8Bytes : undefined;
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

/** Decoded text as its UTF-8 bytes, one character per byte (what Buffer.from(s, 'latin1') writes). */
const utf8Bytes: Escape = (s) => (/[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s);

export function compileTemplate(text: string, options: TemplateOptions = {}): Template {
  const context = options.context ?? 'internal';
  const own = context === 'body' ? utf8Bytes : (s: string) => s;
  if (!text.includes('{')) {
    const constant = own(text);
    return () => constant;
  }
  const parts: (Template | string)[] = [];
  let last = 0;
  let inQuery = false;
  const literal = (s: string) => {
    parts.push(own(s));
    if (s.includes('?')) inQuery = true;
  };
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) literal(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] === undefined) {
      literal('{'); // "\{"
      continue;
    }
    const p = placeholder(m[1]);
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

/**
 * A response body template: its bytes per request, or one Buffer when it has no placeholder
 * (decided here, once).
 */
export function compileBody(text: string): Buffer | ((ex: Exchange) => Buffer) {
  const t = compileTemplate(text, { context: 'body' });
  if (!/\{[a-z_]/.test(text)) return Buffer.from(t(undefined as never), 'latin1');
  return (ex) => Buffer.from(t(ex), 'latin1');
}

/** Text as a template that inserts it literally: "{" that would start a placeholder, or follows "\\", is escaped. */
export function literalTemplate(text: string): string {
  return text.replace(/\{(?=[a-z_]+(?:\.[A-Za-z0-9_-]+)?\})|(?<=\\)\{/g, '\\{');
}
