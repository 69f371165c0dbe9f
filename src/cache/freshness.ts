/**
 * Whether a response may be stored, and until when it is fresh: nginx's precedence
 * (ngx_http_upstream_process_accel_expires / _cache_control / _expires, then
 * ngx_http_file_cache_valid), which RFC 9111 §4.2.1 agrees with where both speak:
 *  1. X-Accel-Expires: seconds, or "@" and a Unix time; "0" never stores. It wins over
 *     everything below, Cache-Control no-cache and private included (nginx);
 *  2. Cache-Control: no-store, no-cache or private never store (nginx; RFC 9111 §3, §5.2.2);
 *     s-maxage, else max-age, less the Age the response already has (§4.2.3); 0 never stores;
 *  3. Expires: a date in the past, or not a date, never stores (§5.3);
 *  4. the route's `valid` table by status (nginx proxy_cache_valid), when none of them spoke.
 * Never stored whatever the above says: a response with Set-Cookie (nginx; a session cookie
 * served to everyone is a session given away), with Vary: * (§4.1: no request matches it),
 * and 1xx, 206 and 304 answers (the cache asks for whole responses). `ignore_headers` (nginx
 * proxy_ignore_headers) takes a header out of this decision.
 * Kept from Cache-Control for later, even when it is ignored for the lifetime: whether a
 * response to a request with Authorization may serve others (public, s-maxage,
 * must-revalidate: §3.5), and must-revalidate / proxy-revalidate (§5.2.2.2, §5.2.2.8: never
 * served stale). stale-while-revalidate and stale-if-error (RFC 5861) give the windows after
 * the entry expires in which it may still be served while updating, or on an error.
 */
import { parseCacheControl, deltaSeconds, type Directives } from './cache-control.js';

export type Ignorable = 'x-accel-expires' | 'expires' | 'cache-control' | 'set-cookie' | 'vary';

export interface ValidTable {
  readonly byStatus: ReadonlyMap<number, number>;
  /** ms for statuses not listed ("any"). */
  readonly any: number | undefined;
}

export interface FreshnessPolicy {
  readonly valid: ValidTable | undefined;
  readonly ignore: ReadonlySet<Ignorable>;
}

export interface Freshness {
  /** '' when the response may be stored; else why not (for the debug log and tests). */
  readonly refuse: string;
  /** When the response stops being fresh (ms since the epoch). */
  readonly expires: number;
  /** stale-while-revalidate and stale-if-error, seconds after `expires`. */
  readonly swr: number;
  readonly sie: number;
  /** must-revalidate or proxy-revalidate: never served stale. */
  readonly mustRevalidate: boolean;
  /** public, s-maxage or must-revalidate: a response to a request with Authorization may serve others. */
  readonly authOk: boolean;
  /** Lower-case names of the request headers that select this response (Vary), or null. */
  readonly vary: readonly string[] | null;
  /** The Age the response came with, seconds. */
  readonly age: number;
}

/** The response headers freshness reads, gathered in one pass. */
interface Seen {
  cacheControl: string[];
  vary: string[];
  expires: string | undefined;
  accelExpires: string | undefined;
  setCookie: boolean;
  age: number;
}

function gather(headers: readonly string[]): Seen {
  const seen: Seen = { cacheControl: [], vary: [], expires: undefined, accelExpires: undefined, setCookie: false, age: 0 };
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    switch (name.length) {
      case 3:
        if (name.toLowerCase() === 'age' && /^\s*\d+\s*$/.test(headers[i + 1]!)) seen.age = Number(headers[i + 1]);
        break;
      case 4:
        if (name.toLowerCase() === 'vary') seen.vary.push(headers[i + 1]!);
        break;
      case 7:
        if (name.toLowerCase() === 'expires') seen.expires ??= headers[i + 1]!;
        break;
      case 10:
        if (name.toLowerCase() === 'set-cookie') seen.setCookie = true;
        break;
      case 13:
        if (name.toLowerCase() === 'cache-control') seen.cacheControl.push(headers[i + 1]!);
        break;
      case 15:
        if (name.toLowerCase() === 'x-accel-expires') seen.accelExpires ??= headers[i + 1]!;
        break;
    }
  }
  return seen;
}

const NOT_STORED = (refuse: string): Freshness => ({ refuse, expires: 0, swr: 0, sie: 0, mustRevalidate: false, authOk: false, vary: null, age: 0 });

export function responseFreshness(status: number, headers: readonly string[], now: number, policy: FreshnessPolicy): Freshness {
  if (status < 200 || status === 206 || status === 304) return NOT_STORED(`status ${status}`);
  const seen = gather(headers);
  const ignore = policy.ignore;
  if (seen.setCookie && !ignore.has('set-cookie')) return NOT_STORED('Set-Cookie');
  let vary: string[] | null = null;
  if (seen.vary.length > 0 && !ignore.has('vary')) {
    vary = varyNames(seen.vary);
    if (vary.includes('*')) return NOT_STORED('Vary: *');
    if (vary.length === 0) vary = null;
  }
  const real = parseCacheControl(seen.cacheControl);
  const cc: Directives = ignore.has('cache-control') ? parseCacheControl([]) : real;
  const authOk = real.map.has('public') || real.map.has('s-maxage') || real.map.has('must-revalidate');
  const mustRevalidate = real.map.has('must-revalidate') || real.map.has('proxy-revalidate');
  const swr = deltaSeconds(cc, 'stale-while-revalidate') ?? 0;
  // nginx (ngx_http_upstream_process_cache_control): stale-while-revalidate sets the error
  // window too, and an explicit stale-if-error replaces it.
  const sie = deltaSeconds(cc, 'stale-if-error') ?? swr;
  const result = (expires: number): Freshness => ({ refuse: '', expires, swr, sie, mustRevalidate, authOk, vary, age: seen.age });

  if (seen.accelExpires !== undefined && !ignore.has('x-accel-expires')) {
    const v = seen.accelExpires.trim();
    if (v === '0') return NOT_STORED('X-Accel-Expires: 0');
    const m = /^(@?)(\d{1,15})$/.exec(v);
    if (m) return result(m[1] === '@' ? Number(m[2]) * 1000 : now + Number(m[2]) * 1000);
    // nginx ignores a value it cannot read
  }
  if (cc.map.has('no-store') || cc.map.has('no-cache') || cc.map.has('private')) return NOT_STORED('Cache-Control: no-store, no-cache or private');
  const lifetime = deltaSeconds(cc, 's-maxage') ?? deltaSeconds(cc, 'max-age');
  if (lifetime !== undefined) {
    if (lifetime - seen.age <= 0) return NOT_STORED(lifetime === 0 ? 'max-age=0' : 'older than its max-age');
    return result(now + (lifetime - seen.age) * 1000);
  }
  if (seen.expires !== undefined && !ignore.has('expires')) {
    const at = Date.parse(seen.expires);
    if (Number.isNaN(at) || at <= now) return NOT_STORED('Expires in the past');
    return result(at);
  }
  const ms = policy.valid?.byStatus.get(status) ?? policy.valid?.any;
  if (ms === undefined || ms <= 0) return NOT_STORED('no lifetime');
  return result(now + ms);
}

/** The lower-case field names of Vary values, in order, without repeats. */
export function varyNames(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values)
    for (const part of v.split(',')) {
      const name = part.trim().toLowerCase();
      if (name !== '' && !out.includes(name)) out.push(name);
    }
  return out;
}
