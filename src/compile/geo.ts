/**
 * A map whose keys are addresses (nginx's geo, https://nginx.org/en/docs/http/ngx_http_geo_module.html):
 * CIDRs ("10.0.0.0/8", "2001:db8::/32", a bare address) or, with `ranges`, "first-last" ranges
 * of IPv4 addresses. The most specific key holding the address wins (the longest prefix; for
 * ranges, the narrowest); the default otherwise. A source that is not an address is looked up
 * as 255.255.255.255, as nginx does (INADDR_NONE). Built once: CIDRs in a table per prefix
 * length (a lookup masks the address once per length in use), ranges in a list.
 */
import type { Template } from '../http/template.js';
import { addressNumber, parseCidr, parseRange } from '../config/geo-key.js';

interface Range {
  family: 4 | 6;
  first: bigint;
  last: bigint;
  value: Template;
}

export interface GeoTable {
  lookup(address: string): Template | undefined;
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
