/**
 * A map whose keys are addresses (nginx's geo, https://nginx.org/en/docs/http/ngx_http_geo_module.html):
 * CIDRs ("10.0.0.0/8", "2001:db8::/32", a bare address) or, with `ranges`, "first-last" ranges
 * of IPv4 addresses. The most specific key holding the address wins (the longest prefix; for
 * ranges, the narrowest); the default otherwise. A source that is not an address is looked up
 * as 255.255.255.255, as nginx does (INADDR_NONE). Built once: CIDRs in a table per prefix
 * length (a lookup masks the address once per length in use), ranges in a list.
 */
import { isIP } from 'node:net';
import type { Template } from '../http/template.js';
import { normalizeIp } from '../http/cidr.js';

interface Range {
  family: 4 | 6;
  first: bigint;
  last: bigint;
  value: Template;
}

export interface GeoTable {
  lookup(address: string): Template | undefined;
}

/** An address as a number of its family; undefined when it is not one. */
export function addressNumber(text: string): { family: 4 | 6; n: bigint } | undefined {
  const ip = normalizeIp(text);
  const v = isIP(ip);
  if (v === 4) return { family: 4, n: ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (v !== 6) return undefined;
  // Expand "::", and an IPv4 tail ("::ffff:1.2.3.4").
  let s = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = addressNumber(v4[1]!)!.n;
    s = s.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return { family: 6, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
}

/** "10.0.0.0/8", "1.2.3.4" or "2001:db8::/32" as a range; undefined when malformed. */
export function parseCidr(text: string): { family: 4 | 6; first: bigint; last: bigint } | undefined {
  const slash = text.indexOf('/');
  const a = addressNumber(slash < 0 ? text : text.slice(0, slash));
  if (!a) return undefined;
  const bits = a.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  const host = BigInt(bits - Number(prefixText));
  const first = (a.n >> host) << host;
  return { family: a.family, first, last: first + (1n << host) - 1n };
}

/** "1.2.3.0-1.2.3.255" (IPv4, first <= last); undefined when malformed. */
export function parseRange(text: string): { family: 4; first: bigint; last: bigint } | undefined {
  const dash = text.indexOf('-');
  if (dash < 0) return undefined;
  const a = addressNumber(text.slice(0, dash));
  const b = addressNumber(text.slice(dash + 1));
  if (a?.family !== 4 || b?.family !== 4 || a.n > b.n) return undefined;
  return { family: 4, first: a.n, last: b.n };
}

const NONE = addressNumber('255.255.255.255')!;

export function compileGeo(entries: readonly [key: string, value: Template][], ranges: boolean): GeoTable {
  const list: Range[] = [];
  for (const [key, value] of entries) {
    const r = ranges ? parseRange(key) : parseCidr(key);
    if (r) list.push({ ...r, value });
  }
  if (ranges) {
    // The narrowest range first; among equal ones the last written (it replaced the earlier).
    const sorted = list.map((r, i) => ({ r, i })).sort((x, y) => (x.r.last - x.r.first === y.r.last - y.r.first ? y.i - x.i : x.r.last - x.r.first < y.r.last - y.r.first ? -1 : 1));
    const order = sorted.map((x) => x.r);
    return {
      lookup(address) {
        const a = addressNumber(address) ?? NONE;
        for (const r of order) if (r.family === a.family && a.n >= r.first && a.n <= r.last) return r.value;
        return undefined;
      },
    };
  }
  // CIDRs: one exact table per family and prefix length, longest first.
  const tables = new Map<string, Map<bigint, Template>>();
  for (const r of list) {
    const bits = r.family === 4 ? 32 : 128;
    const size = r.last - r.first + 1n;
    const prefix = bits - (size.toString(2).length - 1);
    const k = `${r.family}/${prefix}`;
    let t = tables.get(k);
    if (!t) tables.set(k, (t = new Map()));
    t.set(r.first, r.value);
  }
  const lengths = [...tables.keys()]
    .map((k) => ({ family: Number(k.split('/')[0]) as 4 | 6, prefix: Number(k.split('/')[1]), table: tables.get(k)! }))
    .sort((a, b) => b.prefix - a.prefix);
  return {
    lookup(address) {
      const a = addressNumber(address) ?? NONE;
      const bits = a.family === 4 ? 32 : 128;
      for (const l of lengths) {
        if (l.family !== a.family) continue;
        const host = BigInt(bits - l.prefix);
        const hit = l.table.get((a.n >> host) << host);
        if (hit) return hit;
      }
      return undefined;
    },
  };
}
