/**
 * Conditional requests (RFC 9110 §13): which of 200, 304 and 412 a GET or HEAD gets, in the
 * order of §13.2.2, and whether an If-Range lets a Range apply (§13.1.5).
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface Validators {
  /** Quoted strong entity tag, or undefined when ETags are off. */
  readonly etag: string | undefined;
  /** Last modification in whole seconds. */
  readonly mtimeSec: number;
}

export type Precondition = 200 | 304 | 412;

export function evaluatePreconditions(h: IncomingHttpHeaders, v: Validators): Precondition {
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    // §13.1.1: strong comparison; "*" matches any current representation.
    if (!tagListMatches(ifMatch, v.etag, true)) return 412;
  } else {
    const ius = h['if-unmodified-since'];
    if (ius !== undefined) {
      const t = httpDateSec(ius);
      if (t !== undefined && v.mtimeSec > t) return 412;
    }
  }
  const inm = h['if-none-match'];
  if (inm !== undefined) {
    // §13.1.2: weak comparison; a match is 304 for GET/HEAD (the only methods served here).
    return tagListMatches(inm, v.etag, false) ? 304 : 200;
  }
  const ims = h['if-modified-since'];
  if (ims !== undefined) {
    const t = httpDateSec(ims);
    if (t !== undefined && v.mtimeSec <= t) return 304;
  }
  return 200;
}

/** §13.1.5: a Range applies when If-Range is absent or names the current representation. */
export function ifRangeAllows(h: IncomingHttpHeaders, v: Validators): boolean {
  const value = h['if-range'];
  if (value === undefined) return true;
  const text = (Array.isArray(value) ? value.join(',') : value).trim();
  if (text.startsWith('W/')) return false; // weak tags never match here
  if (text.startsWith('"')) return v.etag !== undefined && text === v.etag;
  // A date must equal Last-Modified exactly (it is only a strong validator then).
  const t = httpDateSec(text);
  return t !== undefined && t === v.mtimeSec;
}

function tagListMatches(list: string, etag: string | undefined, strong: boolean): boolean {
  const text = list.trim();
  if (text === '*') return true;
  if (etag === undefined) return false;
  for (let tag of text.split(',')) {
    tag = tag.trim();
    if (tag.startsWith('W/')) {
      if (strong) continue;
      tag = tag.slice(2);
    }
    if (tag === etag) return true;
  }
  return false;
}

/** An HTTP-date (IMF-fixdate and the obsolete forms Date.parse accepts) in seconds. */
function httpDateSec(text: string): number | undefined {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}
