/**
 * Placeholders in header values and redirect targets, compiled once into a function so a
 * request only concatenates strings. Known placeholders (Caddy's names):
 *   {host} {hostport} {scheme} {method} {uri} {path} {query} {remote_ip} {client_ip}
 *   {header.NAME} {re.N} / {re.NAME} (captures of a regex route or rewrite)
 * and those nginx configs need: {is_args} ("?" when there is a query, nginx $is_args),
 * {server_port} (the port the request arrived on, nginx $server_port) and {map.NAME}
 * (a lookup in the config's `maps`, nginx's map), {arg.NAME} and {cookie.NAME} (nginx's
 * $arg_NAME and $cookie_NAME, read as nginx reads them: src/http/request-vars.ts).
 * A value without "{" compiles to a constant.
 */
import type { Exchange } from '../server/exchange.js';
import { hostWithoutPort } from '../http/host.js';
import { argValue, cookieHeaders, cookieValue } from '../http/request-vars.js';

export type Template = (ex: Exchange) => string;

const PLACEHOLDER = /\{([a-z_]+(?:\.[A-Za-z0-9_-]+)?)\}/g;

export interface TemplateOptions {
  /** Percent-encode what {re.N} inserts (a redirect target must not carry raw spaces or CRLF). */
  escapeCaptures?: boolean;
}

function part(name: string, options: TemplateOptions): Template | string {
  switch (name) {
    case 'host':
      return (ex) => hostWithoutPort(ex.hostHeader);
    case 'hostport':
      return (ex) => ex.hostHeader;
    case 'scheme':
      return (ex) => ex.scheme;
    case 'method':
      return (ex) => ex.req.method ?? '';
    case 'uri':
      return (ex) => ex.req.url ?? '';
    case 'path':
      return (ex) => ex.path;
    case 'query':
      return (ex) => ex.query.slice(1);
    case 'remote_ip':
      return (ex) => ex.peerIp;
    case 'client_ip':
      return (ex) => ex.clientIp;
    case 'is_args':
      return (ex) => (ex.query.length > 1 ? '?' : '');
    case 'server_port':
      return (ex) => String(ex.req.socket.localPort ?? '');
  }
  if (name.startsWith('header.')) {
    const header = name.slice(7).toLowerCase();
    return (ex) => {
      const v = ex.req.headers[header];
      return Array.isArray(v) ? v.join(', ') : (v ?? '');
    };
  }
  if (name.startsWith('arg.')) {
    const arg = name.slice(4);
    return (ex) => argValue(ex.query.slice(1), arg);
  }
  if (name.startsWith('cookie.')) {
    const cookie = name.slice(7);
    return (ex) => cookieValue(cookieHeaders(ex.req.rawHeaders), cookie);
  }
  if (name.startsWith('map.')) {
    const map = name.slice(4);
    return (ex) => ex.maps.get(map)?.(ex) ?? '';
  }
  if (name.startsWith('re.')) {
    const key = name.slice(3);
    const index = /^\d+$/.test(key) ? Number(key) : undefined;
    const get = (ex: Exchange) => (index !== undefined ? ex.captures?.[index] : ex.captures?.groups?.[key]) ?? '';
    return options.escapeCaptures ? (ex) => encodeURI(get(ex)) : get;
  }
  return `{${name}}`; // unknown: kept literally, as Caddy does
}

export function compileTemplate(text: string, options: TemplateOptions = {}): Template {
  if (!text.includes('{')) return () => text;
  const parts: (Template | string)[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(part(m[1]!, options));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
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
