/**
 * The client's conditional headers against a stored 200 (RFC 9110 §13.2.2 order, as nginx's
 * not_modified filter applies them to cached responses). Unlike a file's, a stored
 * response's entity tag may be weak (W/"x") and its Last-Modified may be missing:
 *  - If-Match compares strongly, so a weak tag never matches (only "*"): 412 otherwise;
 *  - If-Unmodified-Since without If-Match: 412 when modified after it; ignored without a
 *    Last-Modified (§13.1.4);
 *  - If-None-Match compares weakly: 304 on a match;
 *  - If-Modified-Since without If-None-Match: 304 when not modified after it; ignored
 *    without a Last-Modified.
 */
import type { IncomingHttpHeaders } from 'node:http';

export function evaluateCached(h: IncomingHttpHeaders, etag: string | undefined, lastModified: string | undefined): 200 | 304 | 412 {
  const lm = lastModified === undefined ? undefined : seconds(lastModified);
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    if (!tagMatches(ifMatch, etag, true)) return 412;
  } else {
    const ius = h['if-unmodified-since'];
    const t = ius === undefined ? undefined : seconds(ius);
    if (t !== undefined && lm !== undefined && lm > t) return 412;
  }
  const inm = h['if-none-match'];
  if (inm !== undefined) return tagMatches(inm, etag, false) ? 304 : 200;
  const ims = h['if-modified-since'];
  const t = ims === undefined ? undefined : seconds(ims);
  if (t !== undefined && lm !== undefined && lm <= t) return 304;
  return 200;
}

/** §13.1.5: a Range applies when If-Range is absent or names the stored response (strongly). */
export function ifRangeMatches(h: IncomingHttpHeaders, etag: string | undefined, lastModified: string | undefined): boolean {
  const value = h['if-range'];
  if (value === undefined) return true;
  const text = (Array.isArray(value) ? value.join(',') : value).trim();
  if (text.startsWith('W/')) return false;
  if (text.startsWith('"')) return etag !== undefined && !etag.startsWith('W/') && text === etag;
  const t = seconds(text);
  return t !== undefined && lastModified !== undefined && seconds(lastModified) === t;
}

function tagMatches(list: string, etag: string | undefined, strong: boolean): boolean {
  const text = list.trim();
  if (text === '*') return true;
  if (etag === undefined) return false;
  if (strong && etag.startsWith('W/')) return false;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (let tag of text.split(',')) {
    tag = tag.trim();
    if (tag.startsWith('W/')) {
      if (strong) continue;
      tag = tag.slice(2);
    }
    if (tag === opaque) return true;
  }
  return false;
}

function seconds(text: string): number | undefined {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}
