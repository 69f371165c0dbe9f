/**
 * nginx's `expires` (https://nginx.org/en/docs/http/ngx_http_headers_module.html#expires) on any
 * response: Expires and Cache-Control replace those the response has (ngx_http_set_expires), on
 * the statuses add_header applies to. The value is parsed as ngx_http_parse_expires does:
 *   epoch            Expires: Thu, 01 Jan 1970 00:00:01 GMT, Cache-Control: no-cache
 *   max              Expires: Thu, 31 Dec 2037 23:55:55 GMT, Cache-Control: max-age=315360000
 *   off              nothing
 *   [+|-]TIME        now + TIME (max-age=TIME, or no-cache when negative); 0: now, max-age=0
 *   modified TIME    the response's Last-Modified + TIME (now + TIME without one)
 *   @TIME            the next time of day TIME (less than 24h), local time
 * A value with placeholders is parsed per request; one that does not parse sends nothing (nginx
 * logs it and goes on).
 */
import { compileTemplate } from './template.js';
import type { Exchange } from './exchange.js';

type Expires =
  | { kind: 'off' | 'epoch' | 'max' }
  | { kind: 'access' | 'modified' | 'daily'; seconds: number };

/** Adds Expires and Cache-Control to `out` (a flat header list), replacing theirs. */
export type ExpiresOp = (ex: Exchange, out: string[]) => void;

const EPOCH = 'Thu, 01 Jan 1970 00:00:01 GMT';
const MAX = 'Thu, 31 Dec 2037 23:55:55 GMT';
const TIME_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, M: 2_592_000, y: 31_536_000 };

/** "modified 1h", "@15h30m", "-1d", "max"... or undefined when nginx would refuse it. */
export function parseExpires(text: string): Expires | undefined {
  let value = text;
  let modified = false;
  if (value.startsWith('modified ')) {
    modified = true;
    value = value.slice(9).trim();
  } else {
    if (value === 'epoch' || value === 'max' || value === 'off') return { kind: value };
  }
  let kind: 'access' | 'modified' | 'daily' = modified ? 'modified' : 'access';
  let minus = false;
  if (value.startsWith('@')) {
    if (modified) return undefined; // "daily time cannot be used with modified"
    kind = 'daily';
    value = value.slice(1);
  } else if (value.startsWith('+')) value = value.slice(1);
  else if (value.startsWith('-')) {
    minus = true;
    value = value.slice(1);
  }
  const seconds = parseSeconds(value);
  if (seconds === undefined) return undefined;
  if (kind === 'daily' && seconds > 86_400) return undefined;
  return { kind, seconds: minus ? -seconds : seconds };
}

/** ngx_parse_time(value, 1): "30", "1h30m", "2d" in seconds. */
function parseSeconds(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+)\s*([smhdwMy])\s*/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * TIME_UNITS[p[2]!]!, 0);
}

/** `expires` as written (a template when it has placeholders); undefined when it never adds anything. */
export function compileExpires(text: string): ExpiresOp | undefined {
  if (!/\{[a-z_]/.test(text)) {
    const fixed = parseExpires(text);
    if (fixed === undefined || fixed.kind === 'off') return undefined;
    return (_ex, out) => apply(fixed, out);
  }
  const value = compileTemplate(text);
  return (ex, out) => {
    const parsed = parseExpires(value(ex));
    if (parsed !== undefined && parsed.kind !== 'off') apply(parsed, out);
  };
}

function apply(e: Expires, out: string[]): void {
  const lastModified = header(out, 'last-modified');
  drop(out, 'expires');
  drop(out, 'cache-control');
  if (e.kind === 'epoch') return void out.push('Expires', EPOCH, 'Cache-Control', 'no-cache');
  if (e.kind === 'max') return void out.push('Expires', MAX, 'Cache-Control', 'max-age=315360000');
  if (!('seconds' in e)) return; // off
  const seconds = e.seconds;
  const now = Math.floor(Date.now() / 1000);
  if (seconds === 0 && e.kind !== 'daily') return void out.push('Expires', httpDate(now), 'Cache-Control', 'max-age=0');
  let expires: number;
  let maxAge: number;
  const modified = lastModified === undefined ? NaN : Math.floor(Date.parse(lastModified) / 1000);
  if (e.kind === 'daily') {
    expires = nextTime(now, seconds);
    maxAge = expires - now;
  } else if (e.kind === 'access' || Number.isNaN(modified)) {
    maxAge = seconds;
    expires = now + seconds;
  } else {
    expires = modified + seconds;
    maxAge = expires - now;
  }
  out.push('Expires', httpDate(expires), 'Cache-Control', seconds < 0 || maxAge < 0 ? 'no-cache' : `max-age=${maxAge}`);
}

/** ngx_next_time: today's (local) time of day `seconds`, or tomorrow's when it has passed. */
function nextTime(now: number, seconds: number): number {
  const d = new Date(now * 1000);
  d.setHours(0, 0, 0, 0);
  let t = Math.floor(d.getTime() / 1000) + seconds;
  if (t <= now) {
    d.setDate(d.getDate() + 1);
    t = Math.floor(d.getTime() / 1000) + seconds;
  }
  return t;
}

function httpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}

function header(out: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < out.length; i += 2) if (out[i]!.toLowerCase() === lower) return out[i + 1];
  return undefined;
}

function drop(out: string[], lower: string): void {
  for (let i = out.length - 2; i >= 0; i -= 2) if (out[i]!.toLowerCase() === lower) out.splice(i, 2);
}
