/**
 * What on-the-fly compression does with one response head: pass it as it is, pass it with
 * `Vary: Accept-Encoding` (the answer depended on the request's Accept-Encoding, which a
 * cache must know: RFC 9110 §12.5.5), or compress it. Pure: the policy is compiled once per
 * route (src/compile/route-chain.ts), the request's side is read once per request
 * (compress.ts), and this reads the head.
 *
 * The order follows nginx's gzip filter (ngx_http_gzip_header_filter, then ngx_http_gzip_ok):
 *  1. never: a status without a body or with a part of one (1xx, 204, 206, a Content-Range),
 *     `Content-Encoding` already set (a precompressed file, an app that compressed),
 *     `Cache-Control: no-transform` (RFC 9110 §7.7), a type not in the list, a
 *     Content-Length below min_length (an unknown length counts as large);
 *  2. past those the answer depends on Accept-Encoding: Vary is added, merged into an
 *     existing Vary, never twice, whether or not this client gets a coding;
 *  3. compressed when the client takes one of the route's codings and the request is not
 *     excluded (HTTP version, User-Agent, nginx's gzip_proxied for requests with Via).
 * A 304 has no type or length to judge by: when this client takes a coding it gets Vary and
 * the weak ETag the 200 would have carried (Caddy adds Vary to 304s for the same reason,
 * RFC 9110 §15.4.5: a 304 carries the fields a 200 would).
 * Compressing drops Content-Length (the length is not known until the end) and
 * Accept-Ranges (ranges of the compressed bytes are not offered), and makes a strong ETag
 * weak: the compressed bytes are another representation, equivalent but not byte-equal
 * (RFC 9110 §8.8.1, §8.8.3; nginx does the same), so If-None-Match (weak comparison) still
 * matches it and If-Match / If-Range (strong) do not.
 */
import type { ContentCoding, CodingChooser } from '../http/accept-encoding.js';

/** nginx's gzip_proxied flags (ngx_http_core_module.h), as a bit set. */
export const PROXIED = {
  off: 1 << 0,
  expired: 1 << 1,
  'no-cache': 1 << 2,
  'no-store': 1 << 3,
  private: 1 << 4,
  no_last_modified: 1 << 5,
  no_etag: 1 << 6,
  auth: 1 << 7,
  any: 1 << 8,
} as const;

export type ProxiedFlag = keyof typeof PROXIED;

/** A route's compression, compiled once (src/compile/route-chain.ts). */
export interface CompressPolicy {
  /** The route's codings this node has, best first for a request's Accept-Encoding. */
  readonly chooser: CodingChooser;
  readonly level: Readonly<Record<ContentCoding, number>>;
  /** Whether a media type (lower case, no parameters) is compressed. */
  readonly type: (mediaType: string) => boolean;
  readonly minLength: number;
  /** PROXIED bits. */
  readonly proxied: number;
  /** A User-Agent whose requests get no compression (nginx gzip_disable), or null. */
  readonly disabledFor: ((userAgent: string) => boolean) | null;
  /** HTTP/1.0 requests get compressed responses too. */
  readonly http10: boolean;
}

/** What the request decides, read once per request. */
export interface RequestSide {
  /** The coding this client gets, or null: it takes none of the route's, or the request is excluded. */
  coding: ContentCoding | null;
  /** Came through another proxy (Via): nginx's gzip_proxied applies. */
  via: boolean;
  /** Has Authorization (gzip_proxied auth). */
  auth: boolean;
}

export interface HeadDecision {
  headers: string[];
  /** Compress the body with this coding; null: the body goes as it is. */
  coding: ContentCoding | null;
  /** Content-Length of the uncompressed body, or -1. */
  length: number;
  /** Flush every write (text/event-stream, X-Accel-Buffering: no). */
  flushEachWrite: boolean;
}

/** Field positions in a head, found in one pass. */
interface Fields {
  type: string | undefined;
  encoding: boolean;
  length: number;
  range: boolean;
  noTransform: boolean;
  cacheControl: string | undefined;
  etag: number;
  vary: number;
  varyCovers: boolean;
  noBuffering: boolean;
  expires: string | undefined;
  date: string | undefined;
  lastModified: boolean;
}

function scan(headers: readonly string[]): Fields {
  const f: Fields = {
    type: undefined,
    encoding: false,
    length: -1,
    range: false,
    noTransform: false,
    cacheControl: undefined,
    etag: -1,
    vary: -1,
    varyCovers: false,
    noBuffering: false,
    expires: undefined,
    date: undefined,
    lastModified: false,
  };
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    // Names are compared by length first: most fields of a head are none of these.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'etag') f.etag = i;
        else if (name.toLowerCase() === 'vary') {
          f.vary = i;
          if (/(?:^|,)\s*(?:\*|accept-encoding)\s*(?:,|$)/i.test(value)) f.varyCovers = true;
        } else if (name.toLowerCase() === 'date') f.date = value;
        break;
      case 7:
        if (name.toLowerCase() === 'expires') f.expires = value;
        break;
      case 12:
        if (name.toLowerCase() === 'content-type') f.type = value;
        break;
      case 13:
        if (name.toLowerCase() === 'content-range') f.range = true;
        else if (name.toLowerCase() === 'cache-control') {
          f.cacheControl = f.cacheControl === undefined ? value : `${f.cacheControl},${value}`;
          if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(value)) f.noTransform = true;
        } else if (name.toLowerCase() === 'last-modified') f.lastModified = true;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          const n = Number(value.trim());
          f.length = Number.isSafeInteger(n) && n >= 0 ? n : -1;
        }
        break;
      case 16:
        if (name.toLowerCase() === 'content-encoding') f.encoding = value.trim() !== '';
        break;
      case 17:
        if (name.toLowerCase() === 'x-accel-buffering' && value.trim().toLowerCase() === 'no') f.noBuffering = true;
        break;
    }
  }
  return f;
}

/** The media type of a Content-Type value, lower case, without parameters. */
function mediaType(value: string): string {
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
}

const PASS = (headers: string[]): HeadDecision => ({ headers, coding: null, length: -1, flushEachWrite: false });

export function decideHead(policy: CompressPolicy, req: RequestSide, status: number, headers: string[]): HeadDecision {
  if (status < 200 || status === 204 || status === 206) return PASS(headers);
  const f = scan(headers);
  if (status === 304) {
    if (req.coding === null) return PASS(headers);
    return PASS(edit(headers, f, null));
  }
  if (f.range || f.encoding || f.noTransform) return PASS(headers);
  if (f.type === undefined || !policy.type(mediaType(f.type))) return PASS(headers);
  if (f.length >= 0 && f.length < policy.minLength) return PASS(headers);
  if (req.coding === null || (req.via && !proxiedAllows(policy.proxied, req.auth, f))) return PASS(f.varyCovers ? headers : edit(headers, f, undefined));
  return {
    headers: edit(headers, f, req.coding),
    coding: req.coding,
    length: f.length,
    flushEachWrite: f.noBuffering || mediaType(f.type) === 'text/event-stream',
  };
}

/**
 * A copy of the head with Vary covering Accept-Encoding and, when `coding` is not undefined,
 * the strong ETag made weak; with a coding, Content-Encoding set and Content-Length and
 * Accept-Ranges gone. The caller's array is never changed (a route may send the same one
 * with every response).
 */
function edit(headers: readonly string[], f: Fields, coding: ContentCoding | null | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    let value = headers[i + 1]!;
    if (coding) {
      const lower = name.length === 14 || name.length === 13 ? name.toLowerCase() : '';
      if (lower === 'content-length' || lower === 'accept-ranges') continue;
    }
    if (i === f.etag && coding !== undefined && value.startsWith('"')) value = `W/${value}`;
    else if (i === f.vary && !f.varyCovers) value = value.trim() === '' ? 'Accept-Encoding' : `${value}, Accept-Encoding`;
    out.push(name, value);
  }
  if (f.vary < 0) out.push('Vary', 'Accept-Encoding');
  if (coding) out.push('Content-Encoding', coding);
  return out;
}

/**
 * nginx's gzip_proxied for a request with Via (ngx_http_gzip_ok): `off` never, `any` always,
 * `auth` when the request has Authorization; then, by the response: with Expires, only
 * `expired` and an Expires before Date; with Cache-Control, `no-cache`/`no-store`/`private`
 * when it says so; otherwise yes, unless `no_last_modified` and Last-Modified, or `no_etag`
 * and an ETag.
 */
function proxiedAllows(p: number, auth: boolean, f: Fields): boolean {
  if (p & PROXIED.off) return false;
  if (p & PROXIED.any) return true;
  if (auth && p & PROXIED.auth) return true;
  if (f.expires !== undefined) {
    if (!(p & PROXIED.expired)) return false;
    const expires = Date.parse(f.expires);
    const date = f.date === undefined ? Date.now() : Date.parse(f.date);
    return !Number.isNaN(expires) && !Number.isNaN(date) && expires < date;
  }
  if (f.cacheControl !== undefined) {
    if (p & PROXIED['no-cache'] && hasDirective(f.cacheControl, 'no-cache')) return true;
    if (p & PROXIED['no-store'] && hasDirective(f.cacheControl, 'no-store')) return true;
    if (p & PROXIED.private && hasDirective(f.cacheControl, 'private')) return true;
    return false;
  }
  if (p & PROXIED.no_last_modified && f.lastModified) return false;
  if (p & PROXIED.no_etag && f.etag >= 0) return false;
  return true;
}

function hasDirective(list: string, directive: string): boolean {
  for (const part of list.split(',')) {
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase() === directive) return true;
  }
  return false;
}
